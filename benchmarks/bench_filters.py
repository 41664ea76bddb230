"""The filter pipeline on a large rollout set: trajectories/s, the funnel, and the share of corrupted copies caught.

Domains: ``--run DIR`` with ``envs/`` built, or one domain per RapidAPI tool of ToolBench with at least
3 APIs (the first ``--domains``), built by ``build_envs`` into ``--workdir`` (reused on reruns).
Tasks: ``--tasks-per-domain`` per domain from the tasks stage (every outcome it makes). Rollouts: per task
``--samples`` teacher episodes with the template user (``filters_helpers.teacher_rollout``: the rollout
stage's episode loop without Ray; samples differ in the intent's wording and a closing sentence), plus
corrupted copies, one per kind in ``KINDS`` that applies to the task, each recording the gold hash (so
every state-changing corruption also lies about its hash). The outcome kinds break what a task's outcome
asks: a write on a ``refuse`` task, a call on an ``irrelevant`` one, the gold calls without asking on a
``clarify`` one.

    python benchmarks/bench_filters.py [--domains 60] [--tasks-per-domain 40] [--samples 4] [--cpus 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_hosting import build_run  # noqa: E402
from bench_simulator import CORPUS  # noqa: E402
from filters_helpers import WRITE_KINDS, rollout, simulator, teacher_rollout, write_rollouts  # noqa: E402

from agentscaler.artifacts import RunDir  # noqa: E402
from agentscaler.filters import DedupKeys, Validity, funnel_table, judges, run_filters  # noqa: E402
from agentscaler.filters.exact import PLANNED  # noqa: E402
from agentscaler.tasks import TaskConfig, build_tasks  # noqa: E402

ANSWERS = ["Done: everything you asked for is complete.", "All set. Your request has been handled.",
           "I have completed the request; let me know if you need anything else.",
           "That is finished now. Anything else I can do for you?"]


def _other(value):
    """A value of the same JSON type that differs from ``value``."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "_x"
    return [value]


def _set(row: dict, messages: list[dict], kind: str) -> dict:
    return {**row, "messages": json.dumps(messages), "rollout_id": f"{row['rollout_id']}-{kind}"}


def corrupt(kind: str, run: RunDir, task: dict, gold: dict, calls: list[dict], kinds: dict[str, str],
            others: list[dict]) -> dict | None:
    """A corrupted copy of the gold trajectory ``gold``, or None when the kind does not apply to the task.
    ``others``: the gold calls of the domain's other tasks (a write or a call to add where none belongs)."""
    messages = json.loads(gold["messages"])
    first = next((i for i, m in enumerate(messages) if m.get("tool_calls")), None)
    outcome = task["outcome"] or "complete"
    if first is None and kind in ("unknown_tool", "schema_invalid", "repetition"):
        return None
    if kind in ("wrote_on_refuse", "called_on_irrelevant"):
        wanted = {"wrote_on_refuse": "refuse", "called_on_irrelevant": "irrelevant"}[kind]
        extra = next((c for c in others if (kinds[c["name"]] in WRITE_KINDS) == (kind == "wrote_on_refuse")), None)
        if outcome != wanted or extra is None:
            return None
        return rollout(run, task, calls + [extra], f"{gold['rollout_id']}-{kind}",
                       answer=messages[-1]["content"])
    if kind == "guessed_withheld_value":  # the gold calls with no question asked first
        scenario = json.loads(task["scenario"] or "{}")
        if outcome != "clarify" or not scenario.get("withheld"):
            return None
        return rollout(run, task, calls, f"{gold['rollout_id']}-{kind}", answer=messages[-1]["content"])
    if kind == "unknown_tool":
        messages[first]["tool_calls"][0]["function"]["name"] += "_v2"
    elif kind == "schema_invalid":
        with_args = [m for m in messages if m.get("tool_calls") and m["tool_calls"][0]["function"]["arguments"] != "{}"]
        if not with_args:
            return None
        fn = with_args[0]["tool_calls"][0]["function"]
        args = json.loads(fn["arguments"])
        args[next(iter(args))] = {"not": "valid"}
        fn["arguments"] = json.dumps(args)
    elif kind == "orphan_tool_message":
        messages.insert(len(messages) - 1, {"role": "tool", "tool_call_id": "call_999", "content": "{}"})
    elif kind == "no_final_answer":
        messages.pop()
    elif kind == "repetition":
        return {**rollout(run, task, calls[:1] * 3 + calls[1:], f"{gold['rollout_id']}-{kind}",
                          final_hash=task["gold_hash"])}
    elif kind in ("wrong_state", "read_only_wrong_call"):
        # wrong_state: the last write gets another value (or, taking none, is dropped), the recorded hash still
        # claiming gold; read_only_wrong_call: a read of a read-only task gets another value
        if (kind == "wrong_state") != bool(task["writes"]) or outcome not in PLANNED:
            return None
        answers = [json.loads(o) for o in json.loads(task["gold_observations"])]
        targets = [i for i, c in enumerate(calls) if (kinds[c["name"]] in WRITE_KINDS) == bool(task["writes"])
                   and not (isinstance(answers[i], dict) and "error" in answers[i])]  # a recover task's failing
        # attempt fails with any other value too: no corruption
        i = targets[-1] if task["writes"] else next((i for i in targets if calls[i]["arguments"]), None)
        if i is None:
            return None
        changed = [dict(c, arguments=dict(c["arguments"])) for c in calls]
        if changed[i]["arguments"]:
            key = sorted(changed[i]["arguments"])[-1]
            changed[i]["arguments"][key] = _other(changed[i]["arguments"][key])
        else:
            del changed[i]
        return rollout(run, task, changed, f"{gold['rollout_id']}-{kind}", final_hash=task["gold_hash"],
                       answer=json.loads(gold["messages"])[-1]["content"])
    elif kind == "exact_duplicate":
        return {**gold, "rollout_id": f"{gold['rollout_id']}-{kind}"}
    return _set(gold, messages, kind)


