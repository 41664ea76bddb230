"""Parameter search on a large corpus: exact against the IVF index the graph stage switches to.

    python benchmarks/bench_graph_search.py --run runs/full [--queries 3000]

Needs a run whose graph stage has run once (its embedding cache). For a seeded sample of parameter
rows it prints the time each search would take for all rows and the share of the exact search's
pairs above tau that the approximate one finds (recall), at the defaults and a few other nprobe.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def pairs_above(queries: np.ndarray, sims: np.ndarray, hits: np.ndarray, tau: float) -> set[tuple[int, int]]:
    return {(int(q), int(h)) for q, row_s, row_h in zip(queries, sims, hits) for s, h in zip(row_s, row_h)
            if s > tau and h >= 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--nprobe", type=lambda s: [int(x) for x in s.split(",")], default=[4, 12, 32])
    args = parser.parse_args()

    import torch

    from agentscaler.artifacts import RunDir
    from agentscaler.graph.build import GraphConfig, embed_strings, index_parameters, ivf_index, parameter_vectors

    config = GraphConfig()
    run = RunDir(args.run)
    tools = sorted(run.read_tools(), key=lambda tool: tool.tool_id)
    index = index_parameters(tools)
    vectors = parameter_vectors(index, embed_strings(index.strings + index.contexts, run, config),
                                config.context_weight)
    queries = np.sort(np.random.default_rng(0).choice(len(vectors), min(args.queries, len(vectors)), replace=False))
    scale = len(vectors) / len(queries)
    started = time.perf_counter()
    sims, hits = torch.topk(torch.from_numpy(vectors[queries]) @ torch.from_numpy(vectors).T, config.top_k + 1)
    exact_s = (time.perf_counter() - started) * scale
    exact = pairs_above(queries, sims.numpy(), hits.numpy(), config.tau)
    print(json.dumps({"parameter_rows": len(vectors), "tools": len(tools), "exact_search_s": round(exact_s, 1),
                      "pairs_above_tau_in_sample": len(exact)}), flush=True)
    sample = vectors[queries]
    for nprobe in args.nprobe:
        started = time.perf_counter()
        index = ivf_index(vectors, nprobe)
        trained = time.perf_counter() - started
        started = time.perf_counter()
        approx_sims, approx_hits = index.search(sample, config.top_k + 1)
        search_s = (time.perf_counter() - started) * scale
        found = pairs_above(queries, approx_sims, approx_hits, config.tau)
        print(json.dumps({"nprobe": nprobe, "default": nprobe == config.nprobe, "train_s": round(trained, 1),
                          "search_s": round(search_s, 1), "recall": round(len(found & exact) / max(1, len(exact)), 4)}),
              flush=True)


if __name__ == "__main__":
    main()
