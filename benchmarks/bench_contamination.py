"""Where the contamination check's thresholds come from: a labelled set of benchmark items planted as they are
and lightly paraphrased (``contamination.paraphrase``) against unrelated texts (a generated run's intents,
and one benchmark's items looked up in another's), scored as ``bench contamination`` scores them.

    python benchmarks/bench_contamination.py --run runs/demo [--per-source 40]

It prints, per label, the n-gram overlap and the cosine similarity (min, median, max) and how many the
shipped thresholds flag. Measured (2026-11-30, --run of an 871-task run of the real corpus, 40 intents per
benchmark; n = 8, overlap >= 0.5 or cosine >= 0.85):

    copy               120  overlap med 1.000  cosine min 1.000          flagged 120/120
    paraphrase         120  overlap med 0.111  cosine min 0.395 med 0.943 flagged 101/120 (0.82: 108, 0.9: 85)
    other benchmark    120  overlap max 0.000  cosine max 0.685          flagged 0/120
    run task          2613  overlap max 0.000  cosine max 0.810          flagged 0/2613 (0.8: 2, 0.75: 6)
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
    queries = sorted({q for _, q, _ in labelled})
    vectors = dict(zip(queries, embed_cached(embedder, queries, Path(args.cache), "minilm")))
    results = []  # (label, words in the query, n-gram overlap, cosine)
    for label, query, source in labelled:
        pool, index, pool_vectors = pools[source]
        vector = vectors[query]
        results.append((label, len(query.split()), index.best(query)[0], float(np.max(pool_vectors @ vector))))
    print(f"n = {NGRAM}, thresholds: n-gram overlap {NGRAM_THRESHOLD}, cosine {COSINE_THRESHOLD}")
    for label in dict.fromkeys(r[0] for r in results):
        _print(label, [r for r in results if r[0] == label])
    _print(f"paraphrase {2 * NGRAM}+ words", [r for r in results if r[0] == "paraphrase" and r[1] >= 2 * NGRAM])


def _print(label: str, rows: list[tuple[str, int, float, float]]) -> None:
    overlaps, cosines = [r[2] for r in rows], [r[3] for r in rows]
    flagged = sum(o >= NGRAM_THRESHOLD or c >= COSINE_THRESHOLD for o, c in zip(overlaps, cosines))
    print(f"{label:22s} {len(rows):4d}  overlap {_spread(overlaps)}  cosine {_spread(cosines)}  "
          f"flagged {flagged}/{len(rows)}")
    print(" " * 28 + "cosine >= " + ", ".join(f"{t}: {sum(c >= t for c in cosines)}" for t in SWEEP))


SWEEP = (0.75, 0.8, 0.82, 0.85, 0.9)


def _spread(values) -> str:
    return f"min {min(values):.3f} med {statistics.median(values):.3f} max {max(values):.3f}"


if __name__ == "__main__":
    main()
