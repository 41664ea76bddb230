"""``agentscaler graph``: the tool-graph stage as a command."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from agentscaler.graph.build import GraphConfig, build_graph
from agentscaler.options import config_option

EMBEDDER, TAU, CONTEXT_WEIGHT, TOP_K, EMBED_ACTORS = (
    config_option(GraphConfig, f) for f in ("embedder", "tau", "context_weight", "top_k", "embed_actors"))


def graph_command(
    run: Path = typer.Option(..., "--run", help="Run directory holding tools.parquet (from `agentscaler ingest`)."),
    embedder: str = EMBEDDER,
    tau: float = TAU,
    context_weight: float = CONTEXT_WEIGHT,
    top_k: int = TOP_K,
    embed_actors: int = EMBED_ACTORS,
) -> None:
    """Embed every parameter in its tool's context and link tools (writes graph.parquet)."""
    config = GraphConfig(embedder=embedder, tau=tau, context_weight=context_weight, top_k=top_k,
                         embed_actors=embed_actors)
    typer.echo(json.dumps(build_graph(run, config), indent=2))
