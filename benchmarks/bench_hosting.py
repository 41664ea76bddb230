"""The simulator pool on Ray: throughput against in-process, and tens of thousands of live episodes.

Domains: ``--run DIR`` with ``envs/`` built, or else one domain per RapidAPI tool of ToolBench with at
least 3 APIs (the first ``--domains``), built by ``build_envs`` into ``--workdir`` (reused on reruns).
Calls cycle through each domain's executable tools, reads and writes, with arguments sampled from
its state as the environment build samples them.

    python benchmarks/bench_hosting.py [--episodes 50000] [--domains 1200] [--run DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

import pyarrow as pa

from agentscaler.artifacts import RunDir, write_table
from agentscaler.envs import build_envs, load_env
from agentscaler.envs.synth import sample_arguments
from agentscaler.sim.hosting import SimulatorPool, StepResult
from agentscaler.sim.hosting_host import EpisodeHost
from agentscaler.envs import DomainSimulator
from bench_simulator import CORPUS, rss, toolbench_groups

MiB = 1 << 20


def build_run(workdir: Path, corpus: Path, domains: int) -> RunDir:
    """A run dir with tools.parquet, domains.parquet and envs/: one domain per ToolBench tool with >= 3 APIs."""
    run = RunDir(workdir)
    groups = [g for _, g in sorted(toolbench_groups(corpus).items()) if len(g) >= 3][:domains]
    tools = {t.tool_id: t for g in groups for t in g}
    write_table(pa.Table.from_pylist([t.to_row() for t in tools.values()]), run.tools)
    rows = [{"tool_id": t.tool_id, "name": t.name, "domain_id": d} for d, g in enumerate(groups) for t in g]
    write_table(pa.Table.from_pylist(rows), run.domains)
    started = time.perf_counter()
    totals = build_envs(run, states=2, rows=10, workers=os.cpu_count())["totals"]
    print(f"built {totals['domains']} domains, {totals['tools']} tools ({totals['executable_rate']:.0%} executable) "
          f"in {time.perf_counter() - started:.0f}s into {run.path}")
    return run


def domain_calls(run: RunDir, domains: list[int], per_domain: int, seed: int = 0) -> dict[int, list[dict]]:
    """Sampled calls to every executable tool of each domain (domains without any are left out)."""
    rng = random.Random(seed)
    calls = {}
    for d in domains:
        spec = load_env(run.path, d)
        usable = [t for t in spec.tools if t.executable]
        if usable and spec.states:
            calls[d] = [{"name": t.name, "arguments": sample_arguments(t.operation.bindings, spec.table(t.table),
                                                                       spec.states[0], i, rng)}
                        for i in range(per_domain) for t in [usable[i % len(usable)]]]
    return calls


def batches(episodes: list[tuple], calls: dict[int, list[dict]], per_episode: int, rounds: int, size: int):
    """Rounds of ``per_episode`` calls to every episode, cut into batches of ``size`` calls."""
    flat = []
    for r in range(rounds):
        for k in range(per_episode):
            flat += [(eid, calls[d][(r * per_episode + k + i) % len(calls[d])]) for i, (eid, d, _) in enumerate(episodes)]
    return [flat[i:i + size] for i in range(0, len(flat), size)]


def drive(step, work: list[list]) -> tuple[float, float]:
    """Steps/s over all batches, and the share of error observations."""
    started, errors = time.perf_counter(), 0
    for batch in work:
        errors += sum(r.error for r in step(batch))
    calls = sum(map(len, work))
    return calls / (time.perf_counter() - started), errors / calls


def throughput(pool, run: RunDir, calls: dict[int, list[dict]], args) -> None:
    domains = sorted(calls)[:args.tput_domains]
    episodes = [(f"t{i}", domains[i % len(domains)], i % 2) for i in range(args.tput_episodes)]
    work = batches(episodes, calls, args.calls_per_episode, args.rounds, args.batch)
    host = EpisodeHost(run.path)
    host.start(episodes)
    host.step(work[0])  # load the simulators before timing
    local, _ = drive(lambda batch: [StepResult(*a) for a in host.step(batch)], work[1:])
    sim = DomainSimulator(load_env(run.path, domains[0]))
    one = [c for c in calls[domains[0]] for _ in range(20)][:20_000]
    raw = len(one) / _seconds(lambda: [sim.step(c) for c in one])
    pool.start(episodes)
    pool.step(work[0])
    remote, remote_err = drive(pool.step, work[1:])
    pool.close([e[0] for e in episodes])
    print(f"\nthroughput: {len(episodes)} episodes on {len(domains)} domains, batches of {args.batch} calls "
          f"({args.calls_per_episode} per episode), {remote_err:.0%} error observations")
    print(f"  pool ({pool.num_actors} actors):              {remote:>10,.0f} steps/s")
    print(f"  in-process EpisodeHost (same batches):  {local:>10,.0f} steps/s   pool/in-process = {remote / local:.2f}")
    print(f"  in-process DomainSimulator, one episode:{raw:>10,.0f} steps/s   pool/raw = {remote / raw:.2f}")


def _seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def scale(pool, calls: dict[int, list[dict]], args) -> None:
    """Warm every domain's simulator, then measure what ``--episodes`` more episodes cost and do."""
    domains = sorted(calls)
    initial = pool.stats()
    warm = [(f"w{d}", d, 0) for d in domains]
    pool.start(warm)
    pool.step([(eid, c) for eid, d, _ in warm for c in calls[d]])
    pool.close([e[0] for e in warm])
    before = pool.stats()
    episodes = [(f"s{i}", domains[i % len(domains)], i % 2) for i in range(args.episodes)]
    started = time.perf_counter()
    for i in range(0, len(episodes), args.batch):
        pool.start(episodes[i:i + args.batch])
    start_rate = len(episodes) / (time.perf_counter() - started)
    fresh = pool.stats()
    rate, errors = drive(pool.step, batches(episodes, calls, 1, args.scale_rounds, args.batch))
    driven = pool.stats()
    per_episode = lambda s: (s["rss_bytes"] - before["rss_bytes"]) / len(episodes)  # noqa: E731
    new_sims = before["simulators"] - initial["simulators"]
    changed = sum(h["changed_episodes"] for h in driven["actors"])
    snapshots = sum(h["snapshot_bytes"] for h in driven["actors"])
    print(f"\nscale: {len(episodes):,} live episodes on {driven['simulators']:,} domains, {pool.num_actors} actors")
    print(f"  memory per simulator: {(before['rss_bytes'] - initial['rss_bytes']) / max(new_sims, 1) / 1024:,.0f} KiB "
          f"warmed (RSS delta over {new_sims} domains); {before['bytes_per_simulator'] / 1024:,.0f} KiB at spec load")
    print(f"  start: {start_rate:,.0f} episodes/s; memory per fresh episode {per_episode(fresh):,.0f} B "
          f"(RSS delta over {len(episodes):,} episodes)")
    print(f"  steps: {args.scale_rounds} call(s) to every episode, batches of {args.batch:,}: {rate:,.0f} steps/s, "
          f"{errors:.0%} error observations")
    print(f"  {changed:,} episodes changed state ({snapshots / max(changed, 1) / 1024:.0f} KiB snapshot each); "
          f"memory per episode now {per_episode(driven):,.0f} B; total actor RSS {driven['rss_bytes'] / MiB:,.0f} MiB")
    for h in driven["actors"]:
        print(f"    {h['host']}: {h['episodes']:,} episodes, {h['simulators']} simulators, "
              f"RSS {h['rss_bytes'] / MiB:,.0f} MiB")
    pool.close([e[0] for e in episodes])


