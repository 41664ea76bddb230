"""Stages 1-3 on a real corpus: wall time and peak memory per stage, and the domain targets.

    python benchmarks/bench_domains.py --out runs/full ../shared/data/toolbench ../shared/data/bfcl
    python benchmarks/bench_domains.py --out runs/full --sweep-tau 0.7,0.75,0.8,0.85 --sweep-resolution 0.5,1,2

The first form runs ingest, graph and domains from scratch with the default settings. The sweep
reuses the run's embedding cache and prints the targets for each (tau, resolution) around the
default. Peak memory is sampled five times a second over the driver and every Ray worker process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
from pathlib import Path

import psutil

TARGETS = ("domains_with_at_least_3_tools", "share_of_tools_in_domains_of_3_to_1000", "largest_domain",
           "category_purity", "modularity", "attached_tools")


class PeakMemory:
    """Peak summed RSS of this process and all Ray worker processes while the block runs."""

    def __enter__(self):
        self.peak_driver = self.peak_workers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        me = psutil.Process()
        while not self._stop.is_set():
            workers = 0
            for proc in psutil.process_iter(["cmdline", "memory_info"]):
                cmd = " ".join(proc.info["cmdline"] or [])
                if cmd.startswith("ray::") and proc.info["memory_info"]:
                    workers += proc.info["memory_info"].rss
            self.peak_driver = max(self.peak_driver, me.memory_info().rss)
            self.peak_workers = max(self.peak_workers, workers)
            self._stop.wait(0.2)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def timed(label: str, fn, results: list):
    with PeakMemory() as memory:
        started = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - started
    results.append({"stage": label, "wall_s": round(wall, 1), "peak_driver_gib": round(memory.peak_driver / 2**30, 2),
                    "peak_ray_workers_gib": round(memory.peak_workers / 2**30, 2)})
    print(json.dumps(results[-1]), flush=True)
    return out


def full_run(args) -> None:
    from agentscaler.domains import build_domains
    from agentscaler.graph import GraphConfig, build_graph
    from agentscaler.ingest import ingest

    if args.out.exists():
        shutil.rmtree(args.out)
    results: list[dict] = []
    timed("ingest", lambda: ingest(args.sources, args.out), results)
    graph = timed("graph", lambda: build_graph(args.out, GraphConfig()), results)
    domains = timed("domains", lambda: build_domains(args.out), results)
    total = sum(r["wall_s"] for r in results)
    print(json.dumps({"total_wall_s": round(total, 1), "graph": {k: v for k, v in graph.items() if k != "config"},
                      "domains": {k: v for k, v in domains.items() if k != "config"}}, indent=2))


def sweep(args) -> None:
    from agentscaler.domains import DomainConfig, build_domains
    from agentscaler.graph import GraphConfig, build_graph

    print("tau  resolution  " + "  ".join(TARGETS))
    for tau in args.sweep_tau:
        build_graph(args.out, GraphConfig(tau=tau))
        for resolution in args.sweep_resolution:
            summary = build_domains(args.out, DomainConfig(resolution=resolution))
            print(f"{tau:<4} {resolution:<10}  " + "  ".join(str(summary[k]) for k in TARGETS), flush=True)


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sweep-tau", type=floats)
    parser.add_argument("--sweep-resolution", type=floats, default=[1.0])
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    ray.init(include_dashboard=False)
    if args.sweep_tau:
        sweep(args)
    else:
        full_run(args)


if __name__ == "__main__":
    main()
