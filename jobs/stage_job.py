"""What every Ray job entrypoint under ``jobs/`` shares: one ``agentscaler`` verb, run as a job's driver.

    ray job submit --working-dir . -- python jobs/graph.py --run /mnt/shared/runs/full --config graph.yaml

A job takes its verb's flags and ``--config FILE``: a YAML of the stage's ``StrictConfig``, where an
unknown key fails the job with a message naming it. Run directories belong on storage every node
sees (an absolute path); relative paths name files in the submitted working directory.

Before the verb runs, the driver makes its path arguments absolute and moves into its run directory.
Ray unpacks ``--working-dir`` under ``<temp>/session_*/runtime_resources/working_dir_files/``, and the
driver starts in that copy. Where nodes share a temp directory (several raylets on one machine), the
first task a second node runs makes that node's runtime-env agent delete the copy and unpack it again
at the same path. A driver still inside it has no current directory from then on, and oneMKL inside
libtorch_cpu cannot start without one: the next ``import torch`` prints ``Intel oneMKL FATAL ERROR:
Cannot load .../libtorch_cpu.so`` and the driver dies (exit 139).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable

import typer

from agentscaler.cli import verb_function

SUBMITTED = "RAY_JOB_CONFIG_JSON_ENV_VAR"  # set for a driver that `ray job submit` started


def run_verb(verb: str, argv: list[str] | None = None, renames: dict[str, str] | None = None) -> None:
    """Run ``agentscaler VERB`` with ``argv`` (default: this process's arguments) as a job's driver;
    ``renames`` maps a job's flag to the verb's (``--config`` to train's ``--preset``)."""
    args = [(renames or {}).get(arg, arg) for arg in (sys.argv[1:] if argv is None else argv)]
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(as_job(verb_function(verb)))
    app(args=args, prog_name=f"jobs/{Path(sys.argv[0]).name}")


def as_job(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` (a verb's function, same flags) run from its run directory. The stages start Ray when they
    need it (``init_ray``): under ``ray job submit`` that joins the job's cluster, alone it starts a local one;
    a bad ``--config`` fails before either."""

    @functools.wraps(command)
    def job(**kwargs: Any) -> Any:
        if SUBMITTED in os.environ and not run_dir(kwargs).is_absolute():
            raise typer.BadParameter(f"{run_dir(kwargs)} is relative, so inside this job's working-dir copy, which "
                                     "Ray deletes and unpacks again: give the run directory as an absolute path on "
                                     "storage every node sees")
        kwargs = {name: absolute(value) for name, value in kwargs.items()}
        leave_working_dir(run_dir(kwargs))
        return command(**kwargs)

    return job


def run_dir(kwargs: dict[str, Any]) -> Path:
    """A verb's run directory: ``--run``, or ``--out`` for the verbs that create one (ingest, run)."""
    return kwargs.get("run") or kwargs["out"]


def absolute(value: Any) -> Any:
    """A path argument made absolute against the current directory; a string that names a file here is
    one too (train's ``--preset FILE``); anything else as it is."""
    if isinstance(value, Path):
        return Path.cwd() / value
    if isinstance(value, str) and value and Path(value).is_file():
        return str(Path.cwd() / value)
    if isinstance(value, (list, tuple)):
        return [absolute(item) for item in value]
    return value


def leave_working_dir(run_dir: Path) -> None:
    """Make ``run_dir`` (absolute) the current directory: see the module docstring for why the driver must
    not stay in the working-dir copy Ray started it in."""
    run_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(run_dir)
