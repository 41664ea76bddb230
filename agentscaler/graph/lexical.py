"""Lexical tool vectors: the words a tool's name and its parameter names are made of.

Operations of one API share nouns in their names (``createInvoice``, ``listInvoices``) and the
identifiers they pass around (``account_id``, ``project``), often more reliably than their
descriptions share meaning: on held-out sets of real OpenAPI specs, semantic neighbours alone
recover the APIs at ARI 0.4-0.5 and adding these words brings it near 0.7 (benchmarks/
bench_partition.py). Words are weighted by TF-IDF over the corpus being partitioned, so ``get``,
``id`` and ``list`` count for little, and hashed into a fixed number of signed dimensions: a dense
row per tool that faiss searches beside the semantic vector, with no vocabulary to keep.
"""

from __future__ import annotations

import re

import numpy as np

from agentscaler.graph.embedders import split_identifier
from agentscaler.toolspec import ToolSpec

_WORD = re.compile(r"[a-z][a-z0-9]+")


def name_words(name: str) -> list[str]:
    """Lower-case words of an identifier, plural ``s`` dropped (``listInvoices`` -> list, invoice)."""
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in _WORD.findall(split_identifier(name).lower())]


def lexical_tokens(tool: ToolSpec) -> list[str]:
    """Words of the tool's name, and each parameter name both whole and as words."""
    tokens = name_words(tool.name)
    for parameter in (tool.parameters.get("properties") or {}):
        words = name_words(parameter)
        tokens.extend(words)
        if len(words) > 1:
            tokens.append("_".join(words))
    return tokens


def lexical_vectors(tools: list[ToolSpec], dim: int) -> np.ndarray:
    """One L2-normalized, TF-IDF weighted, signed-hashed row per tool (zeros for a tool with no words)."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    counts = HashingVectorizer(analyzer=lexical_tokens, n_features=dim, norm=None).transform(tools)
    counts.eliminate_zeros()  # words whose signs cancelled in one slot: log(0) below
    weights = TfidfTransformer(sublinear_tf=True).fit_transform(abs(counts)).multiply(counts.sign())
    return np.asarray(weights.toarray(), dtype=np.float32)
