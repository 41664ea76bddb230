"""A small real run for the report and notebook tests: three shop domains through environments, tasks,
teacher rollouts, filters, export and a teacher evaluation (seconds on a running Ray). Built once per test
session, in the session's base temporary directory, whichever test module asks first."""

from __future__ import annotations

from pathlib import Path

from envs_helpers import make_run, shop_tools

from agentscaler.artifacts import RunDir
from agentscaler.envs import build_envs
from agentscaler.evaluate import EvalConfig, evaluate
from agentscaler.filters import export_training_set, run_filters
from agentscaler.rollouts import RolloutConfig, run_rollouts
from agentscaler.tasks import TaskConfig, build_tasks


def small_run(base: Path) -> RunDir:
    path = base / "small-report-run"
    run = RunDir(path)
    if run.eval_report("teacher").exists():  # the last artifact: the run is whole
        return run
    run = make_run(path, [shop_tools(), shop_tools()[:4], shop_tools()[1:]])
    build_envs(run, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=8, seed=1, heldout_tasks=0.25, heldout_domains=0), workers=1)
    run_rollouts(run, RolloutConfig(samples=2, actors=1))
    run_filters(run)
    export_training_set(run, run.export)
    evaluate(run, EvalConfig(agent="teacher", samples=2, concurrency=8, rollouts=RolloutConfig(actors=1)))
    return run
