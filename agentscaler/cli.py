"""The ``agentscaler`` command: one verb per pipeline stage, each defined in its stage's package.

A verb's package is imported only when that verb runs: ``agentscaler --help`` lists the verbs from the
table below and imports none of them (several stages import Ray or torch, seconds of start-up).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

# verb -> (package exporting it, function, the first line of its docstring), in pipeline order
VERBS: dict[str, tuple[str, str, str]] = {
    "ingest": ("agentscaler.ingest", "ingest_command",
               "Parse API corpora (ToolBench, BFCL, OpenAI tools, xLAM, MCP, OpenAPI 3, Swagger 2.0) into one "
               "ToolSpec table."),
    "graph": ("agentscaler.graph", "graph_command",
              "Embed tools and their parameters, link similar tools (writes graph.parquet)."),
    "domains": ("agentscaler.domains", "domains_command",
                "Partition the tool graph into domains (writes domains.parquet and domains_summary.json)."),
    "build-domains": ("agentscaler.pipeline", "build_domains_command",
                      "Ingest, graph and domains in one go; a rerun resumes from the artifacts already written."),
    "build-envs": ("agentscaler.envs", "build_envs_command",
                   "Build a simulated, database-backed environment for every domain (stage 4)."),
    "play": ("agentscaler.sim", "play_command",
             "Play a domain's simulator: a REPL on a terminal, JSON lines on a pipe (stage 5)."),
    "tasks": ("agentscaler.tasks", "tasks_command",
              "Sample tasks with gold calls and gold final states for every domain (stage 6)."),
    "rollout": ("agentscaler.rollouts", "rollout_command",
                "Play episodes of every task: simulated user, agent, simulator actors (stage 7)."),
    "tiny-model": ("agentscaler.llm", "tiny_model_command",
                   "Build a tiny random-weight Qwen3 with a locally trained tokenizer and Qwen3's chat template."),
    "serve": ("agentscaler.llm", "serve_command",
              "Serve a local model over an OpenAI-compatible API (/v1/models, /v1/chat/completions)."),
    "filter": ("agentscaler.filters", "filter_command",
               "Keep the trajectories that are valid, do what their task's outcome asks within the domain's "
               "rules, reach the gold state and (read-only tasks) match gold; dedup them."),
    "export": ("agentscaler.train", "export_command",
               "Export the kept trajectories as a chat-format training set, tagged general / vertical (or as "
               "tokens)."),
    "train": ("agentscaler.train", "train_command",
              "Fine-tune on Ray Train; final weights in OUT/final, per-stage losses in OUT/<stage>/metrics.jsonl."),
    "eval": ("agentscaler.evaluate", "eval_command",
             "Play the held-out tasks with an agent and report pass rate and pass^k on the reached states (stage "
             "10)."),
    "bench": ("agentscaler.bench", "bench_app",
              "Score an agent on public benchmarks (τ²-bench, ACEBench, BFCL) and check a run's tasks against their "
              "test items."),
    "report": ("agentscaler.report", "report_command",
               "One self-contained HTML page of a run: domain sizes, calls per task, filter funnel, pass rates per "
               "domain, training curves and evaluations, with plots."),
    "run": ("agentscaler.pipeline", "run_command",
            "Every stage, ingest to export, on the embedded sample or given corpora; resumes a killed run."),
}


def verb_function(name: str):
    """The function behind a verb (imports its package): a command, or a ``typer.Typer`` of subcommands."""
    package, attribute, _ = VERBS[name]
    return getattr(importlib.import_module(package), attribute)


def verb_doc(name: str) -> str:
    """The docstring of a verb: its function's, or its group's callback's."""
    target = verb_function(name)
    if isinstance(target, typer.Typer):
        target = target.registered_callback.callback
    return target.__doc__ or ""


class LazyVerbs(TyperGroup):
    """A group whose verbs are built on first use; its own help lists them from ``VERBS`` in click's plain
    layout (typer's rich help would build every verb to read its help text)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in VERBS:
            return None
        target = verb_function(name)
        if isinstance(target, typer.Typer):  # a verb with subcommands (`agentscaler bench tau2`)
            group = typer.main.get_command(target)
            group.name = name
            return group
        one = typer.Typer(add_completion=False)
        one.command(name)(target)
        return typer.main.get_command(one)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args:  # no verb: the help (typer would expect its rich help to have printed it already)
            typer.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        super(TyperGroup, self).format_help(ctx, formatter)  # click's, past typer's rich override

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_line) for name, (_, _, help_line) in VERBS.items()])


app = typer.Typer(cls=LazyVerbs, add_completion=False)


@app.callback()
def agentscaler() -> None:
    """Scale tool-use agents through simulated environments: API corpora -> tool graph -> domains ->
    environments -> tasks -> rollouts -> filters -> SFT -> evaluation. Each verb below is one stage."""


if __name__ == "__main__":
    app()
