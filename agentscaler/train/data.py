"""Trajectories to ``(input_ids, labels)``: the loss falls on the agent's own outputs only.

Why the mask is built here and not by a library: Qwen3's chat template has no ``{% generation %}``
markers, so ``return_assistant_tokens_mask`` (and TRL's ``assistant_only_loss``, built on it) fails
on it; it drops earlier turns' ``<think>`` blocks and gives the last turn an empty one, so rendering
the conversation message by message yields text that is not in the full rendering; and it folds
consecutive tool responses into one user turn. So the conversation is rendered once, whole, with
the tokenizer's own template and the trajectory's tools; each assistant turn's body is found in that
text (between the template's generation prompt and ``<|im_end|>``), and the text is tokenized in
segments cut at those boundaries. That is the cut inference makes: the prompt ends with the
generation prompt and the model generates the body, ``<|im_end|>`` included. Where the rollout kept
the generated token ids of a turn and they spell the same text, they replace the re-tokenized body.

Thinking off (the rollout backends' default), inference's prompt also ends with the template's empty
``<think>\n\n</think>\n\n``, but the full rendering shows that block before the last turn only. Left
as it is, the model would learn that after the empty block comes the final answer, never a tool call;
so the block goes into the (masked) prompt of every turn, where inference puts it.

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    seq = tokenize_trajectory(tokenizer, messages, tools)
    seq.input_ids, seq.labels          # labels: -100 except the agent's turns
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional

IGNORE_INDEX = -100
# ChatML closes every turn with this token; Qwen's templates (and many others) are ChatML.
TURN_END = "<|im_end|>"


class AllMaskedError(ValueError):
    """A sequence or batch with no trainable token: it would train on nothing and report loss 0."""


@dataclass
class TokenizedTrajectory:
    """One unpacked training sequence."""

    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(label != IGNORE_INDEX for label in self.labels)


def generation_prompt(tokenizer) -> str:
    """The text the template appends to ask for an assistant turn (Qwen3: ``<|im_start|>assistant\\n``)."""
    probe = [{"role": "user", "content": "x"}]
    bare = tokenizer.apply_chat_template(probe, tokenize=False)
    prompted = tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=True)
    if not prompted.startswith(bare) or prompted == bare:
        raise ValueError("the tokenizer's chat template has no generation prompt to find assistant turns by")
    return prompted[len(bare):]


def thinking_off_prefix(tokenizer) -> str:
    """What the template adds after the generation prompt when thinking is off (Qwen3: an empty think block)."""
    probe = [{"role": "user", "content": "x"}]
    on = tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=True)
    off = tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    return off[len(on):] if off.startswith(on) else ""


def assistant_spans(text: str, header: str, expected: int) -> list[tuple[int, int]]:
    """Character spans of each assistant turn's body in ``text``, ``TURN_END`` included."""
    spans, position = [], 0
    while (start := text.find(header, position)) != -1:
        body = start + len(header)
        end = text.find(TURN_END, body)
        if end == -1:
            raise ValueError(f"an assistant turn at character {start} is never closed by {TURN_END}")
        spans.append((body, end + len(TURN_END)))
        position = end
    if len(spans) != expected:
        raise ValueError(f"the rendered template shows {len(spans)} assistant turns, the messages {expected}: "
                         "the template is not ChatML-shaped, or a message's text contains the turn header")
    return spans


def tokenize_trajectory(
    tokenizer,
    messages: list[dict],
    tools: Optional[list[dict]] = None,
    assistant_token_ids: Optional[list[Optional[list[int]]]] = None,
    thinking: bool = False,
) -> TokenizedTrajectory:
    """Render ``messages`` with the tokenizer's template and tools; labels only on the assistant turns.

    ``thinking``: whether the agent runs with thinking on; off, each turn is trained after the prompt
    inference gives it, the template's empty think block included (see the module docstring)."""
    text = tokenizer.apply_chat_template(messages, tools=tools or None, tokenize=False)
    n_assistant = sum(message["role"] == "assistant" for message in messages)
    spans = assistant_spans(text, generation_prompt(tokenizer), n_assistant)
    generated = assistant_token_ids or [None] * n_assistant
    off = "" if thinking else thinking_off_prefix(tokenizer)
    input_ids: list[int] = []
    labels: list[int] = []
    position = 0
    for (start, end), kept in zip(spans, generated):
        if off and text.startswith(off, start):
            start += len(off)  # the template rendered the block itself (the last turn): it is prompt, not body
        prompt = _encode(tokenizer, text[position:start] if text[position:start].endswith(off) else
                         text[position:start] + off)
        body = _body_ids(tokenizer, text[start:end], kept)
        input_ids += prompt + body
        labels += [IGNORE_INDEX] * len(prompt) + body
        position = end
    tail = _encode(tokenizer, text[position:])
    input_ids += tail
    labels += [IGNORE_INDEX] * len(tail)
    sequence = TokenizedTrajectory(input_ids, labels)
    if not sequence.trained_tokens:
        raise AllMaskedError("the trajectory has no assistant turn to train on: every label is masked")
    return sequence


def _encode(tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False) if text else []


def _body_ids(tokenizer, body: str, generated: Optional[list[int]]) -> list[int]:
    """The generated ids where they spell the rendered body (no re-tokenization drift), else the body re-tokenized."""
    if generated:
        ids = list(generated)
        if tokenizer.decode(ids) == body[: -len(TURN_END)]:
            ids.append(tokenizer.convert_tokens_to_ids(TURN_END))
        if tokenizer.decode(ids) == body:
            return ids
    return _encode(tokenizer, body)


def tokenize_rows(rows: Iterable[dict[str, Any]], tokenizer) -> Iterator[dict[str, Any]]:
    """Exported rows (``messages``, ``tools``, optional ``assistant_token_ids`` as JSON text) to token rows."""
    for row in rows:
        kept = row.get("assistant_token_ids")
        sequence = tokenize_trajectory(
            tokenizer, json.loads(row["messages"]), json.loads(row["tools"] or "null"),
            json.loads(kept) if kept else None)
        yield {"rollout_id": row.get("rollout_id", ""), "input_ids": sequence.input_ids, "labels": sequence.labels}