def tree_cpu_seconds() -> float:
    """CPU seconds used so far by this process and every process under it (the local Ray: GCS, raylet, workers)."""
    import psutil

    total = 0.0
    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_rate(run: RunDir, batch_size: int = 512) -> float:
    """Trajectories per CPU-second of the filters' own work, in this process (no Ray): what one core
    does when it is not shared; the pipeline's wall-clock rate on a loaded machine is below it."""
    shards = sorted(run.require(run.rollouts).glob("part-*.parquet"))  # not the directory: it holds tasks.sha256
    table = pa.concat_tables([pq.read_table(shard) for shard in shards])
    stages = (Validity(), *judges(run.path), DedupKeys())
    started = time.process_time()
    for offset in range(0, table.num_rows, batch_size):
        batch = table.slice(offset, batch_size)
        for stage in stages:
            batch = stage(batch)
    return table.num_rows / (time.process_time() - started)


KINDS = ("unknown_tool", "schema_invalid", "orphan_tool_message", "no_final_answer", "repetition", "wrong_state",
         "read_only_wrong_call", "exact_duplicate", "wrote_on_refuse", "called_on_irrelevant", "guessed_withheld_value")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="A run dir with envs/ built (default: build from ToolBench).")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/agentscaler-bench-filters"))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--domains", type=int, default=60)
    parser.add_argument("--tasks-per-domain", type=int, default=40)
    parser.add_argument("--samples", type=int, default=4, help="Teacher trajectories per task.")
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()

    import ray

    run = RunDir(args.run) if args.run else (
        RunDir(args.workdir) if RunDir(args.workdir).envs_summary.exists()
        else build_run(args.workdir, args.corpus, args.domains))
    domains = sorted(int(p.stem) for p in run.env_spec(0).parent.glob("*.json"))[:args.domains]
    started = time.perf_counter()
    build_tasks(run, TaskConfig(per_domain=args.tasks_per_domain, read_only_domain=args.tasks_per_domain,
                                heldout_domains=0, heldout_tasks=0))
    tasks = [t.row() for t in run.read_tasks() if t.domain_id in set(domains)]
    rng = random.Random(0)
    rows, origin = [], {}
    by_domain = defaultdict(list)
    for task in tasks:
        by_domain[task["domain_id"]].append(task)
    for task in tasks:
        calls = json.loads(task["gold_calls"])
        kinds = {t.name: t.kind for t in simulator(run.path, task["domain_id"]).spec.tools}
        others = [c for other in by_domain[task["domain_id"]] if other is not task
                  for c in json.loads(other["gold_calls"])]
        golds = [teacher_rollout(run, task, s, intent=f"{task['intent']} (request {rng.randrange(10**6)})")
                 for s in range(args.samples)]
        for s, gold in enumerate(golds):
            messages = json.loads(gold["messages"])
            messages[-1]["content"] += " " + ANSWERS[s % len(ANSWERS)]
            gold["messages"] = json.dumps(messages)
        rows += golds
        origin.update({g["rollout_id"]: "gold" for g in golds})
        for kind in KINDS:
            bad = corrupt(kind, run, task, golds[0], calls, kinds, others)
            if bad is not None:
                rows.append(bad)
                origin[bad["rollout_id"]] = kind
    write_rollouts(run, rows)
    print(f"{len(tasks)} tasks in {len(domains)} domains ({sum(t['writes'] for t in tasks)} write tasks), "
          f"{len(rows)} trajectories ({sum(v != 'gold' for v in origin.values())} corrupted) "
          f"written in {time.perf_counter() - started:.1f}s")

    ray.init(num_cpus=args.cpus, include_dashboard=False, ignore_reinit_error=True)
    cpu_before = tree_cpu_seconds()
    report = run_filters(run)
    pipeline_cpu = tree_cpu_seconds() - cpu_before
    from rich.console import Console

    console = Console()
    for table in funnel_table(report):
        console.print(table)
    kept = set(run.read_kept(["rollout_id"])["rollout_id"].to_pylist())
    rejected = {r["rollout_id"]: r["stage"] for r in run.read_rejected().select(["rollout_id", "stage"]).to_pylist()}
    caught: dict[str, Counter] = defaultdict(Counter)
    for rollout_id, kind in origin.items():
        caught[kind][rejected.get(rollout_id, "kept")] += 1
    console.print("[bold]by origin[/] (where each trajectory ended):")
    for kind, where in caught.items():
        console.print(f"  {kind:22s} {sum(where.values()):6d}  "
                      + ", ".join(f"{k} {v}" for k, v in where.most_common()))
    corrupted = [k for k, v in origin.items() if v != "gold"]
    share = sum(k not in kept for k in corrupted) / max(len(corrupted), 1)
    golds = [k for k, v in origin.items() if v == "gold"]
    gold_kept = sum(k in kept for k in golds) / max(len(golds), 1)
    load = os.getloadavg()[0]
    per_core = cpu_rate(run)
    console.print(f"[bold]{report['input']} trajectories in {report['seconds']:.2f}s: "
                  f"{report['trajectories_per_s']:,.0f} trajectories/s on {args.cpus} CPUs[/] (target >= 2,000/s; "
                  f"load average {load:.1f} on {os.cpu_count()} cores)")
    console.print(f"CPU seconds the pipeline used (driver + all of Ray): {pipeline_cpu:.1f}: "
                  f"{report['input'] / pipeline_cpu:,.0f} trajectories per CPU-second, i.e. "
                  f"{args.cpus * report['input'] / pipeline_cpu:,.0f}/s on {args.cpus} dedicated CPUs")
    console.print(f"filters' own work: {per_core:,.0f} trajectories per CPU-second in one process "
                  f"(x {args.cpus} CPUs = {per_core * args.cpus:,.0f}/s without Ray's overhead or other load)")
    console.print(f"corrupted copies caught: {share:.2%} of {len(corrupted)} (target 100%); "
                  f"teacher trajectories kept: {gold_kept:.2%} (the rest are duplicates of each other)")
    print(json.dumps({"trajectories": report["input"], "seconds": report["seconds"],
                      "trajectories_per_s": report["trajectories_per_s"],
                      "pipeline_cpu_seconds": round(pipeline_cpu, 1),
                      "pipeline_per_cpu_second": round(report["input"] / pipeline_cpu),
                      "filters_per_cpu_second": round(per_core),
                      "load_average": round(load, 1), "corrupted": len(corrupted),
                      "caught_share": round(share, 4), "gold_kept_share": round(gold_kept, 4),
                      "rollouts_bytes": sum(p.stat().st_size for p in run.rollouts.glob("*.parquet")),
                      "kept_rows": run.kept_dataset().count_rows()}))


if __name__ == "__main__":
    main()
