"""The one interface every chat model speaks to the rollout stage, whatever serves it.

An agent or a simulated user is a ``ChatBackend``: OpenAI-format messages and tools in, one
assistant message out. Backends (transformers in-process, an OpenAI-compatible server, vLLM
engines on Ray, the programmatic teacher) differ only in how they produce that message, so the
rollout loop never knows which one it talks to.

    backend = make_backend("/models/qwen3-tiny")            # or "http://127.0.0.1:8000/v1", "vllm:/models/..."
    reply = await backend.chat(messages, tools, seed=7)
    reply.message   # {"role": "assistant", "content": ..., "tool_calls": [...]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentscaler import metrics


@dataclass
class Completion:
    """One generated assistant turn.

    ``message`` is an OpenAI chat message: ``{"role": "assistant", "content": str | None,
    "tool_calls": [{"id", "type": "function", "function": {"name", "arguments": JSON text}}]}``
    (``tool_calls`` absent when there are none). ``reasoning`` is the ``<think>`` content a thinking
    model produced, kept apart from ``content`` so it is never replayed as part of the answer.
    ``token_ids`` are the generated ids where the backend exposes them (training reuses them);
    ``parse_errors`` name the ``<tool_call>`` blocks that could not be parsed (bad JSON, no name).
    """

    message: dict[str, Any]
    reasoning: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    token_ids: list[int] | None = None
    finish_reason: str = "stop"
    parse_errors: list[str] = field(default_factory=list)


@runtime_checkable
class ChatBackend(Protocol):
    """Anything that turns (messages, tools) into one assistant message."""

    name: str  # recorded with every trajectory (e.g. "teacher", "transformers:/models/x", "openai:http://...")

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, *,
                   seed: int = 0, max_tokens: int = 512, temperature: float = 0.0) -> Completion: ...


def record_generation(backend: str, completions: list[Completion], seconds: float) -> None:
    """Count one generation call (one request, or one batch of them) on Ray's dashboard: tokens in and out,
    wall time, tokens per second."""
    generated = sum(c.completion_tokens for c in completions)
    metrics.LLM_GENERATED_TOKENS.inc(generated, backend=backend)
    metrics.LLM_PROMPT_TOKENS.inc(sum(c.prompt_tokens for c in completions), backend=backend)
    metrics.LLM_CALL_SECONDS.observe(seconds, backend=backend)
    metrics.LLM_TOKENS_PER_SECOND.set(generated / max(seconds, 1e-9), backend=backend)
