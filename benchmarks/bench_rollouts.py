"""Rollouts with the programmatic teacher: the orchestration ceiling of stage 7.

The teacher needs no model, so what is measured is everything around the model: episodes on one
event loop, the simulated user, tool calls batched onto the simulator actors, Parquet shards. The
same gold calls are then sent to the pool directly, in batches as large as the rollout's, for the
raw step rate to compare against (the pool's own ceiling, ``bench_hosting.py``).

Domains: ``--run DIR`` with ``envs/`` built, or else one domain per ToolBench tool with >= 3 APIs
built into ``--workdir`` (see ``bench_hosting.py``).

    python benchmarks/bench_rollouts.py [--domains 400] [--per-domain 8] [--concurrency 256] [--run DIR]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import ray

from agentscaler.artifacts import RunDir
from agentscaler.contracts import Task
from agentscaler.rollouts import RolloutConfig, run_rollouts
from agentscaler.sim import SimulatorPool
from agentscaler.tasks import TaskConfig, build_tasks
from bench_hosting import build_run
from bench_simulator import CORPUS


def raw_pool_rate(pool: SimulatorPool, tasks: list[Task], batch: int) -> float:
    """Steps/s of the tasks' gold calls sent to the pool directly, ``batch`` calls at a time."""
    episodes = [(t.task_id, t.domain_id, t.state_index) for t in tasks]
    calls = [(t.task_id, c) for t in tasks for c in t.calls]
    pool.start(episodes)
    started = time.perf_counter()
    for i in range(0, len(calls), batch):
        pool.step(calls[i:i + batch])
    rate = len(calls) / (time.perf_counter() - started)
    pool.close([e[0] for e in episodes])
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="A run dir with envs/ built (default: build one).")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/agentscaler-bench-rollouts"))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--domains", type=int, default=400)
    parser.add_argument("--per-domain", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--actors", type=int, default=0)
    args = parser.parse_args()

    ray.init(include_dashboard=False)
    run = RunDir(args.run) if args.run else (
        RunDir(args.workdir) if RunDir(args.workdir).envs_summary.exists()
        else build_run(args.workdir, args.corpus, args.domains))
    summary = build_tasks(run, TaskConfig(per_domain=args.per_domain))
    print(f"tasks: {summary['tasks']} ({summary['write_tasks']} write, {summary['read_only_tasks']} read-only) "
          f"in {summary['domains_with_tasks']} domains, {summary['seconds']}s")
    shutil.rmtree(run.rollouts, ignore_errors=True)
    config = RolloutConfig(concurrency=args.concurrency, flush_every=1024)
    with SimulatorPool(run.path, num_actors=args.actors or None) as pool:
        tasks = run.read_tasks()
        raw_pool_rate(pool, tasks, 64)  # warm: every domain's simulator loaded on its actor
        report = run_rollouts(run, config, pool=pool)
        raw = raw_pool_rate(pool, tasks, max(int(report["mean_sim_batch"]), 1))
    rows = run.read_rollouts(["rollout_id"])
    print(f"episodes: {report['episodes']} written ({len(rows)} rows), reached gold {report['reached_gold_hash_rate']:.1%}, "
          f"status {report['status']}")
    print(f"{'measure':<34}{'figure':>12}")
    for name, value in [("episodes/s (teacher, end to end)", report["episodes_per_s"]),
                        ("tool calls/s (teacher, end to end)", report["tool_calls_per_s"]),
                        ("mean calls per pool batch", report["mean_sim_batch"]),
                        ("raw pool steps/s, same batches", round(raw, 1)),
                        ("rollout calls/s / raw steps/s", round(report["tool_calls_per_s"] / raw, 3))]:
        print(f"{name:<34}{value:>12}")
    ray.shutdown()


if __name__ == "__main__":
    main()
