"""Any OpenAI-compatible chat-completions endpoint: a vLLM or SGLang server, ``agentscaler serve``, a hosted API.

The server renders the chat template and parses tool calls itself, so this backend only maps the
official client's response into a ``Completion``. Reasoning comes back as ``reasoning_content``
(vLLM's and SGLang's name) and generated token ids as ``token_ids`` where the server adds them
(``agentscaler serve`` does); both are extensions outside the OpenAI schema, read when present.
"""

from __future__ import annotations

import time
from typing import Any

from openai import AsyncOpenAI

from agentscaler.llm.base import Completion, record_generation


class OpenAIBackend:
    """``ChatBackend`` over ``openai.AsyncOpenAI``; ``model`` defaults to the server's first listed model."""

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None, *,
                 timeout: float = 600.0, max_retries: int = 2):
        self.base_url = base_url
        self.model = model
        self.name = f"openai:{base_url}"
        self.client = AsyncOpenAI(base_url=base_url, api_key=api_key or "EMPTY", timeout=timeout,
                                  max_retries=max_retries)

    async def model_name(self) -> str:
        if self.model is None:
            models = await self.client.models.list()
            if not models.data:
                raise RuntimeError(f"{self.base_url} serves no model")
            self.model = models.data[0].id
        return self.model

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, *,
                   seed: int = 0, max_tokens: int = 512, temperature: float = 0.0) -> Completion:
        extra = {"tools": tools} if tools else {}
        started = time.perf_counter()
        response = await self.client.chat.completions.create(
            model=await self.model_name(), messages=messages, seed=seed, max_tokens=max_tokens,
            temperature=temperature, **extra)
        choice = response.choices[0]
        message: dict[str, Any] = {"role": "assistant", "content": choice.message.content}
        if choice.message.tool_calls:
            message["tool_calls"] = [
                {"id": call.id, "type": "function",
                 "function": {"name": call.function.name, "arguments": call.function.arguments}}
                for call in choice.message.tool_calls]
        message_extra = choice.message.model_extra or {}
        choice_extra = choice.model_extra or {}
        usage = response.usage
        completion = Completion(
            message=message, reasoning=message_extra.get("reasoning_content") or message_extra.get("reasoning"),
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            token_ids=choice_extra.get("token_ids"), finish_reason=choice.finish_reason or "stop",
            parse_errors=list(choice_extra.get("parse_errors") or []))
        record_generation(self.name, [completion], time.perf_counter() - started)
        return completion
