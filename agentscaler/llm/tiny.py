"""A tiny random-weight Qwen3 that every stage's tests can load like a real checkpoint.

Tests and the offline demo need a model that goes through exactly the code paths a real Qwen3
does (``from_pretrained``, Qwen3's chat template with tools, ``<tool_call>`` parsing, token ids)
without downloading anything. So the tokenizer is trained here, in seconds, on the API corpus that
ships with the package, with Qwen3's special tokens and Qwen3's own chat template; the model is a
Qwen3 (or Qwen3-MoE) config shrunk to a few hundred thousand parameters with seeded random
weights. Its output is noise, but well-formed noise: any stage that works on it works on Qwen3.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Iterator

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import (AutoModelForCausalLM, AutoTokenizer, GenerationConfig, PreTrainedTokenizerFast, Qwen3Config,
                          Qwen3MoeConfig)

from agentscaler.llm.render import render_prompt

# Qwen3's added tokens: the first three are special (dropped by skip_special_tokens); the markup
# tokens are not, so decoded text keeps them and the tool-call parser can see them.
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MARKUP_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]
# Qwen2/Qwen3's pre-tokenizer split (tokenizer.json), so words and digits split as in the real one.
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
              r"|\s*[\r\n]+|\s+(?!\S)|\s+")
VOCAB_SIZE = 3000
MAX_POSITIONS = 4096


def chat_template() -> str:
    """Qwen3's chat template (Apache-2.0, Qwen team), as shipped in Qwen/Qwen3-0.6B; see SOURCES.md."""
    return (files("agentscaler.llm") / "qwen3_chat_template.jinja").read_text()


def _training_texts() -> Iterator[str]:
    """The embedded sample corpus (API names, descriptions, JSON) and the chat template's own text."""
    from agentscaler.ingest import sample_sources

    for path in sample_sources():
        with path.open() as handle:
            yield from handle
    yield chat_template()


def build_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on the sample corpus, with Qwen3's special tokens and chat template."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_training_texts(), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        model_max_length=MAX_POSITIONS, clean_up_tokenization_spaces=False)
    wrapped.add_tokens(MARKUP_TOKENS)  # added, not special, as in Qwen3
    wrapped.chat_template = chat_template()
    return wrapped


def model_config(tokenizer: PreTrainedTokenizerFast, *, moe: bool) -> Qwen3Config | Qwen3MoeConfig:
    """Qwen3 shrunk: hidden 64, 2 layers, 4 query heads over 2 kv heads of 16, tied embeddings."""
    common = dict(
        vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=MAX_POSITIONS, tie_word_embeddings=True,
        bos_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    if moe:
        # 4 experts, top-2, router logits returned so the load-balancing aux loss is part of the loss.
        return Qwen3MoeConfig(**common, intermediate_size=128, moe_intermediate_size=32, num_experts=4,
                              num_experts_per_tok=2, norm_topk_prob=True, output_router_logits=True)
    return Qwen3Config(**common, head_dim=16, intermediate_size=128)


def build_tiny_model(out_dir: str | os.PathLike, *, moe: bool = False, seed: int = 0) -> Path:
    """Save a random-weight Qwen3 (or Qwen3-MoE) and its tokenizer to ``out_dir``; return the path.

    The same seed gives the same weights, so tests that compare generations are reproducible.
    """
    out = Path(out_dir)
    tokenizer = build_tokenizer()
    config = model_config(tokenizer, moe=moe)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    # Stop at <|im_end|> (end of turn) or <|endoftext|>, as Qwen3's generation_config does.
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.eos_token_id, tokenizer.pad_token_id], pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.pad_token_id)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def teach_tiny_model(model_dir: str | os.PathLike, out_dir: str | os.PathLike,
                     examples: list[tuple[list[dict], list[dict] | None, str]], *, steps: int = 60, lr: float = 1e-2,
                     seed: int = 0) -> Path:
    """Overfit a tiny model on (messages, tools, reply) examples so greedy decoding gives those replies.

    A random model only emits noise; tests of tool-call plumbing (a server's ``tool_calls``, an
    agent's calls reaching the simulator) need a real model that emits a real ``<tool_call>``.
    Each reply is learnt after its rendered prompt, ending with ``<|im_end|>``; seconds on CPU.
    """
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    batches = []
    for messages, tools, reply in examples:
        prompt = tokenizer(render_prompt(tokenizer, messages, tools), add_special_tokens=False)["input_ids"]
        target = tokenizer(reply + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        batches.append((torch.tensor([prompt + target]), torch.tensor([[-100] * len(prompt) + target])))
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        for input_ids, labels in batches:  # each example's mean loss counts in full, however long its prompt
            model(input_ids=input_ids, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
