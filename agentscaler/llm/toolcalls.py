"""Turn Qwen3's generated text into an OpenAI assistant message, whatever the model got wrong.

Qwen3 answers with optional ``<think>…</think>`` reasoning, then text and/or one or more
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks. Small and half-trained models
break that format in every possible way (bad JSON, Python literals, no name, arguments as a JSON
string, an unterminated block cut off by ``max_tokens``), and a rollout must neither crash nor
silently lose what was generated. So every block is parsed on its own: a good one becomes a tool
call, a broken one stays in the content verbatim (the model sees what it wrote when the
conversation is replayed) and is named in ``errors`` for the rollout to count. Call ids are
deterministic (hash of a caller-given context, the block and its position), so a replayed run
records the same ids.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
END_OF_TURN = ("<|im_end|>", "<|endoftext|>")
# A whole block, or an unterminated one running to the end of the text (cut off by max_tokens).
CALL_BLOCK = re.compile(re.escape(CALL_OPEN) + r"(.*?)(?:" + re.escape(CALL_CLOSE) + r"|\Z)", re.DOTALL)


@dataclass
class ParsedTurn:
    """One generated turn, split: answer text, reasoning, OpenAI tool calls, and what failed to parse."""

    content: str | None
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def message(self) -> dict[str, Any]:
        """The OpenAI assistant message (``tool_calls`` only when there are some)."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        return message


def call_id(context: str, index: int, block: str) -> str:
    """A deterministic tool-call id: the same turn in the same conversation always gets the same ids."""
    return "call_" + hashlib.sha256(f"{context}\x00{index}\x00{block}".encode()).hexdigest()[:16]


def _load_object(text: str) -> Any:
    """JSON, else JSON followed by stray text, else a Python literal (single quotes, True/None)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return json.JSONDecoder().raw_decode(text)[0]
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as error:
        raise ValueError(f"not JSON: {text[:80]!r}") from error


def parse_call(block: str) -> tuple[str, dict[str, Any]]:
    """The (name, arguments) of one ``<tool_call>`` body; ValueError saying what is wrong otherwise."""
    body = block.strip()
    if not body:
        raise ValueError("empty tool call")
    call = _load_object(body)
    if not isinstance(call, dict):
        raise ValueError(f"tool call is a {type(call).__name__}, not an object")
    if isinstance(call.get("function"), dict):  # {"type": "function", "function": {...}} (OpenAI shape)
        call = call["function"]
    name = call.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("tool call has no name")
    arguments = call.get("arguments", call.get("parameters", {}))
    if isinstance(arguments, str):
        arguments = _load_object(arguments) if arguments.strip() else {}
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ValueError(f"arguments of {name!r} are a {type(arguments).__name__}, not an object")
    return name.strip(), arguments


def _split_reasoning(text: str) -> tuple[str | None, str, list[str]]:
    """(reasoning, rest, errors): Qwen3 thinks first, so ``</think>`` ends the reasoning."""
    if THINK_CLOSE in text:
        reasoning, rest = text.split(THINK_CLOSE, 1)
        reasoning = reasoning.split(THINK_OPEN, 1)[-1]
        return reasoning.strip() or None, rest, []
    if THINK_OPEN in text:
        before, reasoning = text.split(THINK_OPEN, 1)
        return reasoning.strip() or None, before, ["unterminated <think> block: the turn ended while thinking"]
    return None, text, []


def parse_qwen3(text: str, *, context: str = "", tool_names: Iterable[str] | None = None) -> ParsedTurn:
    """Parse one generated Qwen3 turn.

    ``context`` (e.g. a hash of the request) makes call ids unique across turns. With
    ``tool_names``, a call to any other name is kept (the environment answers it with an error, as
    it would for a real model) and named in ``errors``.
    """
    for marker in END_OF_TURN:
        text = text.split(marker, 1)[0]
    reasoning, rest, errors = _split_reasoning(text)
    known = set(tool_names) if tool_names is not None else None
    calls: list[dict[str, Any]] = []
    kept: list[str] = []  # text outside the good blocks, in order
    position = 0
    for index, match in enumerate(CALL_BLOCK.finditer(rest)):
        kept.append(rest[position:match.start()])
        position = match.end()
        try:
            name, arguments = parse_call(match.group(1))
        except ValueError as error:
            closed = match.group(0).endswith(CALL_CLOSE)
            errors.append(f"tool call {index}: {error}" + ("" if closed else " (unterminated block)"))
            kept.append(match.group(0))
            continue
        if known is not None and name not in known:
            errors.append(f"tool call {index}: unknown tool {name!r}")
        calls.append({"id": call_id(context, index, match.group(1)), "type": "function",
                      "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}})
    kept.append(rest[position:])
    content = "".join(kept).strip()
    return ParsedTurn(content=content or (None if calls else ""), reasoning=reasoning, tool_calls=calls,
                      errors=errors)
