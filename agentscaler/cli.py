"""The ``agentscaler`` command: one verb per pipeline stage, each defined beside its stage."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agentscaler.domains.cli import build_domains_command, domains_command
from agentscaler.envs.build import build_envs_command
from agentscaler.evaluate.run import eval_command
from agentscaler.filters.cli import export_command, filter_command
from agentscaler.graph.cli import graph_command
from agentscaler.ingest.cli import ingest_command
from agentscaler.llm.cli import serve_command, tiny_model_command
from agentscaler.rollouts.run import rollout_command
from agentscaler.sim.play import play_command
from agentscaler.tasks.build import tasks_command
from agentscaler.train.cli import train_command

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

# In pipeline order; each verb's code lives in its stage's package.
app.command("ingest")(ingest_command)
app.command("graph")(graph_command)
app.command("domains")(domains_command)
app.command("build-domains")(build_domains_command)
app.command("build-envs")(build_envs_command)
app.command("play")(play_command)
app.command("tasks")(tasks_command)
app.command("rollout")(rollout_command)
app.command("tiny-model")(tiny_model_command)
app.command("serve")(serve_command)
app.command("filter")(filter_command)
app.command("export")(export_command)
app.command("train")(train_command)
app.command("eval")(eval_command)


@app.command("run")
def run_command(
    sources: Optional[list[Path]] = typer.Argument(
        None, exists=True, help="API corpora (files or directories). None: the embedded sample corpus."),
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Run directory."),
    force: bool = typer.Option(False, help="Redo every stage even where its artifact exists."),
) -> None:
    """Every stage built so far (ingest ... rollouts) with default settings; resumes a killed run."""
    from agentscaler.pipeline import print_stage, run_pipeline

    run_pipeline(out, sources, force=force, on_stage=print_stage)
    typer.echo(f"done: artifacts in {out}")


if __name__ == "__main__":
    app()
