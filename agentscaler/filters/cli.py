"""``agentscaler filter`` (stage 8). ``agentscaler export`` composes this stage's export with the trainer's
tokenizer, so it lives in ``agentscaler.train.cli``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agentscaler.filters.config import FilterConfig
from agentscaler.options import config_command


@config_command(FilterConfig)
def filter_command(
    config: FilterConfig,
    run: Path = typer.Option(..., "--run", help="Run directory with tasks.parquet, envs/ and rollouts/."),
    input: Optional[Path] = typer.Option(
        None, "--input", exists=True, help="Trajectories as JSON lines in the rollouts' row format, "
                                           "instead of DIR/rollouts/ (matched to the run's tasks by task_id)."),
) -> None:
    """Keep the trajectories that are valid, do what their task's outcome asks within the domain's rules, reach
    the gold state and (read-only tasks) match gold; dedup them."""
    from rich.console import Console

    from agentscaler.artifacts import RunDir
    from agentscaler.filters.pipeline import run_filters
    from agentscaler.filters.report import funnel_table

    report = run_filters(run, input, config)
    console = Console()
    for table in funnel_table(report):
        console.print(table)
    console.print(f"kept and rejected trajectories, report.json in {RunDir(run).filters}")
