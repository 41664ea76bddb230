"""``eval``: an agent plays the rollout stage on tasks it was not trained on; pass rate and pass^k.

The episodes are the rollout stage's own (same simulated user, same budgets, same simulator actors),
written to ``DIR/eval/<name>/rollouts/`` so they never mix with the training trajectories in
``DIR/rollouts/``. That directory is emptied first: an evaluation measures the agent as it is now,
and episodes left by an earlier checkpoint under the same name would otherwise be reused. Each
episode is judged by ``score.judge``; the report (``DIR/eval/<name>/report.json``) gives the pass
rate overall, per task split and per domain, pass^k for k = 1..samples, and why episodes failed.

    report = evaluate("runs/demo", "runs/demo/train/final", split="heldout", samples=4)
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import typer

from agentscaler.artifacts import RunDir, write_json
from agentscaler.evaluate.score import judge, pass_hat_k
from agentscaler.rollouts.run import RolloutConfig, read_shards, run_rollouts
from agentscaler.tasks import read_tasks


def eval_name(agent: str) -> str:
    """A directory name for an agent spec: ``teacher``, a model directory's name, or the URL's host and path."""
    if agent.startswith(("http://", "https://")):
        agent = agent.split("://", 1)[1]
    elif Path(agent).is_dir():
        agent = Path(agent).resolve().name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", agent).strip("_") or "agent"


def _block(tasks: list[dict], passes: dict[str, int], samples: int) -> dict[str, Any]:
    """Pass rate and pass^k of a group of tasks, each played ``samples`` times (lost episodes count as failed)."""
    trials = [(samples, passes[t["task_id"]]) for t in tasks]
    passed = sum(c for _, c in trials)
    return {"tasks": len(tasks), "episodes": samples * len(tasks), "passed": passed,
            "pass_rate": round(passed / max(samples * len(tasks), 1), 4),
            "pass_hat_k": {str(k): round(pass_hat_k(trials, k), 4) for k in range(1, samples + 1)}}


def evaluate(run: str | os.PathLike | RunDir, agent: str, split: str = "heldout", samples: int = 1,
             name: str | None = None, config: RolloutConfig | None = None, user: str = "template",
             pool=None, tasks: list[dict] | None = None) -> dict[str, Any]:
    """Play ``samples`` episodes of each task of ``split`` (or of ``tasks``, a subset of it) with ``agent``,
    judge them, write and return the report."""
    run = run if isinstance(run, RunDir) else RunDir(run)
    tasks = tasks if tasks is not None else read_tasks(run, split)
    if not tasks:
        raise ValueError(f"{run.path} has no {split!r} tasks to evaluate on")
    out = run.path / "eval" / (name or eval_name(agent))
    shutil.rmtree(out, ignore_errors=True)
    config = (config or RolloutConfig()).model_copy(update={"samples": samples})
    played = run_rollouts(run, agent, user, config, tasks=tasks, pool=pool, out_dir=out / "rollouts")
    passes: Counter = Counter()
    reasons: Counter = Counter()
    for row in read_shards(out / "rollouts"):
        reason = judge(run.path, row)
        passes[row["task_id"]] += reason is None
        reasons[reason.split(":")[0] if reason else "passed"] += 1
    reasons["lost_episode"] = samples * len(tasks) - sum(reasons.values())
    by_split, by_domain = defaultdict(list), defaultdict(list)
    for t in tasks:
        by_split[t["split"]].append(t)
        by_domain[str(t["domain_id"])].append(t)
    report = {
        "agent": agent, "user": user, "split": split, "samples": samples, **_block(tasks, passes, samples),
        "splits": {s: _block(ts, passes, samples) for s, ts in sorted(by_split.items())},
        "domains": {d: _block(ts, passes, samples) for d, ts in sorted(by_domain.items(), key=lambda x: int(x[0]))},
        "writes": _block([t for t in tasks if t["writes"]], passes, samples),
        "read_only": _block([t for t in tasks if not t["writes"]], passes, samples),
        "outcomes": {k: v for k, v in reasons.most_common() if v},
        "task_passes": {t["task_id"]: passes[t["task_id"]] for t in tasks},
        "seconds": played["seconds"], "dir": str(out),
    }
    write_json(report, out / "report.json")
    return report


def eval_command(
    run: Path = typer.Option(..., "--run", help="Run directory with tasks.parquet and envs/."),
    agent: str = typer.Option(..., "--agent", help="teacher, a model directory, or an OpenAI-compatible URL."),
    split: str = typer.Option("heldout", "--split", help="heldout (both kinds), heldout_task, heldout_domain "
                                                         "(or train, to check what was learnt)."),
    samples: int = typer.Option(1, "--samples", min=1, help="Episodes per task (K of pass^k)."),
    out: str = typer.Option("", "--out", help="Name of DIR/eval/NAME/. Default: from the agent."),
    user: str = typer.Option("template", help="template (no model), a model path, or an OpenAI-compatible URL."),
    concurrency: int = typer.Option(64, help="Episodes in flight at once."),
) -> None:
    """Play the held-out tasks with an agent and report pass rate and pass^k on the reached states (stage 10)."""
    report = evaluate(run, agent, split, samples, out or None, RolloutConfig(concurrency=concurrency), user)
    typer.echo(json.dumps({k: v for k, v in report.items() if k not in ("task_passes", "domains")}, indent=2))
    typer.echo(f"report: {report['dir']}/report.json")
