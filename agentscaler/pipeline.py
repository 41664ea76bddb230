"""Every stage, in order, over one run directory: ``agentscaler run`` and ``agentscaler build-domains``.

Each stage is a record: its settings (a section of ``PipelineConfig``), the artifact it writes, how to
tell that artifact was made with the settings asked for now, and its build function. A stage is
skipped when its artifact exists (artifacts are written atomically, so an existing one is whole) and
its summary records those settings: a killed run resumes where it stopped, and a rerun with another
tau redoes the graph and everything after it. ``force`` redoes everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Optional

import typer
from pydantic import BaseModel, Field

from agentscaler.artifacts import RunDir
from agentscaler.configs import StrictConfig, load_config
from agentscaler.domains import DomainConfig, build_domains
from agentscaler.envs import EnvConfig, build_envs
from agentscaler.filters import ExportConfig, FilterConfig, export_training_set, run_filters
from agentscaler.graph import GraphConfig, build_graph
from agentscaler.ingest import IngestConfig, ingest
from agentscaler.rollouts import RolloutConfig, run_rollouts
from agentscaler.tasks import TaskConfig, build_tasks

StageName = Literal["ingest", "graph", "domains", "envs", "tasks", "rollouts", "filter", "export"]


class PipelineConfig(StrictConfig):
    """Every stage's settings, one section a stage; the defaults are the embedded-defaults run of the README."""

    ingest: IngestConfig = Field(default_factory=IngestConfig)
    graph: GraphConfig = Field(default_factory=GraphConfig)
    domains: DomainConfig = Field(default_factory=DomainConfig)
    envs: EnvConfig = Field(default_factory=EnvConfig)
    tasks: TaskConfig = Field(default_factory=TaskConfig)
    rollouts: RolloutConfig = Field(default_factory=RolloutConfig)
    filters: FilterConfig = Field(default_factory=FilterConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)


@dataclass(frozen=True)
class Stage:
    name: StageName
    section: str  # its settings: PipelineConfig.<section>
    artifact: Callable[[RunDir], Path]  # what it writes last: it exists only once the stage finished
    summary: Callable[[RunDir], Path]  # where it records the settings it ran with (under "config")
    build: Callable[[RunDir, list[Path], BaseModel], object]


STAGES: tuple[Stage, ...] = (
    Stage("ingest", "ingest", lambda r: r.tools, lambda r: r.ingest_summary,
          lambda run, sources, config: ingest(sources, run.path, config)),
    Stage("graph", "graph", lambda r: r.graph, lambda r: r.graph_summary,
          lambda run, _, config: build_graph(run, config)),
    Stage("domains", "domains", lambda r: r.domains, lambda r: r.domains_summary,
          lambda run, _, config: build_domains(run, config)),
    Stage("envs", "envs", lambda r: r.envs_summary, lambda r: r.envs_summary,
          lambda run, _, config: build_envs(run, config)),
    Stage("tasks", "tasks", lambda r: r.tasks_summary, lambda r: r.tasks_summary,
          lambda run, _, config: build_tasks(run, config)),
    Stage("rollouts", "rollouts", lambda r: r.rollouts_summary, lambda r: r.rollouts_summary,
          lambda run, _, config: run_rollouts(run, config)),
    Stage("filter", "filters", lambda r: r.filter_report, lambda r: r.filter_report,
          lambda run, _, config: run_filters(run, None, config)),
    Stage("export", "export", lambda r: r.export, lambda r: r.export_summary,
          lambda run, _, config: export_training_set(run, run.export, config)),
)
STAGE_NAMES: tuple[StageName, ...] = tuple(stage.name for stage in STAGES)


def run_pipeline(out: str | Path, sources: list[Path] | None = None, config: PipelineConfig | None = None,
                 until: StageName = "export", force: bool = False,
                 on_stage: Callable[[StageName, object], None] | None = None) -> dict[StageName, object]:
    """Run ingest -> ... -> export (up to ``until``); returns what each stage that ran reported."""
    config = config or PipelineConfig()
    run = RunDir(out)
    reports: dict[StageName, object] = {}
    for stage in STAGES[: STAGE_NAMES.index(until) + 1]:
        settings = getattr(config, stage.section)
        # once a stage reruns, every later one must too
        if force or reports or not stage.artifact(run).exists() or not _done(run, stage, settings):
            reports[stage.name] = stage.build(run, list(sources or []), settings)
            if on_stage:
                on_stage(stage.name, reports[stage.name])
    return reports


