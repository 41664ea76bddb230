"""One simulator, one process: our SQLite domain simulator against tau2-bench's airline environment.

Our side is a domain built by ``build_domain`` from the APIs of one real RapidAPI tool in ToolBench
(default: animetrics_face_recognition: 7 tables, reads, creates, updates and deletes), with rows per
table chosen so the state holds about 2,800 rows, the size of tau2's airline database (300 flights,
500 users, 2,000 reservations). Calls are sampled from the state as the environment build samples
them to check tools. tau2's side is its airline ``Environment`` answering ``ToolCall`` messages
(``get_response``: the call plus its JSON observation, as tau2's orchestrator runs it).

    python benchmarks/bench_simulator.py [--rows 2800] [--calls 5000] [--no-tau2]
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import psutil

from agentscaler.envs import build_domain, infer_schema
from agentscaler.envs.synth import sample_arguments
from agentscaler.ingest.reader import parse_file
from agentscaler.envs import DomainSimulator
from agentscaler.toolspec import ToolSpec

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "toolbench" / "toolbench_tools.jsonl"


def toolbench_groups(corpus: Path, only: str | None = None) -> dict[str, list[ToolSpec]]:
    """ToolBench APIs grouped by RapidAPI tool, read by the project's own ingest parser."""
    source = corpus
    if only:  # parse one line, not 38k APIs
        with corpus.open() as handle:
            lines = [line for line in handle if json.loads(line)["tool_name"] == only]
        if not lines:
            sys.exit(f"no RapidAPI tool named {only!r} in {corpus}")
        source = Path(tempfile.mkdtemp()) / "toolbench.jsonl"
        source.write_text("".join(lines))
    groups: dict[str, list[ToolSpec]] = defaultdict(list)
    for spec in parse_file(source)[0]:
        groups[spec.toolkit].append(spec)
    return groups


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


Work = tuple[Callable[[Any], Any], list]  # a measure: a function and the items it is called on, in order


def repeat(fn: Callable[[], Any], n: int) -> Work:
    return lambda _: fn(), list(range(n))


