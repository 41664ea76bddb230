"""The tiny Qwen3 test models: built offline, loaded back like any checkpoint, prompting as Qwen3 does."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from agentscaler.cli import app
from agentscaler.llm.tiny import build_tiny_model
from agentscaler.llm.transformers_backend import TransformersBackend

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
CONVERSATION = [
    {"role": "system", "content": "You are a weather assistant."},
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call-0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call-0", "name": "get_weather", "content": '{"sky": "sunny"}'},
]


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("dense"), seed=0)


@pytest.fixture(scope="module")
def moe(tmp_path_factory):
    out = tmp_path_factory.mktemp("moe")
    result = CliRunner().invoke(app, ["tiny-model", "--out", str(out), "--moe", "--seed", "3"])
    assert result.exit_code == 0, result.output
    return out


def test_tokenizer_renders_qwen3_tool_prompts(dense):
    tokenizer = AutoTokenizer.from_pretrained(dense)
    text = tokenizer.apply_chat_template(CONVERSATION, tools=TOOLS, tokenize=False, add_generation_prompt=True,
                                         enable_thinking=False)
    assert text.startswith("<|im_start|>system\nYou are a weather assistant.\n\n# Tools\n")
    assert "<tools>\n" + json.dumps(TOOLS[0]) + "\n</tools>" in text
    assert ('<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
            '</tool_call><|im_end|>') in text
    assert '<|im_start|>user\n<tool_response>\n{"sky": "sunny"}\n</tool_response><|im_end|>' in text
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")  # thinking switched off
    thinking = tokenizer.apply_chat_template(CONVERSATION, tools=TOOLS, tokenize=False, add_generation_prompt=True)
    assert thinking.endswith("<|im_start|>assistant\n")


def test_tokenizer_keeps_qwen3_markers_whole_and_round_trips(dense):
    tokenizer = AutoTokenizer.from_pretrained(dense)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert 2000 <= len(tokenizer) <= 4200
    for marker in ("<|im_start|>", "<|im_end|>", "<think>", "</think>", "<tool_call>", "</tool_call>",
                   "<tool_response>", "</tool_response>", "<|endoftext|>"):
        assert len(tokenizer(marker)["input_ids"]) == 1, marker
    text = tokenizer.apply_chat_template(CONVERSATION, tools=TOOLS, tokenize=False)
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    # Markup survives skip_special_tokens (the parser needs it); turn markers do not.
    decoded = tokenizer.decode(tokenizer("<|im_start|><tool_call>x</tool_call><|im_end|>")["input_ids"],
                               skip_special_tokens=True)
    assert decoded == "<tool_call>x</tool_call>"


def test_dense_model_loads_and_runs(dense, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(dense)
    assert type(model).__name__ == "Qwen3ForCausalLM" and model.config.tie_word_embeddings
    assert model.config.hidden_size == 64 and model.config.num_hidden_layers == 2 and model.config.head_dim == 16
    ids = torch.tensor([[1, 5, 9, 42]])
    output = model(input_ids=ids, labels=ids)
    assert output.logits.shape == (1, 4, model.config.vocab_size) and torch.isfinite(output.loss)
    # The same seed gives the same weights; another seed does not.
    same = AutoModelForCausalLM.from_pretrained(build_tiny_model(tmp_path / "again", seed=0))
    other = AutoModelForCausalLM.from_pretrained(build_tiny_model(tmp_path / "other", seed=1))
    assert torch.equal(same(input_ids=ids).logits, output.logits)
    assert not torch.equal(other(input_ids=ids).logits, output.logits)


def test_moe_model_returns_router_aux_loss(moe):
    model = AutoModelForCausalLM.from_pretrained(moe)
    assert type(model).__name__ == "Qwen3MoeForCausalLM"
    assert model.config.num_experts == 4 and model.config.num_experts_per_tok == 2
    ids = torch.tensor([[1, 5, 9, 42, 7]])
    output = model(input_ids=ids, labels=ids)
    assert output.aux_loss is not None and output.aux_loss.item() > 0
    output.loss.backward()  # the aux loss reaches the router weights
    routers = [p for name, p in model.named_parameters() if "gate" in name and "experts" not in name]
    assert routers and all(p.grad is not None and p.grad.abs().sum() > 0 for p in routers)
    tokenizer = AutoTokenizer.from_pretrained(moe)
    assert "<tool_call>" in tokenizer.apply_chat_template(CONVERSATION, tools=TOOLS, tokenize=False)


def test_moe_model_serves_batched_chat(moe):
    backend = TransformersBackend(moe)

    async def three():
        return await asyncio.gather(*(backend.chat(CONVERSATION[:2], TOOLS, seed=i, temperature=1.0, max_tokens=6)
                                      for i in range(3)))

    replies = asyncio.run(three())
    backend.close()
    assert backend.batch_sizes == [3] and all(0 < len(r.token_ids) <= 6 for r in replies)
    assert len({tuple(r.token_ids) for r in replies}) == 3  # each row sampled with its own seed
