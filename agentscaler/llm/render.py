"""What every local backend shares: prompt in through the chat template, Completion out through the parser.

The transformers backend, the vLLM actors and ``agentscaler serve`` all render with the model's own
chat template and parse with ``toolcalls``, so the three give the same message for the same
generated text; only the engine in between differs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from agentscaler.llm.base import Completion
from agentscaler.llm.toolcalls import parse_qwen3


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no whitespace, so equal requests hash equal."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def render_prompt(tokenizer: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, *,
                  enable_thinking: bool = False) -> str:
    """The generation prompt as the model's chat template writes it (tools in the system turn)."""
    return tokenizer.apply_chat_template(messages, tools=tools or None, tokenize=False, add_generation_prompt=True,
                                         enable_thinking=enable_thinking)


def tool_names(tools: list[dict[str, Any]] | None) -> list[str] | None:
    if not tools:
        return None
    return [tool.get("function", tool).get("name") for tool in tools]


def completion_from_text(text: str, *, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
                         token_ids: list[int] | None, prompt_tokens: int, stopped: bool) -> Completion:
    """A Completion from generated text; call ids derive from the conversation so far."""
    turn = parse_qwen3(text, context=digest(messages), tool_names=tool_names(tools))
    finish = "tool_calls" if turn.tool_calls else ("stop" if stopped else "length")
    return Completion(message=turn.message(), reasoning=turn.reasoning, prompt_tokens=prompt_tokens,
                      completion_tokens=len(token_ids) if token_ids is not None else 0, token_ids=token_ids,
                      finish_reason=finish, parse_errors=turn.errors)
