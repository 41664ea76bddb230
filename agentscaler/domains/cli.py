"""``agentscaler domains``: partition the tool graph, or show one domain's tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from agentscaler.domains.build import build_domains, domain_tools
from agentscaler.domains.partition import DomainConfig
from agentscaler.options import config_command


def show_domain(run: Path, domain: int) -> None:
    from rich.console import Console
    from rich.table import Table

    tools = domain_tools(run, domain)
    if not tools:
        raise typer.BadParameter(f"no domain {domain} in {run}")
    table = Table(title=f"domain {domain}: {len(tools)} tools")
    for column in ("name", "category", "attached", "description"):
        table.add_column(column, overflow="fold")
    for tool in tools:
        table.add_row(tool["name"], tool["category"] or "", "yes" if tool["attached"] else "",
                      tool["description"][:120])
    Console().print(table)


@config_command(DomainConfig)
def domains_command(
    config: DomainConfig,
    run: Path = typer.Option(..., "--run", help="Run directory holding graph.parquet (from `agentscaler graph`)."),
    show: Optional[int] = typer.Option(None, "--show", help="Print one domain's tools instead of partitioning."),
) -> None:
    """Partition the tool graph into domains (writes domains.parquet and domains_summary.json)."""
    if show is not None:
        return show_domain(run, show)
    typer.echo(json.dumps(build_domains(run, config), indent=2))
