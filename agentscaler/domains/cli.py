"""``agentscaler domains`` and ``agentscaler build-domains`` (ingest + graph + domains in one go)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from agentscaler.domains.build import build_domains, domain_tools
from agentscaler.domains.partition import DomainConfig
from agentscaler.graph.build import GraphConfig
from agentscaler.graph.cli import EMBEDDER, TAU
from agentscaler.options import config_option

ALGORITHM, RESOLUTION, SEED, MIN_SIZE, MAX_SIZE = (
    config_option(DomainConfig, f) for f in ("algorithm", "resolution", "seed", "min_size", "max_size"))


def show_domain(run: Path, domain: int) -> None:
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


def domains_command(
    run: Path = typer.Option(..., "--run", help="Run directory holding graph.parquet (from `agentscaler graph`)."),
    show: Optional[int] = typer.Option(None, "--show", help="Print one domain's tools instead of partitioning."),
    algorithm: str = ALGORITHM,
    resolution: float = RESOLUTION,
    seed: int = SEED,
    min_size: int = MIN_SIZE,
    max_size: int = MAX_SIZE,
) -> None:
    """Partition the tool graph into domains (writes domains.parquet and domains_summary.json)."""
    if show is not None:
        return show_domain(run, show)
    config = DomainConfig(algorithm=algorithm, resolution=resolution, seed=seed, min_size=min_size,
                          max_size=max_size)
    typer.echo(json.dumps(build_domains(run, config), indent=2))


def build_domains_command(
    sources: Optional[list[Path]] = typer.Argument(
        None, exists=True, help="API corpora (files or directories). None: the embedded sample corpus."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory."),
    force: bool = typer.Option(False, help="Redo every stage even where its artifact exists."),
    embedder: str = EMBEDDER,
    tau: float = TAU,
    algorithm: str = ALGORITHM,
    resolution: float = RESOLUTION,
    seed: int = SEED,
) -> None:
    """Ingest, graph and domains in one go; a rerun resumes from the artifacts already written."""
    from agentscaler.pipeline import PipelineConfig, print_stage, run_pipeline

    config = PipelineConfig(graph=GraphConfig(embedder=embedder, tau=tau),
                            domains=DomainConfig(algorithm=algorithm, resolution=resolution, seed=seed))
    run_pipeline(out, sources, config, until="domains", force=force, on_stage=print_stage)
