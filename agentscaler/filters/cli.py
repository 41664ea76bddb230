"""``agentscaler filter`` and ``agentscaler export`` (stage 8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from agentscaler.filters.config import FilterConfig
from agentscaler.filters.export import ExportConfig
from agentscaler.options import config_option


def filter_command(
    run: Path = typer.Option(..., "--run", help="Run directory with tasks.parquet, envs/ and rollouts/."),
    input: Optional[Path] = typer.Option(
        None, "--input", exists=True, help="Trajectories as JSON lines in the rollouts' row format, "
                                           "instead of DIR/rollouts/ (matched to the run's tasks by task_id)."),
    near_duplicate_threshold: float = config_option(FilterConfig, "near_duplicate_threshold"),
    max_messages: int = config_option(FilterConfig, "max_messages"),
    max_tool_calls: int = config_option(FilterConfig, "max_tool_calls"),
) -> None:
    """Keep the trajectories that are valid, reach the gold state and (read-only tasks) match gold; dedup them."""
    from rich.console import Console

    from agentscaler.filters.pipeline import filters_dir, run_filters
    from agentscaler.filters.report import funnel_table

    config = FilterConfig(near_duplicate_threshold=near_duplicate_threshold, max_messages=max_messages,
                          max_tool_calls=max_tool_calls)
    report = run_filters(run, input, config)
    console = Console()
    for table in funnel_table(report):
        console.print(table)
    console.print(f"kept and rejected trajectories, report.json in {filters_dir(run)}")


def export_command(
    run: Path = typer.Option(..., "--run", help="Run directory filtered by `agentscaler filter`."),
    out: Path = typer.Option(..., "--out", help="Output file (.parquet or .jsonl)."),
    format: str = config_option(ExportConfig, "format"),
    split: Optional[str] = config_option(ExportConfig, "split"),
    vertical_domains: Optional[list[int]] = typer.Option(
        None, "--vertical-domain", help="A vertical (stage-2) domain id; repeat for several. "
                                        "Default: the --vertical-count domains with the most kept writes."),
    vertical_count: int = config_option(ExportConfig, "vertical_count"),
    strict: bool = config_option(ExportConfig, "strict"),
) -> None:
    """Export the kept trajectories as a chat-format training set, tagged general / vertical."""
    from agentscaler.filters.export import export_training_set

    config = ExportConfig(format=format, split=split, vertical_domains=vertical_domains or None,
                          vertical_count=vertical_count, strict=strict)
    typer.echo(json.dumps(export_training_set(run, out, config), indent=2))
