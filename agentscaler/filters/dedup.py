"""Deduplication of the kept set: exact copies and near copies, so training does not pay for them twice.

- Exact duplicate: the same training example, message for message (roles, contents lowercased with
  runs of whitespace collapsed, calls by name and normalized arguments, tool results; call ids
  ignored, they are random) with the same tools.
- Near duplicate: within one domain and the same sequence of call names (the values may differ),
  an estimated Jaccard similarity of the dialogues' word ``shingle_words``-grams (user and assistant
  text and the calls; tool results, which follow from the calls and the state, left out) of at least
  ``near_duplicate_threshold``. Similarity is estimated by MinHash (``minhash_permutations``
  permutations, error ~ 1/sqrt of that), candidates found by LSH banding (``minhash_bands`` bands),
  so each row is compared with a handful of others, never with all.

Signatures are computed by a Ray Data transform (``DedupKeys``, in parallel, next to the filters);
the index (``DedupIndex``) sees rows one by one in the pipeline's (deterministic) order and keeps
the first of each group, so it runs on the driver over hashes and signatures only.
"""

from __future__ import annotations

import re
import zlib
from hashlib import blake2b

import numpy as np
import pyarrow as pa

from agentscaler.failures import Failure
from agentscaler.filters.config import FilterConfig
from agentscaler.filters.stage import column, with_columns
from agentscaler.filters.trajectory import Trajectory, parse

_PRIME = (1 << 31) - 1
_WORD = re.compile(r"\w+")
KEY_TYPES = {"exact_key": pa.string(), "dedup_block": pa.string(), "minhash": pa.list_(pa.int64())}


def dialogue_lines(trajectory: Trajectory, tool_results: bool) -> list[str]:
    """The dialogue as normalized lines, with or without the tool results' text."""
    calls: dict[int, list[str]] = {}
    for call, key in zip(trajectory.calls, trajectory.keys):
        calls.setdefault(call.message, []).append(f"call: {key}")
    lines = []
    for i, m in enumerate(trajectory.messages):
        content = m.get("content") if tool_results or m.get("role") != "tool" else None
        lines.append(f"{m.get('role')}: " + (" ".join(content.lower().split()) if isinstance(content, str) else ""))
        lines.extend(calls.get(i, ()))
    return lines


class MinHasher:
    """MinHash signatures of word-shingle sets, with fixed permutations (the same in every worker)."""

    def __init__(self, config: FilterConfig):
        rng = np.random.default_rng(20250101)
        self.n = config.shingle_words
        self.a = rng.integers(1, _PRIME, config.minhash_permutations, dtype=np.uint64)[:, None]
        self.b = rng.integers(0, _PRIME, config.minhash_permutations, dtype=np.uint64)[:, None]

    def signature(self, text: str) -> list[int]:
        words = _WORD.findall(text.lower())
        grams = {" ".join(words[i:i + self.n]) for i in range(max(len(words) - self.n + 1, 1))}
        hashes = np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))
        return ((self.a * hashes[None, :] + self.b) % _PRIME).min(axis=1).tolist()


class DedupKeys:
    """Ray Data batch transform: ``exact_key``, ``dedup_block`` and ``minhash`` for the rows still kept."""

    def __init__(self, config: FilterConfig | None = None):
        self.config = config or FilterConfig()

    def __call__(self, batch: pa.Table) -> pa.Table:
        hasher = MinHasher(self.config)
        stages, messages, domains = column(batch, "stage"), column(batch, "messages"), column(batch, "domain_id")
        tool_lists = column(batch, "tools")
        keys = {name: [None] * batch.num_rows for name in KEY_TYPES}
        for i, (stage, text, tools, domain) in enumerate(zip(stages, messages, tool_lists, domains)):
            if stage is not None:
                continue
            trajectory = parse(text)
            example = "\n".join([tools or "", *dialogue_lines(trajectory, tool_results=True)])
            keys["exact_key"][i] = blake2b(example.encode(), digest_size=16).hexdigest()
            keys["dedup_block"][i] = f"{domain}:" + ",".join(str(c.name) for c in trajectory.calls)
            keys["minhash"][i] = hasher.signature(" ".join(dialogue_lines(trajectory, tool_results=False)))
        return with_columns(batch, keys, KEY_TYPES)


class DedupIndex:
    """The kept set seen so far; ``check`` says why a new row duplicates one of them, or None and adds it."""

    def __init__(self, config: FilterConfig | None = None):
        self.config = config or FilterConfig()
        self.rows_per_band = self.config.minhash_permutations // self.config.minhash_bands
        self.exact: dict[str, str] = {}
        self.buckets: dict[tuple, list[int]] = {}
        self.kept: list[tuple[str, np.ndarray]] = []

    def check(self, rollout_id: str, exact_key: str, block: str, minhash: list[int]) -> str | None:
        if exact_key in self.exact:
            return str(Failure("exact_duplicate", f"the same dialogue and calls as {self.exact[exact_key]}"))
        signature = np.asarray(minhash, dtype=np.int64)
        r = self.rows_per_band
        bands = [(block, band, signature[band * r:(band + 1) * r].tobytes())
                 for band in range(self.config.minhash_bands)]
        candidates = {k for band in bands for k in self.buckets.get(band, ())}
        for k in sorted(candidates):
            other_id, other = self.kept[k]
            similarity = float(np.mean(signature == other))
            if similarity >= self.config.near_duplicate_threshold:
                return str(Failure("near_duplicate", f"estimated Jaccard {similarity:.2f} with {other_id} "
                                                     f"(same calls {block.split(':', 1)[1] or 'none'})"))
        self.exact[exact_key] = rollout_id
        for band in bands:
            self.buckets.setdefault(band, []).append(len(self.kept))
        self.kept.append((rollout_id, signature))
        return None
