"""``eval``: an agent plays the rollout stage on tasks it was not trained on; pass rate and pass^k.

The episodes are the rollout stage's own (same simulated user, same budgets, same simulator actors),
written to ``DIR/eval/<name>/rollouts/`` so they never mix with the training trajectories in
``DIR/rollouts/``. That directory is emptied first: an evaluation measures the agent as it is now,
and episodes left by an earlier checkpoint under the same name would otherwise be reused. Each
episode is judged by ``score.judge``; the report (``DIR/eval/<name>/report.json``) gives the pass
rate overall, per task split, per task outcome (``by_outcome``: complete, refuse, clarify,
irrelevant, recover) and per domain, pass^k for k = 1..samples, why episodes failed (counted by
failure code, ``failures.count_codes``) and the nodes the simulator actors ran on.

    report = evaluate("runs/demo", EvalConfig(agent="runs/demo/train/final", split="heldout", samples=4))
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Literal, Optional

import typer
from pydantic import Field

from agentscaler.artifacts import RunDir, write_json
from agentscaler.configs import StrictConfig
from agentscaler.contracts import Task
from agentscaler.evaluate.score import judge, pass_hat_k, pass_hat_k_interval
from agentscaler.failures import count_codes
from agentscaler.options import config_command
from agentscaler.rollouts import RolloutConfig, run_rollouts


class EvalConfig(StrictConfig):
    agent: str = Field(description="teacher, a model directory, or an OpenAI-compatible URL.")
    user: str = Field("template", description="template (no model), a model path, or an OpenAI-compatible URL.")
    split: Literal["heldout", "heldout_task", "heldout_domain", "train"] = Field(
        "heldout", description="The tasks played: heldout (both kinds), heldout_task, heldout_domain "
                               "(or train, to check what was learnt).")
    samples: int = Field(1, ge=1, description="Episodes per task (K of pass^k).")
    name: Optional[str] = Field(None, description="Name of DIR/eval/NAME/. Default: from the agent.")
    concurrency: int = Field(64, ge=1, description="Episodes in flight at once.")
    rollouts: RolloutConfig = Field(
        default_factory=RolloutConfig,
        description="The episodes' other settings (budgets, actors, seed); its samples, concurrency, agent and "
                    "user are the ones above.")


def eval_name(agent: str) -> str:
    """A directory name for an agent spec: ``teacher``, a model directory's name, or the URL's host and path."""
    if agent.startswith(("http://", "https://")):
        agent = agent.split("://", 1)[1]
    elif Path(agent).is_dir():
        agent = Path(agent).resolve().name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", agent).strip("_") or "agent"


def _block(tasks: list[Task], passes: Counter, samples: int) -> dict[str, Any]:
    """Pass rate and pass^k of a group of tasks, each played ``samples`` times (lost episodes count as failed),
    with pass^k's 95% interval over the tasks."""
    trials = [(samples, passes[t.task_id]) for t in tasks]
    passed = sum(c for _, c in trials)
    ks = range(1, samples + 1)
    return {"tasks": len(tasks), "episodes": samples * len(tasks), "passed": passed,
            "pass_rate": round(passed / max(samples * len(tasks), 1), 4),
            "pass_hat_k": {str(k): round(pass_hat_k(trials, k), 4) for k in ks},
            "pass_hat_k_ci95": {str(k): [round(x, 4) for x in pass_hat_k_interval(trials, k)] for k in ks}}


def evaluate(run: str | os.PathLike | RunDir, config: EvalConfig, *, pool=None,
             tasks: list[Task] | None = None) -> dict[str, Any]:
    """Play ``config.samples`` episodes of each task of ``config.split`` (or of ``tasks``, a subset of it) with
    ``config.agent``, judge them, write and return the report."""
    run = RunDir(run)
    tasks = tasks if tasks is not None else run.read_tasks(config.split)
    if not tasks:
        raise ValueError(f"{run.path} has no {config.split!r} tasks to evaluate on")
    name = config.name or eval_name(config.agent)
    shutil.rmtree(run.eval(name), ignore_errors=True)
    episodes = config.rollouts.model_copy(update={"samples": config.samples, "concurrency": config.concurrency,
                                                  "agent": config.agent, "user": config.user})
    played = run_rollouts(run, episodes, tasks=tasks, pool=pool, out_dir=run.eval_rollouts(name))
    judged = [(row["task_id"], judge(run, row)) for row in run.read_rollouts(directory=run.eval_rollouts(name))]
    passes = Counter(task_id for task_id, reason in judged if reason is None)
    outcomes = Counter({"passed": sum(passes.values())}) + count_codes(reason for _, reason in judged)
    outcomes["lost_episode"] = config.samples * len(tasks) - len(judged)
    by_split, by_outcome, by_domain = defaultdict(list), defaultdict(list), defaultdict(list)
    for t in tasks:
        by_split[t.split].append(t)
        by_outcome[t.outcome].append(t)
        by_domain[str(t.domain_id)].append(t)
    samples = config.samples
    report = {
        "agent": config.agent, "user": config.user, "split": config.split, "samples": samples,
        **_block(tasks, passes, samples),
        "splits": {s: _block(ts, passes, samples) for s, ts in sorted(by_split.items())},
        "by_outcome": {o: _block(ts, passes, samples) for o, ts in sorted(by_outcome.items())},
        "domains": {d: _block(ts, passes, samples) for d, ts in sorted(by_domain.items(), key=lambda x: int(x[0]))},
        "writes": _block([t for t in tasks if t.writes], passes, samples),
        "read_only": _block([t for t in tasks if not t.writes], passes, samples),
        "outcomes": {k: v for k, v in outcomes.most_common() if v},
        "task_passes": {t.task_id: passes[t.task_id] for t in tasks},
        "seconds": played["seconds"], "nodes": played["nodes"], "dir": str(run.eval(name)),
    }
    write_json(report, run.eval_report(name))
    return report


@config_command(EvalConfig)
def eval_command(
    config: EvalConfig,
    run: Path = typer.Option(..., "--run", help="Run directory with tasks.parquet and envs/."),
) -> None:
    """Play the held-out tasks with an agent and report pass rate and pass^k on the reached states (stage 10)."""
    report = evaluate(run, config)
    typer.echo(json.dumps({k: v for k, v in report.items() if k not in ("task_passes", "domains")}, indent=2))
    typer.echo(f"report: {report['dir']}/report.json")
