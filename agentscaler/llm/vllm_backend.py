"""vLLM engines as Ray actors, for GPU rollouts at scale (the ``gpu`` extra).

Each replica is one Ray actor holding an ``AsyncLLMEngine``; the actor is async, so every episode's
request enters the engine at once and vLLM's continuous batching keeps the GPU full. Large models
shard over ``tensor_parallel_size`` GPUs (vLLM then starts its own Ray workers for the shards).
Prompts are rendered and replies parsed here, on the driver, with the same template and parser as
the transformers backend, so both backends give the same message for the same text.

``vllm`` is imported only inside the actor: this module imports on a machine without it, and only
building an engine needs a GPU node with ``pip install agentscaler[gpu]``. Not exercised by the CPU
test suite.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import ray
from transformers import AutoTokenizer

from agentscaler.llm.base import Completion, record_generation
from agentscaler.llm.render import completion_from_text, digest, render_prompt


class VLLMEngine:
    """One vLLM engine; lives in a Ray actor."""

    def __init__(self, path: str, tensor_parallel_size: int, engine_kwargs: dict[str, Any]):
        from vllm import AsyncEngineArgs, AsyncLLMEngine

        args = AsyncEngineArgs(model=path, tensor_parallel_size=tensor_parallel_size, **engine_kwargs)
        self.engine = AsyncLLMEngine.from_engine_args(args)

    async def generate(self, prompt: str, request_id: str, *, seed: int, max_tokens: int,
                       temperature: float) -> dict[str, Any]:
        from vllm import SamplingParams

        params = SamplingParams(temperature=temperature, max_tokens=max_tokens, seed=seed, skip_special_tokens=False)
        final = None
        async for final in self.engine.generate(prompt, params, request_id):
            pass
        output = final.outputs[0]
        return {"text": output.text, "token_ids": list(output.token_ids),
                "prompt_tokens": len(final.prompt_token_ids or []), "finish_reason": output.finish_reason}


class VLLMBackend:
    """``ChatBackend`` over ``num_replicas`` vLLM actors, requests spread round-robin."""

    def __init__(self, path: str | Path, *, tensor_parallel_size: int = 1, num_replicas: int = 1,
                 enable_thinking: bool = False, **engine_kwargs: Any):
        self.path = str(path)
        self.name = f"vllm:{self.path}"
        self.enable_thinking = enable_thinking
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        if tensor_parallel_size > 1:
            engine_kwargs.setdefault("distributed_executor_backend", "ray")
        # With tensor parallelism vLLM claims the GPUs for its shard workers; the actor holds none.
        actor = ray.remote(num_gpus=1 if tensor_parallel_size == 1 else 0)(VLLMEngine)
        self.engines = [actor.remote(self.path, tensor_parallel_size, engine_kwargs) for _ in range(num_replicas)]
        self._next = itertools.cycle(range(num_replicas))
        self._ids = itertools.count()

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, *,
                   seed: int = 0, max_tokens: int = 512, temperature: float = 0.0) -> Completion:
        prompt = render_prompt(self.tokenizer, messages, tools, enable_thinking=self.enable_thinking)
        engine = self.engines[next(self._next)]
        started = time.perf_counter()
        result = await engine.generate.remote(prompt, f"{digest(messages)[:16]}-{next(self._ids)}", seed=seed,
                                              max_tokens=max_tokens, temperature=temperature)
        completion = completion_from_text(result["text"], messages=messages, tools=tools,
                                          token_ids=result["token_ids"], prompt_tokens=result["prompt_tokens"],
                                          stopped=result["finish_reason"] == "stop")
        record_generation(self.name, [completion], time.perf_counter() - started)
        return completion