def layouts(run: RunDir, domain: int, n: int) -> None:
    """Why idle episodes are not live databases: RSS per episode of each layout, one domain."""
    sim = DomainSimulator(load_env(run.path, domain))
    host = EpisodeHost(run.path)
    kept, per = [], []  # everything stays alive, so no measure reuses memory another freed
    for make in (lambda i: host.start([(i, domain, 0)]), lambda i: sim.snapshot(), lambda i: sim.fork()):
        before = rss()
        kept += [make(i) for i in range(n)]
        per.append((rss() - before) / n)
    print(f"\nlayouts, domain {domain} ({len(sim.snapshot()) / 1024:.0f} KiB image), RSS per episode over {n}: "
          f"unchanged episode (shares its state) {per[0]:.0f} B, snapshot {per[1] / 1024:.1f} KiB, "
          f"live SQLite database {per[2] / 1024:.1f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="run dir with envs/ built (default: build from ToolBench)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/agentscaler-bench-hosting"))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--domains", type=int, default=1200, help="ToolBench tools to build domains from")
    parser.add_argument("--actors", type=int, default=0, help="pool size (0: one per CPU)")
    parser.add_argument("--episodes", type=int, default=50_000, help="live episodes in the scale run")
    parser.add_argument("--scale-rounds", type=int, default=2, help="calls to every episode in the scale run")
    parser.add_argument("--tput-episodes", type=int, default=2000)
    parser.add_argument("--tput-domains", type=int, default=200)
    parser.add_argument("--calls-per-episode", type=int, default=5, help="calls per episode per batch (throughput)")
    parser.add_argument("--rounds", type=int, default=6, help="batches per episode (throughput)")
    parser.add_argument("--batch", type=int, default=10_000, help="calls (or starts) per pool call")
    args = parser.parse_args()

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray


    run = RunDir(args.run) if args.run else build_run(args.workdir, args.corpus, args.domains)
    domains = sorted(int(p.stem) for p in (run.envs / "domains").glob("*.json"))
    calls = domain_calls(run, domains, per_domain=20)
    print(f"{len(calls)} of {len(domains)} domains have executable tools")
    layouts(run, sorted(calls)[0], 2000)
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False)
    with SimulatorPool(run.path, num_actors=args.actors or None) as pool:
        throughput(pool, run, calls, args)
        scale(pool, calls, args)


if __name__ == "__main__":
    main()
