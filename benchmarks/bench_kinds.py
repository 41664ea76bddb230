"""Tool kinds without an HTTP method: the verb rules against the learned model, by held-out cross-validation.

    python benchmarks/bench_kinds.py [--tools RUN/tools.parquet | --corpus ../shared/data/openapi]
        [--labelled benchmarks/data/kinds_methodless.jsonl] [--labelled-weight 5] [--folds 5] [--c 0.5]
        [--read-threshold 0.25] [--write]

Two kinds of examples train the model. Every OpenAPI / Swagger operation with a method: its label is the kind
its method gives (``kinds.decide`` with the method: POST-for-search reads, RPC-style POSTs by their verbs).
And the hand-labelled method-less tools of ``--labelled`` (ToolBench, BFCL; see benchmarks/data/README.md),
each weighing ``--labelled-weight`` operations: they are the tools the model is for, and their corpora say
words differently (a RapidAPI endpoint named ``climate_change_news`` changes nothing). The input is a tool's
name, description and corpus only.

Two scores, each on examples the model never saw:
- OpenAPI, leave-provider-out (all of amazonaws.com is one provider): accuracy per method class (read vs
  write: GET, PUT/PATCH/DELETE, both, POST), recall per kind, and the false-write rate.
- The labelled method-less tools, held out by provider (a ToolBench tool's provider, a BFCL name): per
  corpus, the precision and recall of "write" and the share of writes given their right kind, weighted back
  to the corpus by each sampling stratum's size. And the labels' other column: which tools compute their
  answer from their arguments, against ``envs.compute.computes`` (no learning there).

``--write`` then fits on every example and writes the shipped model (``agentscaler/data/kind_model.json``).
Needs scikit-learn (training only).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from sklearn.model_selection import GroupKFold

from agentscaler.envs.compute import computes
from agentscaler.envs.kind_model import KINDS, features, fit
from agentscaler.envs.kinds import decide
from agentscaler.toolspec import ToolSpec

WRITE_METHODS = ("PUT", "PATCH", "DELETE")
LABELLED = Path(__file__).resolve().parent / "data" / "kinds_methodless.jsonl"


def example(name: str, description: str, source: str, label: str, group: str, **extra) -> dict:
    """One training example: the rules' answer and the model's features, as ``kinds.decide`` makes them."""
    rule = decide(name, description, learned=False)[0]
    found = features(name, description, rule, source)
    return {**extra, "name": name, "source": source, "rule": rule, "label": label, "group": group, "features": found}


def load(tools: Path) -> list[dict]:
    rows = pq.read_table(tools, columns=["name", "description", "http_method", "http_path", "source_file"])
    examples = []
    for r in rows.to_pylist():
        method = (r["http_method"] or "").upper()
        if method not in ("GET", "HEAD", "POST", *WRITE_METHODS):
            continue
        parts = Path(r["source_file"].split(":")[0]).parts
        provider = parts[parts.index("openapi") + 1] if "openapi" in parts else parts[0]
        label = decide(r["name"], r["description"], method, r["http_path"])[0]
        # no corpus feature: a tool of a corpus with no labelled examples (openai, mcp) is judged as these are
        examples.append(example(r["name"], r["description"], "", label, provider, method=method))
    return examples


def load_labelled(path: Path) -> list[dict]:
    """The hand-labelled method-less tools, ``unclear`` ones left out."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    sampled = Counter(r["stratum"] for r in rows)
    return [example(r["name"], r["description"], r["source"], r["kind"],
                    r["toolkit"] if r["source"] == "toolbench" else r["name"].rstrip("_0123456789"),
                    stratum=r["stratum"], weight=r["stratum_size"] / sampled[r["stratum"]], computes=r["computes"],
                    spec=ToolSpec.build(name=r["name"], description=r["description"], parameters=r["parameters"],
                                        source=r["source"], toolkit=r["toolkit"]))
            for r in rows if r["kind"] != "unclear"]


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


