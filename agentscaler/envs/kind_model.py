"""Kinds where no HTTP method says them: a linear model learned from the operations that have one.

The 12k method-labelled operations of the OpenAPI corpus say which words mean read, create, update
or delete far better than a hand-written verb list: ``compute_backendServices_update`` updates
although ``compute`` is a read verb, ``Line_StopPoints`` reads. Their labels are the method-aware
kinds (``kinds.decide`` with the method: POST-for-search reads, RPC-style POSTs by their verbs).
The model is a multinomial logistic regression over binary features of the name and the opening of
the description (and the verb rules' own answer, so it learns where to trust them); it ships as
``agentscaler/data/kind_model.json`` (weights by feature, pruned and rounded: small, inspectable,
and no learning library at run time). A write is predicted only when the read probability falls
below the model's ``read_threshold``: a false write corrupts tasks, a false read only loses one.
``benchmarks/bench_kinds.py`` measures it by leave-provider-out cross-validation and writes the file.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from agentscaler.artifacts import write_json
from agentscaler.envs.naming import action_words, singular, tokens
from agentscaler.envs.spec import Kind

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "kind_model.json"
KINDS: tuple[Kind, ...] = ("read", "create", "update", "delete")
_TAG = re.compile(r"<[^>]+>")
OPENING_WORDS = 10
PRIOR_CORPORA = frozenset({"toolbench"})
"""Corpora whose tools' words mislead the model trained on OpenAPI, so their tools say their corpus. RapidAPI's
endpoints (ToolBench) are lookups named by what they return (``climate_change_news``, ``video_post_comments``):
of those the OpenAPI-trained model called writes, 24% were (benchmarks/data/README.md). Function-doc corpora
(BFCL, OpenAI tools, MCP) name actions as OpenAPI's operations do, and carry no such feature."""


def opening(description: str) -> str:
    """The description's first sentence, markup removed: what a summary says."""
    return _TAG.sub(" ", description or "").split(".")[0]


def features(name: str, description: str, rule: Kind, source: str = "") -> list[str]:
    """Binary features: name words (first and last marked), opening words (first marked), the rules' kind, and
    the corpus where it is one of ``PRIOR_CORPORA``."""

    name_words = [singular(w) for w in action_words(name)]
    text_words = [singular(w) for w in tokens(opening(description))[:OPENING_WORDS]]
    found = [f"n:{w}" for w in name_words] + [f"d:{w}" for w in text_words] + [f"rule:{rule}"]
    if name_words:
        found += [f"n0:{name_words[0]}", f"nl:{name_words[-1]}"]
    if text_words:
        found.append(f"d0:{text_words[0]}")
    if source in PRIOR_CORPORA:
        found.append(f"src:{source}")
    return sorted(set(found))


class KindModel:
    """Weights per feature, one per kind in ``KINDS`` order, plus a bias and the read threshold."""

    def __init__(self, weights: dict[str, list[float]], bias: list[float], read_threshold: float):
        self.weights, self.bias, self.read_threshold = weights, bias, read_threshold

    def probabilities(self, found: list[str]) -> list[float]:
        scores = list(self.bias)
        for f in found:
            for k, w in enumerate(self.weights.get(f, ())):
                scores[k] += w
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        return [e / sum(exps) for e in exps]

    def predict(self, found: list[str]) -> Kind:
        p = self.probabilities(found)
        if p[0] >= self.read_threshold:
            return "read"
        return KINDS[max(range(1, len(KINDS)), key=p.__getitem__)]

    def to_json(self) -> dict[str, Any]:
        return {"kinds": list(KINDS), "bias": self.bias, "read_threshold": self.read_threshold,
                "weights": dict(sorted(self.weights.items()))}

    def save(self, path: Path = MODEL_PATH) -> None:
        write_json(self.to_json(), path)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "KindModel":
        assert tuple(data["kinds"]) == KINDS, data["kinds"]
        return cls(data["weights"], data["bias"], data["read_threshold"])


@lru_cache(maxsize=1)
def shipped() -> KindModel | None:
    """The model shipped with the package, or None where the file is absent (the verb rules decide)."""
    return KindModel.from_json(json.loads(MODEL_PATH.read_text())) if MODEL_PATH.exists() else None


def fit(examples: list[list[str]], labels: list[Kind], *, c: float = 0.5, read_threshold: float = 0.25,
        min_weight: float = 0.1, weights: list[float] | None = None) -> KindModel:
    """Train on feature lists (needs scikit-learn, a training-time dependency: ``pip install scikit-learn``).

    Weights below ``min_weight`` in every kind are dropped and the rest rounded, to keep the file small."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform([dict.fromkeys(found, 1) for found in examples])
    model = LogisticRegression(C=c, max_iter=2000).fit(x, labels, sample_weight=weights)
    order = [list(model.classes_).index(k) for k in KINDS]
    weights = {}
    for j, name in enumerate(vectorizer.get_feature_names_out()):
        row = [round(float(model.coef_[k, j]), 3) for k in order]
        if max(map(abs, row)) >= min_weight:
            weights[name] = row
    return KindModel(weights, [round(float(model.intercept_[k]), 3) for k in order], read_threshold)
