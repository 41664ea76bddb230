"""All stages built so far, in order, over one run directory.

A stage is skipped when its artifact exists (artifacts are written atomically, so an existing one
is whole) and its summary records the settings asked for now: a killed run resumes where it
stopped, and a rerun with another tau redoes the graph and everything after it. ``force`` redoes
everything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, Field

from agentscaler.artifacts import RunDir
from agentscaler.domains import DomainConfig, build_domains
from agentscaler.filters import ExportConfig, FilterConfig
from agentscaler.graph import GraphConfig, build_graph
from agentscaler.rollouts import RolloutConfig
from agentscaler.tasks import TaskConfig

Stage = Literal["ingest", "graph", "domains", "envs", "tasks", "rollouts", "filter", "export"]
STAGES: tuple[Stage, ...] = ("ingest", "graph", "domains", "envs", "tasks", "rollouts", "filter", "export")


class PipelineConfig(BaseModel):
    """Every stage's settings; the defaults are the embedded-defaults run of the README."""

    graph: GraphConfig = Field(default_factory=GraphConfig)
    domains: DomainConfig = Field(default_factory=DomainConfig)
    env_states: int = Field(3, description="Synthesized initial states per domain.")
    env_rows: int = Field(10, description="Rows per table in each synthesized state.")
    env_seed: int = Field(0, description="Seed of the state synthesis: the same seed, the same states.")
    tasks: TaskConfig = Field(default_factory=TaskConfig)
    rollouts: RolloutConfig = Field(default_factory=RolloutConfig)
    agent: str = Field("teacher", description="Rollout agent: teacher, a model path or an OpenAI-compatible URL.")
    user: str = Field("template", description="Simulated user: template, a model path or a URL.")
    filters: FilterConfig = Field(default_factory=FilterConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)


def run_pipeline(out: str | Path, sources: list[Path] | None = None, config: PipelineConfig | None = None,
                 until: Stage = "export", force: bool = False,
                 on_stage: Callable[[Stage, object], None] | None = None) -> dict[Stage, object]:
    """Run ingest -> ... -> export (up to ``until``); returns what each stage that ran reported."""
    from agentscaler.envs import build_envs
    from agentscaler.filters import export_training_set, run_filters
    from agentscaler.ingest import ingest
    from agentscaler.rollouts import run_rollouts
    from agentscaler.tasks import build_tasks

    config = config or PipelineConfig()
    run = RunDir(out)
    envs = {"states": config.env_states, "rows": config.env_rows, "seed": config.env_seed}
    export = run.path / "export" / "train.parquet"
    # stage -> (artifact, what its summary must record to count as done, how to run it)
    steps: dict[Stage, tuple[Path, Callable[[], bool], Callable[[], object]]] = {
        "ingest": (run.tools, lambda: True, lambda: ingest(sources or [], out)),
        "graph": (run.graph, lambda: _same_config(run.graph_summary, config.graph),
                  lambda: build_graph(out, config.graph)),
        "domains": (run.domains, lambda: _same_config(run.domains_summary, config.domains),
                    lambda: build_domains(out, config.domains)),
        "envs": (run.envs / "summary.json",
                 lambda: envs.items() <= _summary(run.envs / "summary.json").get("totals", {}).items(),
                 lambda: build_envs(out, **envs)),
        "tasks": (run.path / "tasks_summary.json", lambda: _same_config(run.path / "tasks_summary.json", config.tasks),
                  lambda: build_tasks(out, config.tasks)),
        # a rerun plays only the episodes missing (finished ones are skipped): done when none is missing
        "rollouts": (run.path / "rollouts_summary.json", lambda: _rollouts_done(run, config),
                     lambda: run_rollouts(out, config.agent, config.user, config.rollouts)),
        "filter": (run.path / "filters" / "report.json",
                   lambda: _same_config(run.path / "filters" / "report.json", config.filters),
                   lambda: run_filters(out, None, config.filters)),
        "export": (export, lambda: _same_config(run.path / "filters" / "export.json", config.export),
                   lambda: export_training_set(out, export, config.export)),
    }
    reports: dict[Stage, object] = {}
    for stage in STAGES[: STAGES.index(until) + 1]:
        artifact, same_settings, step = steps[stage]
        if force or reports or not artifact.exists() or not same_settings():
            reports[stage] = step()  # once a stage reruns, every later one must too
            if on_stage:
                on_stage(stage, reports[stage])
    return reports


def _rollouts_done(run: RunDir, config: PipelineConfig) -> bool:
    from agentscaler.rollouts import read_rollouts
    from agentscaler.tasks import read_tasks

    summary = _summary(run.path / "rollouts_summary.json")
    if (summary.get("agent"), summary.get("user"), summary.get("config")) != (
            config.agent, config.user, config.rollouts.model_dump()):
        return False
    return len(read_rollouts(run, ["rollout_id"])) == len(read_tasks(run, "train")) * config.rollouts.samples


def _summary(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _same_config(summary: Path, config: BaseModel) -> bool:
    """Whether the stage's summary records the settings asked for now."""
    return _summary(summary).get("config") == config.model_dump()

def print_stage(stage: Stage, report: object) -> None:
    """Progress for the CLI: one line of what each stage produced."""
    from rich.console import Console

    console = Console()
    if stage == "ingest":
        from agentscaler.ingest.cli import summary_table

        console.print(summary_table(report))
    elif stage == "envs":
        console.print(f"[bold]envs[/]: {report['totals']}")
    elif stage == "filter":
        from agentscaler.filters.report import funnel_table

        for table in funnel_table(report):
            console.print(table)
    elif stage in ("tasks", "rollouts", "export"):
        console.print(f"[bold]{stage}[/]: " + ", ".join(f"{k}={v}" for k, v in report.items()
                                                       if k != "config" and not isinstance(v, (dict, list))))
    else:
        console.print(f"[bold]{stage}[/]: " + ", ".join(f"{k}={v}" for k, v in report.items()
                                                       if not isinstance(v, dict)))
