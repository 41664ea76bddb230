"""Tool kinds without an HTTP method: the verb rules against the learned model, by leave-provider-out CV.

    python benchmarks/bench_kinds.py [--tools RUN/tools.parquet | --corpus ../shared/data/openapi]
        [--folds 5] [--c 0.5] [--read-threshold 0.25] [--write]

Every OpenAPI / Swagger operation with a method is an example: the label is the kind its method
gives (``kinds.decide`` with the method: POST-for-search reads, RPC-style POSTs by their verbs), the
input is its name and description only. Operations are grouped by provider (the folder under the
corpus root: all of amazonaws.com is one group), and each fold holds out whole providers, so the
score is that of APIs the model never saw. ``--write`` then fits on every example and writes the
shipped model (``agentscaler/data/kind_model.json``). Needs scikit-learn (training only).

Prints accuracy per method class (read vs write: GET, PUT/PATCH/DELETE, both, POST), recall per
kind, and the false-write rate (labelled reads predicted as writes), for the rules and the model.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from sklearn.model_selection import GroupKFold

from agentscaler.envs.kind_model import KINDS, features, fit
from agentscaler.envs.kinds import decide

WRITE_METHODS = ("PUT", "PATCH", "DELETE")


def load(tools: Path) -> list[dict]:
    rows = pq.read_table(tools, columns=["name", "description", "http_method", "http_path", "source_file"])
    examples = []
    for r in rows.to_pylist():
        method = (r["http_method"] or "").upper()
        if method not in ("GET", "HEAD", "POST", *WRITE_METHODS):
            continue
        parts = Path(r["source_file"].split(":")[0]).parts
        provider = parts[parts.index("openapi") + 1] if "openapi" in parts else parts[0]
        rule = decide(r["name"], r["description"], learned=False)[0]
        examples.append({**r, "method": method, "provider": provider, "rule": rule,
                         "label": decide(r["name"], r["description"], method, r["http_path"])[0],
                         "features": features(r["name"], r["description"], rule)})
    return examples


def scores(examples: list[dict], predicted: list[str]) -> dict[str, float]:
    def read_write(select) -> float:
        pairs = [(e["label"] == "read", p == "read") for e, p in zip(examples, predicted) if select(e)]
        return sum(a == b for a, b in pairs) / max(len(pairs), 1)

    reads = [p for e, p in zip(examples, predicted) if e["label"] == "read"]
    out = {
        "GET": read_write(lambda e: e["method"] in ("GET", "HEAD")),
        "PUT/PATCH/DELETE": read_write(lambda e: e["method"] in WRITE_METHODS),
        "GET vs PUT/PATCH/DELETE": read_write(lambda e: e["method"] != "POST"),
        "POST": read_write(lambda e: e["method"] == "POST"),
        "kind (4-way)": sum(e["label"] == p for e, p in zip(examples, predicted)) / len(examples),
    }
    for kind in KINDS:
        of_kind = [p == kind for e, p in zip(examples, predicted) if e["label"] == kind]
        out[f"recall {kind}"] = sum(of_kind) / max(len(of_kind), 1)
    out["false writes (reads called writes)"] = sum(p != "read" for p in reads) / max(len(reads), 1)
    return out


def cross_validate(examples: list[dict], folds: int, c: float, read_threshold: float) -> list[str]:
    predicted = [""] * len(examples)
    groups = [e["provider"] for e in examples]
    for train, test in GroupKFold(folds).split(examples, groups=groups):
        model = fit([examples[i]["features"] for i in train], [examples[i]["label"] for i in train], c=c,
                    read_threshold=read_threshold)
        for i in test:
            predicted[i] = model.predict(examples[i]["features"])
    return predicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", type=Path, help="tools.parquet of an ingested OpenAPI corpus")
    parser.add_argument("--corpus", type=Path, default=Path("../shared/data/openapi"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--c", type=float, default=0.5, help="inverse L2 strength of the logistic regression")
    parser.add_argument("--read-threshold", type=float, default=0.25)
    parser.add_argument("--write", action="store_true", help="fit on everything and write the shipped model")
    args = parser.parse_args()
    tools = args.tools
    if tools is None:
        from agentscaler.ingest.driver import ingest

        tools = Path(ingest([args.corpus], tempfile.mkdtemp(prefix="bench-kinds-")).out_dir) / "tools.parquet"
    examples = load(tools)
    print(f"{len(examples)} operations, {len({e['provider'] for e in examples})} providers, "
          f"methods {dict(Counter(e['method'] for e in examples))}, labels {dict(Counter(e['label'] for e in examples))}")
    before = scores(examples, [e["rule"] for e in examples])
    after = scores(examples, cross_validate(examples, args.folds, args.c, args.read_threshold))
    print(f"\n{'leave-provider-out, ' + str(args.folds) + ' folds':<40}{'rules':>10}{'model':>10}")
    for key in before:
        print(f"{key:<40}{before[key]:>10.4f}{after[key]:>10.4f}")
    if args.write:
        model = fit([e["features"] for e in examples], [e["label"] for e in examples], c=args.c,
                    read_threshold=args.read_threshold)
        model.save()
        print(f"\nwrote the model: {len(model.weights)} features")


if __name__ == "__main__":
    main()
