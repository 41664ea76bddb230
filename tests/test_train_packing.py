"""Packing: rows of fixed length, no attention across packed sequences, little padding."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from agentscaler.llm.tiny import build_tiny_model
from agentscaler.train.data import AllMaskedError, tokenize_trajectory
from agentscaler.train.packing import check_trainable, first_fit_decreasing, pack, packed_forward
from train_helpers import TOOLS, trajectory


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


def fake(length: int, trained: bool = True) -> dict:
    ids = list(range(1, length + 1))
    return {"input_ids": ids, "labels": list(ids) if trained else [-100] * length}


def test_first_fit_decreasing_fills_bins_within_capacity():
    bins = first_fit_decreasing([5, 3, 7, 2, 4, 1], capacity=8)
    assert sorted(i for b in bins for i in b) == list(range(6))
    assert all(sum([5, 3, 7, 2, 4, 1][i] for i in b) <= 8 for b in bins)
    assert len(bins) == 3  # 22 tokens need at least 3 bins of 8


def test_rows_restart_positions_and_mask_each_sequences_first_label():
    rows, stats = pack([fake(3), fake(2), fake(4)], seq_len=5)
    assert all(len(row[key]) == 5 for row in rows for key in ("input_ids", "labels", "position_ids"))
    by_content = {tuple(row["input_ids"]): row for row in rows}
    two_three = by_content[(1, 2, 3, 1, 2)]
    assert two_three["position_ids"] == [0, 1, 2, 0, 1]
    assert two_three["labels"] == [-100, 2, 3, -100, 2]
    four = by_content[(1, 2, 3, 4, 0)]
    assert four["labels"][-1] == -100 and four["position_ids"] == [0, 1, 2, 3, 0]
    assert (stats.rows, stats.tokens, stats.padding) == (2, 9, 1)
    assert stats.padding_waste == pytest.approx(0.1)


def test_too_long_sequences_are_truncated_and_empty_ones_dropped():
    rows, stats = pack([fake(12), fake(3, trained=False), fake(4)], seq_len=8)
    assert (stats.truncated, stats.dropped) == (1, 1)
    assert sum(len([p for p in row["position_ids"] if p == 0]) for row in rows) >= 2
    with pytest.raises(AllMaskedError):
        pack([fake(3, trained=False)], seq_len=8)


def test_an_all_masked_batch_is_an_error():
    check_trainable(torch.tensor([[-100, 5]]))
    with pytest.raises(AllMaskedError, match="every label is masked"):
        check_trainable(torch.tensor([[-100, -100], [-100, -100]]))


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_a_packed_sequence_sees_only_itself(tiny_dir, attention):
    """Logits of each sequence inside a packed row equal its logits alone."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir, attn_implementation=attention).eval()
    sequences = [vars(tokenize_trajectory(tokenizer, trajectory(order, other), TOOLS))
                 for order, other in (("A1", "B2"), ("C33", "D4"))]
    sequences.append({"input_ids": sequences[0]["input_ids"][:40], "labels": sequences[0]["labels"][:40]})
    seq_len = sum(len(s["input_ids"]) for s in sequences) + 7
    rows, _ = pack(sequences, seq_len, pad_token_id=tokenizer.pad_token_id)
    assert len(rows) == 1
    row = rows[0]
    with torch.no_grad():
        batch = {key: torch.tensor([row[key]]) for key in ("input_ids", "position_ids")}
        packed = packed_forward(model, batch).logits[0]
        starts = [i for i, p in enumerate(row["position_ids"]) if p == 0]
        for start, end in zip(starts, starts[1:]):
            alone = model(input_ids=torch.tensor([row["input_ids"][start:end]])).logits[0]
            torch.testing.assert_close(packed[start:end], alone, rtol=1e-4, atol=1e-4)
