"""``agentscaler ingest``: the ingest stage as a command, with counts per source printed as a table."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from agentscaler.ingest.driver import IngestConfig, IngestReport, ingest
from agentscaler.options import config_command

MAX_ROWS = 40
"""Beyond this many input files only the total is printed (ingest_summary.json has every file)."""


@config_command(IngestConfig)
def ingest_command(
    config: IngestConfig,
    sources: Optional[list[Path]] = typer.Argument(
        None, exists=True, help="Files or directories (read recursively). None: the embedded sample corpus."
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Run directory for tools.parquet, quarantine.jsonl, ingest_summary.json."
    ),
) -> None:
    """Parse API corpora (ToolBench, BFCL, OpenAI tools, xLAM, MCP, OpenAPI 3, Swagger 2.0) into one ToolSpec table."""
    report = ingest(sources or [], out, config)
    Console().print(summary_table(report))


def summary_table(report: IngestReport) -> Table:
    table = Table(title=f"ingest -> {report.out_dir} ({report.wall_s:.1f}s)")
    for column in ("source", "formats", "records", "specs", "duplicates", "quarantined"):
        table.add_column(column, justify="left" if column in ("source", "formats") else "right", overflow="fold")
    rows = list(report.sources.items()) if len(report.sources) <= MAX_ROWS else []
    for name, counts in [*rows, ("total", report.totals)]:
        formats = ", ".join(f"{k}: {v}" for k, v in counts.formats.items())
        numbers = (counts.records, counts.specs, counts.duplicates, counts.quarantined)
        table.add_row(name, formats, *map(str, numbers))
    if report.reasons:
        table.caption = "quarantined: " + ", ".join(f"{k} ({v})" for k, v in report.reasons.items())
    return table