def _done(run: RunDir, stage: Stage, settings: BaseModel) -> bool:
    """Whether the stage's summary records the settings asked for now (ingest: its artifact is enough,
    the sources are not recorded; rollouts: also every episode of every training task is written, since a
    rerun plays only the missing ones)."""
    if stage.name == "ingest":
        return True
    if run.read_summary(stage.summary(run)).get("config") != settings.model_dump():
        return False
    if stage.name == "rollouts":
        return len(run.read_rollouts(["rollout_id"])) == len(run.read_tasks("train")) * settings.samples
    return True


# The figures of each stage's report that its progress line shows.
HEADLINES: dict[StageName, tuple[str, ...]] = {
    "ingest": ("specs", "records", "duplicates", "quarantined", "seconds"),
    "graph": ("tools", "edges", "tool_edges", "parameter_edges", "seconds_embedding", "seconds_linking"),
    "domains": ("domains", "tools", "domains_with_at_least_3_tools", "median_domain_size", "largest_domain",
                "modularity"),
    "envs": ("domains", "tools", "executable", "executable_rate", "seconds"),
    "tasks": ("tasks", "write_tasks", "read_only_tasks", "domains_with_tasks", "seconds"),
    "rollouts": ("episodes", "reached_gold_hash_rate", "failed_episodes", "tool_calls", "tokens", "seconds"),
    "filter": ("input", "kept", "rejected"),
    "export": ("rows", "general", "vertical", "out"),
}


def print_stage(stage: StageName, report: object) -> None:
    """Progress for the CLI: one line of what each stage produced (a stage's own verb prints its tables)."""
    if stage == "ingest":
        report = {**report.totals.model_dump(), "seconds": round(report.wall_s, 1)}
    elif stage == "envs":
        report = report["totals"]
    typer.echo(f"{stage}: " + ", ".join(f"{k}={report[k]}" for k in HEADLINES[stage] if k in report))


SOURCES = typer.Argument(None, exists=True, help="API corpora (files or directories). None: the embedded sample "
                                                 "corpus.")
FORCE = typer.Option(False, help="Redo every stage even where its artifact exists.")
CONFIG = typer.Option(None, "--config", exists=True, dir_okay=False,
                      help="YAML file of PipelineConfig sections (graph: {tau: 0.8}, rollouts: {agent: URL}, ...); "
                           "unknown keys are an error.")
SET = typer.Option(None, "--set", help="One setting, SECTION.KEY=VALUE (graph.tau=0.8); repeat for more; "
                                       "overrides --config.")


def run_command(
    sources: Optional[list[Path]] = SOURCES,
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Run directory."),
    config: Optional[Path] = CONFIG,
    set_: Optional[list[str]] = SET,
    until: str = typer.Option("export", help=f"Last stage to run: one of {', '.join(STAGE_NAMES)}."),
    force: bool = FORCE,
) -> None:
    """Every stage, ingest to export, on the embedded sample or given corpora; resumes a killed run."""
    if until not in STAGE_NAMES:
        raise typer.BadParameter(f"--until is one of {', '.join(STAGE_NAMES)}, not {until!r}")
    run_pipeline(out, sources, _pipeline_config(config, set_), until=until, force=force, on_stage=print_stage)
    typer.echo(f"done: artifacts in {out}")


def build_domains_command(
    sources: Optional[list[Path]] = SOURCES,
    out: Path = typer.Option(..., "--out", "-o", help="Run directory."),
    config: Optional[Path] = CONFIG,
    set_: Optional[list[str]] = SET,
    force: bool = FORCE,
) -> None:
    """Ingest, graph and domains in one go; a rerun resumes from the artifacts already written."""
    run_pipeline(out, sources, _pipeline_config(config, set_), until="domains", force=force, on_stage=print_stage)


def _pipeline_config(path: Path | None, assignments: list[str] | None) -> PipelineConfig:
    from pydantic import ValidationError

    try:
        return load_config(PipelineConfig, path, assignments=assignments)
    except (ValidationError, ValueError) as e:
        raise typer.BadParameter(str(e)) from None
