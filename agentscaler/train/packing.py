"""Pack variable-length sequences into fixed-length rows that attend only within themselves.

Trajectories vary from a few hundred to many thousand tokens; padding each batch to its longest
wastes most of the compute. Sequences are placed first-fit-decreasing into rows of ``seq_len``
tokens and flattened with transformers' ``DataCollatorWithFlattening``: position ids restart at 0
for every sequence, and the first label of each is masked so no sequence learns to predict the
next one's first token. Called without an ``attention_mask``, transformers' masking
(``find_packed_sequence_indices``) reads the restarts and builds a block-diagonal causal mask for
sdpa/eager, and flash-attention reads them as sequence boundaries: nothing attends across
sequences. It does so only when the forward pass has no KV cache, hence ``packed_forward``'s
``use_cache=False`` (with a cache, the mask silently stays plain causal and sequences leak into
each other). Each row's tail is padding, its own "sequence" with masked labels.

    rows, stats = pack(sequences, seq_len=4096)    # sequences: [{"input_ids": [...], "labels": [...]}]
    stats.padding_waste                            # fraction of row tokens that are padding
    output = packed_forward(model, batch)          # batch: tensors of those rows
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

from transformers import DataCollatorWithFlattening

from agentscaler.train.data import IGNORE_INDEX, AllMaskedError

_flatten = DataCollatorWithFlattening(return_tensors="np")


@dataclass
class PackStats:
    """What packing did to the data."""

    sequences: int
    rows: int
    tokens: int            # real tokens placed in rows
    padding: int           # padding tokens
    truncated: int         # sequences cut to seq_len
    dropped: int           # sequences left with no trained token after truncation

    @property
    def padding_waste(self) -> float:
        return self.padding / max(self.tokens + self.padding, 1)


def first_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Indices grouped into bins whose lengths sum to at most ``capacity``, longest first."""
    bins: list[list[int]] = []
    free: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        slot = next((b for b, room in enumerate(free) if room >= lengths[index]), None)
        if slot is None:
            bins.append([])
            free.append(capacity)
            slot = len(bins) - 1
        bins[slot].append(index)
        free[slot] -= lengths[index]
    return bins


def pack(sequences: list[dict], seq_len: int, *, pad_token_id: int = 0, seed: int = 0) -> tuple[list[dict], PackStats]:
    """Rows of exactly ``seq_len`` tokens (``input_ids``, ``labels``, ``position_ids``; ``tokens``: how many are not
    padding), in seeded random order."""
    kept, truncated, dropped = [], 0, 0
    for sequence in sequences:
        if len(sequence["input_ids"]) > seq_len:
            truncated += 1
            sequence = {"input_ids": sequence["input_ids"][:seq_len], "labels": sequence["labels"][:seq_len]}
        if all(label == IGNORE_INDEX for label in sequence["labels"][1:]):
            dropped += 1
            continue
        kept.append({"input_ids": list(sequence["input_ids"]), "labels": list(sequence["labels"])})
    if not kept:
        raise AllMaskedError(f"none of {len(sequences)} sequences has a trained token within {seq_len} tokens")
    bins = first_fit_decreasing([len(s["input_ids"]) for s in kept], seq_len)
    random.Random(seed).shuffle(bins)
    rows = [_row([kept[i] for i in members], seq_len, pad_token_id) for members in bins]
    tokens = sum(len(s["input_ids"]) for s in kept)
    stats = PackStats(len(sequences), len(rows), tokens, len(rows) * seq_len - tokens, truncated, dropped)
    return rows, stats


def _row(members: list[dict], seq_len: int, pad_token_id: int) -> dict:
    flat = _flatten(members)
    row = {key: flat[key][0].tolist() for key in ("input_ids", "labels", "position_ids")}
    row["tokens"] = len(row["input_ids"])
    padding = seq_len - row["tokens"]
    row["input_ids"] += [pad_token_id] * padding
    row["labels"] += [IGNORE_INDEX] * padding
    row["position_ids"] += list(range(padding))
    return row


def check_trainable(labels) -> None:
    """Raise on a batch whose labels are all masked: it would report a silent zero (or NaN) loss."""
    if not bool((labels != IGNORE_INDEX).any()):
        raise AllMaskedError("every label is masked in this batch: nothing to train on")


def packed_forward(model, batch: dict):
    """The model on packed rows: no attention mask and no cache, so transformers masks per sequence."""
    return model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], labels=batch.get("labels"),
                 use_cache=False)
