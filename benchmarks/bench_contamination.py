"""Where the contamination check's thresholds come from: a labelled set of benchmark items planted as they are
and lightly paraphrased (``contamination.paraphrase``) against unrelated texts (a generated run's intents,
and one benchmark's items looked up in another's), scored as ``bench contamination`` scores them.

    python benchmarks/bench_contamination.py --run runs/demo [--per-source 40]

It prints, per label, the n-gram overlap and the cosine similarity (min, median, max) and how many the
shipped thresholds flag. Measured (2026-11-30, --run of a 63-task demo run, 40 items per source):
see /work/notes17/acebench.md and the README's benchmark table.
"""

from __future__ import annotations

import argparse
import random
import statistics
from pathlib import Path

import numpy as np

from agentscaler.artifacts import RunDir
from agentscaler.bench.contamination import (COSINE_THRESHOLD, DEFAULT_DATA, EMBED_TOKENS, NGRAM, NGRAM_THRESHOLD,
                                             NgramIndex, embed_cached, paraphrase)
from agentscaler.bench.contamination_sources import SOURCES, load_source
from agentscaler.graph import make_embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="A run whose task intents serve as unrelated texts.")
    parser.add_argument("--per-source", type=int, default=40)
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "agentscaler" / "contamination"))
    args = parser.parse_args()
    embedder = make_embedder("minilm", max_length=EMBED_TOKENS)
    pools = {}
    for source in SOURCES:
        texts, skipped = load_source(source, DEFAULT_DATA)
        if skipped:
            print(f"{source}: skipped ({skipped})")
            continue
        pool = sorted({t.text for t in texts if t.kind == "intent"})
        pools[source] = (pool, NgramIndex(pool, NGRAM), embed_cached(embedder, pool, Path(args.cache), "minilm"))
    rng = random.Random(0)
    labelled: list[tuple[str, str, str]] = []  # (label, query, source searched)
    for source, (pool, _, _) in pools.items():
        for i, text in enumerate(rng.sample(pool, min(args.per_source, len(pool)))):
            labelled += [("copy", text, source), ("paraphrase", paraphrase(text, seed=i), source)]
            others = [s for s in pools if s != source]
            if others:
                labelled.append(("other benchmark", text, others[i % len(others)]))
    labelled += [("run task", t.intent, s) for t in RunDir(args.run).read_tasks() for s in pools]
    vectors = embedder.embed([q for _, q, _ in labelled])
    scores: dict[str, list[tuple[float, float]]] = {}
    for (label, query, source), vector in zip(labelled, vectors):
        pool, index, pool_vectors = pools[source]
        overlap, _ = index.best(query)
        scores.setdefault(label, []).append((overlap, float(np.max(pool_vectors @ vector))))
    print(f"n = {NGRAM}, thresholds: n-gram overlap {NGRAM_THRESHOLD}, cosine {COSINE_THRESHOLD}")
    for label, pairs in scores.items():
        overlaps, cosines = zip(*pairs)
        flagged = sum(o >= NGRAM_THRESHOLD or c >= COSINE_THRESHOLD for o, c in pairs)
        print(f"{label:16s} {len(pairs):4d}  overlap {_spread(overlaps)}  cosine {_spread(cosines)}  "
              f"flagged {flagged}/{len(pairs)}")


def _spread(values) -> str:
    return f"min {min(values):.3f} med {statistics.median(values):.3f} max {max(values):.3f}"


if __name__ == "__main__":
    main()