def measure(sides: list[dict[str, Work]], rounds: int) -> list[dict[str, dict[str, float]]]:
    """Per-call latency (median, p99, µs) and throughput of every measure of every side.

    The sides take turns, a slice of each measure at a time, so that load from other processes on a
    shared machine weighs on both alike and the ratios hold even when the absolute figures do not.
    """
    clock = time.perf_counter_ns
    latencies = [{name: [] for name in side} for side in sides]
    walls = [dict.fromkeys(side, 0) for side in sides]
    for r in range(rounds):
        for side, lat, wall in zip(sides, latencies, walls):
            for name, (fn, items) in side.items():
                chunk = items[r * len(items) // rounds:(r + 1) * len(items) // rounds]
                started = clock()
                for item in chunk:
                    t = clock()
                    fn(item)
                    lat[name].append(clock() - t)
                wall[name] += clock() - started
    return [{name: _figures(sorted(lat[name]), wall[name]) for name in lat} for lat, wall in zip(latencies, walls)]


def _figures(latencies: list[int], wall_ns: int) -> dict[str, float]:
    return {"median_us": statistics.median(latencies) / 1e3, "p99_us": latencies[int(len(latencies) * 0.99)] / 1e3,
            "per_s": len(latencies) / wall_ns * 1e9}


def memory_per(make: Callable[[], Any], n: int) -> float:
    """RSS delta of keeping ``n`` objects alive, per object (bytes)."""
    before = rss()
    kept = [make() for _ in range(n)]
    per = (rss() - before) / n
    del kept
    return per


def ours(args) -> tuple[dict[str, Work], dict[str, float]]:
    tools = toolbench_groups(args.corpus, args.toolkit)[args.toolkit]
    tables = len(infer_schema(tools)[0])
    spec = build_domain(0, tools, states=1, rows=max(args.rows // tables, 1))
    sim = DomainSimulator(spec)
    state = spec.states[0]
    print(f"ours: ToolBench {args.toolkit!r}: {len(spec.tools)} tools "
          f"({sum(t.executable for t in spec.tools)} executable), {tables} tables, "
          f"{sum(len(r) for r in state.values())} rows, image {len(sim.snapshot()) / 1024:.0f} KiB")
    rng = random.Random(0)

    def calls(kinds: set[str]) -> list[dict]:
        usable = [t for t in spec.tools if t.executable and t.kind in kinds]
        return [{"name": t.name, "arguments": sample_arguments(t.operation.bindings, spec.table(t.table), state, i, rng)}
                for i in range(args.calls) for t in [usable[i % len(usable)]]]

    reads, writes = calls({"read"}), calls({"create", "update", "delete"})
    by_key = {t.name for t in spec.tools if t.kind == "read" and t.executable and any(
        b.role == "eq" and b.column == spec.table(t.table).primary_key for b in t.operation.bindings)}
    key_reads = [c for c in reads if c["name"] in by_key]  # like tau2's reads: one entity by its id
    errors = {name: sum(sim.step(c).error for c in batch) / len(batch) for name, batch in
              (("read", reads), ("write", writes))}
    sim.reset(0)
    print(f"ours: error observations among sampled calls: reads {errors['read']:.0%}, writes {errors['write']:.0%}")
    memory = {"memory per live simulator (KiB)": memory_per(sim.fork, args.forks) / 1024,
              "memory per snapshot (KiB)": len(sim.snapshot()) / 1024}
    many = max(args.calls // 10, 50)
    work = {"read step": (sim.step, reads), "read step, one entity by key": (sim.step, key_reads),
            "write step": (sim.step, writes),
            "state hash": repeat(sim.state_hash, args.calls),
            "state hash, full rescan": repeat(sim.recompute_hash, max(args.calls // 50, 20)),
            "fork": repeat(sim.fork, many), "reset (snapshot + restore)": repeat(lambda: sim.restore(sim.snapshot()), many),
            "reset to a synthesized state": repeat(lambda: sim.reset(0), many)}
    return work, memory


def tau2(args) -> tuple[dict[str, Work], dict[str, float]]:
    from loguru import logger
    from tau2.data_model.message import ToolCall
    from tau2.domains.airline.environment import get_environment

    logger.disable("tau2")  # it logs every response at DEBUG: measure the environment, not the logging
    env = get_environment()
    db = env.tools.db
    users, reservations = list(db.users), list(db.reservations)
    print(f"tau2: airline: {len(db.flights)} flights, {len(users)} users, {len(reservations)} reservations")
    rng = random.Random(0)
    reads = [ToolCall(name="get_user_details", arguments={"user_id": rng.choice(users)}) if i % 2 else
             ToolCall(name="get_reservation_details", arguments={"reservation_id": rng.choice(reservations)})
             for i in range(args.calls)]
    writes = [ToolCall(name="send_certificate", arguments={"user_id": users[i % len(users)], "amount": 100})
              for i in range(min(args.calls, 3 * len(users)))]  # tau2 allows 3 certificates per user
    memory = {"memory per live simulator (KiB)": memory_per(lambda: copy.deepcopy(db), args.tau2_forks) / 1024}
    work = {"read step": (env.get_response, reads), "read step, one entity by key": (env.get_response, reads),
            "read step, toolkit only (no JSON)": (lambda c: env.use_tool(c.name, **c.arguments), reads),
            "write step": (env.get_response, writes),
            "state hash": repeat(env.get_db_hash, args.tau2_forks),  # always a full dump: no rescan row of its own
            "fork": repeat(lambda: copy.deepcopy(db), args.tau2_forks)}
    return work, memory


TARGETS = {"read step": ("per_s", 2), "read step, one entity by key": ("per_s", 2), "write step": ("per_s", 2), "state hash": ("median_us", 70), "fork": ("median_us", 200)}


def report(a: dict, b: dict | None) -> None:
    print(f"\n{'measure':40} {'ours':>30} {'tau2':>30} {'ratio':>9}  target")
    for name in dict.fromkeys([*a, *(b or {})]):
        x, y = a.get(name), (b or {}).get(name)
        cell = lambda m: "" if m is None else (f"{m['value']:.1f}" if "value" in m else  # noqa: E731
                                               f"{m['median_us']:.1f}/{m['p99_us']:.1f} µs {m['per_s']:,.0f}/s")
        ratio, target = "", ""
        if x and y:
            if "value" in x:
                ratio = f"{y['value'] / x['value']:.1f}x"  # smaller is better: how many of ours fit in one tau2
            else:
                ratio = f"{x['per_s'] / y['per_s']:.1f}x" if name.endswith("step") or "step," in name else \
                    f"{y['median_us'] / x['median_us']:.0f}x"
            if name in TARGETS:
                key, want = TARGETS[name]
                got = x["per_s"] / y["per_s"] if key == "per_s" else y["median_us"] / x["median_us"]
                target = f">= {want}x {'met' if got >= want else 'MISSED'}"
        print(f"{name:40} {cell(x):>30} {cell(y):>30} {ratio:>9}  {target}")
    print("\ncells: median/p99 latency and throughput; ratio: ours faster (or smaller) by")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="ToolBench toolbench_tools.jsonl")
    parser.add_argument("--toolkit", default="animetrics_face_recognition", help="RapidAPI tool to build a domain from")
    parser.add_argument("--rows", type=int, default=2800, help="rows in our domain's state (spread over its tables)")
    parser.add_argument("--calls", type=int, default=5000, help="calls per step measurement")
    parser.add_argument("--forks", type=int, default=500, help="live simulators kept to measure memory")
    parser.add_argument("--tau2-forks", type=int, default=10, help="tau2 hashes and DB copies measured (each is slow)")
    parser.add_argument("--rounds", type=int, default=5, help="turns the two sides take on every measure")
    parser.add_argument("--no-tau2", action="store_true", help="skip tau2-bench (pip install -e '.[bench]')")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    sides = [ours(args)] + ([] if args.no_tau2 else [tau2(args)])
    figures = measure([work for work, _ in sides], args.rounds)
    for (_, memory), figure in zip(sides, figures):
        figure.update({name: {"value": v} for name, v in memory.items()})
    if len(figures) == 2:
        figures[1]["state hash, full rescan"] = figures[1]["state hash"]
    report(figures[0], figures[1] if len(figures) == 2 else None)


if __name__ == "__main__":
    main()