def corpus_scores(labelled: list[dict], predicted: list[str]) -> dict[str, float]:
    """Per corpus, weighted back by stratum: precision and recall of writes, and writes given their kind."""
    out = {}
    for source in sorted({e["source"] for e in labelled}):
        pairs = [(e, p) for e, p in zip(labelled, predicted) if e["source"] == source]
        called = sum(e["weight"] for e, p in pairs if p != "read")
        writes = sum(e["weight"] for e, p in pairs if e["label"] != "read")
        hits = sum(e["weight"] for e, p in pairs if p != "read" and e["label"] != "read")
        out[f"{source}: write precision"] = hits / max(called, 1e-9)
        out[f"{source}: write recall"] = hits / max(writes, 1e-9)
        out[f"{source}: writes of the right kind"] = sum(e["weight"] for e, p in pairs
                                                        if e["label"] != "read" and p == e["label"]) / writes
        out[f"{source}: tools called writes (of the corpus)"] = called
    return out


def compute_scores(labelled: list[dict]) -> dict[str, float]:
    """``envs.compute.computes`` against the labels, on the sample as drawn (the strata are by kind, not by this)."""
    said = [computes(e["spec"]) for e in labelled]
    hits = sum(s and e["computes"] for s, e in zip(said, labelled))
    return {"tools labelled computing": sum(e["computes"] for e in labelled), "computes() says so": sum(said),
            "precision": hits / max(sum(said), 1), "recall": hits / max(sum(e["computes"] for e in labelled), 1)}


def cross_validate(test: list[dict], rest: list[dict], folds: int, args) -> list[str]:
    """Predictions for ``test``, each from a model fit on ``rest`` and the other folds of ``test``, which are
    split by group (provider)."""
    predicted = [""] * len(test)
    for train, held in GroupKFold(folds).split(test, groups=[e["group"] for e in test]):
        model = train_model(rest + [test[i] for i in train], args)
        for i in held:
            predicted[i] = model.predict(test[i]["features"])
    return predicted


def train_model(examples: list[dict], args):
    weights = [args.labelled_weight if "stratum" in e else 1.0 for e in examples]
    return fit([e["features"] for e in examples], [e["label"] for e in examples], c=args.c,
               read_threshold=args.read_threshold, weights=weights)


def table(title: str, before: dict[str, float], after: dict[str, float]) -> None:
    print(f"\n{title:<48}{'rules':>10}{'model':>10}")
    for key in before:
        fmt = ".0f" if "(of the corpus)" in key else ".4f"
        print(f"{key:<48}{before[key]:>10{fmt}}{after[key]:>10{fmt}}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", type=Path, help="tools.parquet of an ingested OpenAPI corpus")
    parser.add_argument("--corpus", type=Path, default=Path("../shared/data/openapi"))
    parser.add_argument("--labelled", type=Path, default=LABELLED, help="hand-labelled method-less tools")
    parser.add_argument("--labelled-weight", type=float, default=5.0,
                        help="how many OpenAPI operations one labelled method-less tool weighs")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--c", type=float, default=0.5, help="inverse L2 strength of the logistic regression")
    parser.add_argument("--read-threshold", type=float, default=0.25)
    parser.add_argument("--write", action="store_true", help="fit on everything and write the shipped model")
    args = parser.parse_args()
    tools = args.tools
    if tools is None:
        from agentscaler.ingest.driver import ingest

        tools = Path(ingest([args.corpus], tempfile.mkdtemp(prefix="bench-kinds-")).out_dir) / "tools.parquet"
    examples, labelled = load(tools), load_labelled(args.labelled)
    print(f"{len(examples)} operations, {len({e['group'] for e in examples})} providers, "
          f"methods {dict(Counter(e['method'] for e in examples))}, labels {dict(Counter(e['label'] for e in examples))}")
    print(f"{len(labelled)} labelled method-less tools, {dict(Counter((e['source'], e['label']) for e in labelled))}")
    table(f"OpenAPI, leave-provider-out, {args.folds} folds", scores(examples, [e["rule"] for e in examples]),
          scores(examples, cross_validate(examples, labelled, args.folds, args)))
    table(f"method-less, held out by provider, {args.folds} folds",
          corpus_scores(labelled, [e["rule"] for e in labelled]),
          corpus_scores(labelled, cross_validate(labelled, examples, args.folds, args)))
    print("\ntools that compute (envs.compute.computes) against the labels:",
          ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in compute_scores(labelled).items()))
    if args.write:
        model = train_model(examples + labelled, args)
        model.save()
        print(f"\nwrote the model: {len(model.weights)} features")


if __name__ == "__main__":
    main()
