"""``agentscaler graph``: the tool-graph stage as a command."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from agentscaler.graph.build import GraphConfig, build_graph
from agentscaler.options import config_option

EMBEDDER, TAU, CONTEXT_WEIGHT, TOP_K, NEIGHBOURS, LEXICAL_WEIGHT, EMBED_ACTORS = (
    config_option(GraphConfig, f)
    for f in ("embedder", "tau", "context_weight", "top_k", "neighbours", "lexical_weight", "embed_actors"))


def graph_command(
    run: Path = typer.Option(..., "--run", help="Run directory holding tools.parquet (from `agentscaler ingest`)."),
    embedder: str = EMBEDDER,
    tau: float = TAU,
    context_weight: float = CONTEXT_WEIGHT,
    top_k: int = TOP_K,
    neighbours: int = NEIGHBOURS,
    lexical_weight: float = LEXICAL_WEIGHT,
    embed_actors: int = EMBED_ACTORS,
) -> None:
    """Embed tools and their parameters, link similar tools (writes graph.parquet)."""
    config = GraphConfig(embedder=embedder, tau=tau, context_weight=context_weight, top_k=top_k,
                         neighbours=neighbours, lexical_weight=lexical_weight, embed_actors=embed_actors)
    typer.echo(json.dumps(build_graph(run, config), indent=2))
