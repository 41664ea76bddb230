"""The loss mask: only the agent's turns are trained, token-exact, on Qwen3's real chat template."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer

from agentscaler.llm.tiny import build_tiny_model
from agentscaler.train.cli import export_tokens
from agentscaler.train.data import AllMaskedError, tokenize_trajectory
from train_helpers import TOOLS, agent_spans, call, export_row, tool_reply, trajectory


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def tokenizer(tiny_dir):
    return AutoTokenizer.from_pretrained(tiny_dir)


def tool_call_block(name: str, **arguments) -> str:
    return f'<tool_call>\n{{"name": "{name}", "arguments": {json.dumps(arguments)}}}\n</tool_call>'


def test_only_the_agents_turns_are_trained(tokenizer):
    sequence = tokenize_trajectory(tokenizer, trajectory("A17", "B22"), TOOLS)

    assert agent_spans(tokenizer, sequence.input_ids, sequence.labels) == [
        # the earlier turn's <think> is dropped by the template, so it is not trained either
        tool_call_block("get_order", order_id="A17") + "<|im_end|>",
        "Order A17 has shipped.<|im_end|>",
        # parallel calls: one turn, two blocks
        tool_call_block("cancel_order", order_id="A17") + "\n" + tool_call_block("cancel_order", order_id="B22")
        + "<|im_end|>",
        # the template's empty think block before the last turn is prompt, as at inference
        "A17 is cancelled; B22 was already delivered.<|im_end|>",
    ]


def test_every_turn_is_trained_after_the_prompt_inference_gives_it(tokenizer):
    """The full rendering, cut at turn boundaries, with inference's thinking-off generation prompt
    (the empty think block) before every agent turn: no other character changes."""
    messages = trajectory()
    sequence = tokenize_trajectory(tokenizer, messages, TOOLS)
    rendered = tokenizer.apply_chat_template(messages, tools=TOOLS, tokenize=False)
    empty_think, header = "<think>\n\n</think>\n\n", "<|im_start|>assistant\n"
    expected = rendered.replace(header + empty_think, header).replace(header, header + empty_think)
    assert tokenizer.decode(sequence.input_ids) == expected
    ids, labels = sequence.input_ids, sequence.labels
    starts = [i for i in range(1, len(ids)) if labels[i] != -100 and labels[i - 1] == -100]
    for turn, start in enumerate(starts):  # each turn's context ends as inference's prompt for that turn does
        before = messages[: [i for i, m in enumerate(messages) if m["role"] == "assistant"][turn]]
        prompt = tokenizer.apply_chat_template(before, tools=TOOLS, tokenize=False, add_generation_prompt=True,
                                               enable_thinking=False)
        assert tokenizer.decode(ids[:start]).endswith(prompt[prompt.rindex(header):])
    thinking = tokenize_trajectory(tokenizer, messages, TOOLS, thinking=True)
    assert tokenizer.decode(thinking.input_ids) == rendered
    masked = tokenizer.decode([t for t, label in zip(sequence.input_ids, sequence.labels) if label == -100])
    for hidden in ("You are a helpful shop assistant.", "# Tools", "Where is my order", "<tool_response>",
                   '"status": "shipped"', "already delivered\"}", "Cancel A17 and B22"):
        assert hidden in masked


def test_consecutive_tool_responses_stay_masked_whatever_their_number(tokenizer):
    messages = [
        {"role": "user", "content": "Check A1, A2 and A3."},
        {"role": "assistant", "content": "", "tool_calls": [call(f"c{i}", "get_order", order_id=f"A{i}")
                                                             for i in (1, 2, 3)]},
        *[tool_reply(f"c{i}", "get_order", f'{{"order_id": "A{i}"}}') for i in (1, 2, 3)],
        {"role": "assistant", "content": "All three found."},
    ]
    sequence = tokenize_trajectory(tokenizer, messages, TOOLS)
    spans = agent_spans(tokenizer, sequence.input_ids, sequence.labels)
    assert len(spans) == 2
    assert spans[0].count("<tool_call>") == 3 and "<tool_response>" not in "".join(spans)
    assert spans[1].endswith("All three found.<|im_end|>")


def test_generated_token_ids_replace_the_retokenized_body(tokenizer):
    """Where the rollout kept the ids it generated, the trainer sees those ids, not a re-tokenization."""
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello world"},
                {"role": "user", "content": "bye"}, {"role": "assistant", "content": "Bye"}]
    # "Hello world" spelled one character a token: same text, other ids than BPE would choose
    per_char = [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(ch))[0] for ch in "Hello"]
    per_char += tokenizer.encode(" world", add_special_tokens=False)
    sequence = tokenize_trajectory(tokenizer, messages, None, assistant_token_ids=[per_char, None])
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    trained = [t for t, label in zip(sequence.input_ids, sequence.labels) if label != -100]
    assert trained[: len(per_char) + 1] == per_char + [im_end]
    assert per_char != tokenizer.encode("Hello world", add_special_tokens=False)
    # ids that spell other text than the template rendered are not trusted
    other = tokenize_trajectory(tokenizer, messages, None, assistant_token_ids=[per_char[:2], None])
    assert agent_spans(tokenizer, other.input_ids, other.labels)[0] == "Hello world<|im_end|>"


def test_a_trajectory_without_agent_output_is_an_error(tokenizer):
    with pytest.raises(AllMaskedError, match="every label is masked"):
        tokenize_trajectory(tokenizer, [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], TOOLS)


def test_export_tokens_writes_one_decodable_sequence_a_row(tokenizer, tiny_dir, tmp_path):
    rows = [export_row("t0-r0", "general"), export_row("t1-r0", "vertical", trajectory("C3", "D4"))]
    out = tmp_path / "tokens.parquet"
    assert export_tokens(rows, tiny_dir, out) == 2
    table = pq.read_table(out).to_pylist()
    assert [row["rollout_id"] for row in table] == ["t0-r0", "t1-r0"]
    second = table[1]
    assert len(second["input_ids"]) == len(second["labels"])
    assert agent_spans(tokenizer, second["input_ids"], second["labels"])[1] == "Order C3 has shipped.<|im_end|>"
