"""``agentscaler graph``: the tool-graph stage as a command."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from agentscaler.graph.build import GraphConfig, build_graph
from agentscaler.options import config_command


@config_command(GraphConfig)
def graph_command(
    config: GraphConfig,
    run: Path = typer.Option(..., "--run", help="Run directory holding tools.parquet (from `agentscaler ingest`)."),
) -> None:
    """Embed tools and their parameters, link similar tools (writes graph.parquet)."""
    typer.echo(json.dumps(build_graph(run, config), indent=2))
