"""What a run prints while its stages work: one line a stage, not Ray's logs.

Ray logs at INFO to the console: its start-up, and for every Ray Data execution a plan, a finish line
and, when stdout is not a terminal (a log file, a pipe, a job's log), a progress report every few
seconds. Those lines bury the stages' own. ``init_ray`` keeps them in Ray's session logs
(``/tmp/ray/session_*/logs``) instead; warnings and errors still reach the console.
"""

from __future__ import annotations

import logging
import sys


def on_terminal() -> bool:
    return sys.stdout.isatty()


def init_ray(**options) -> None:
    """Start Ray (or join the cluster that ``RAY_ADDRESS`` names) unless it is up, quietly.

    Off a terminal the driver's Ray logs only warnings and the workers' output stays in their log files;
    on a terminal Ray's start-up line (with the dashboard's address) and the workers' output still show.
    Ray Data logs only warnings to the console either way (its progress bars still draw on a terminal).
    """
    import ray

    if not ray.is_initialized():
        quiet = {} if on_terminal() else {"logging_level": logging.WARNING, "log_to_driver": False}
        ray.init(**quiet, **options)
    quiet_ray_data()


def quiet_ray_data() -> None:
    """Ray Data's console handler at WARNING: its INFO lines go to its log file only (``ray-data.log``). Off a
    terminal its progress is logged at INFO, so not shown: operator names need no shortening there either
    (shortening them prints a warning)."""
    from ray.data import DataContext  # importing ray.data sets up the "ray.data" logger and its handlers

    for handler in logging.getLogger("ray.data").handlers:
        if handler.name == "console":
            handler.setLevel(logging.WARNING)
    if not on_terminal():
        DataContext.get_current().enable_progress_bar_name_truncation = False
