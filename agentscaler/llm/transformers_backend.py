"""A Hugging Face model in this process, CPU or GPU, shared by every episode in flight.

Rollouts run many episodes as asyncio tasks; each awaits ``chat``. Running their requests one by
one would leave the model idle between tiny forward passes, so requests go to one worker thread
that takes whatever has queued up (up to ``max_batch``) and runs a single left-padded ``generate``
over it, while the event loop keeps serving the other episodes.

Batching must not change results: greedy rows are plain argmax, and a sampled row draws its own
Gumbel noise from a generator seeded by its request, so a row's tokens depend on its seed only,
never on which other requests shared its batch (sampling from softmax(logits / T) is the argmax of
logits / T plus Gumbel noise).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LogitsProcessor, LogitsProcessorList

from agentscaler.llm.base import Completion, record_generation
from agentscaler.llm.render import completion_from_text, render_prompt


@dataclass
class _Request:
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    prompt: str
    seed: int
    max_tokens: int
    temperature: float
    future: Future = field(default_factory=Future)


class SeededGumbelSampling(LogitsProcessor):
    """Per-row sampling under greedy decoding: row i adds Gumbel noise from its own seeded generator."""

    def __init__(self, temperatures: list[float], seeds: list[int], device: torch.device):
        self.temperatures = temperatures
        self.generators = [torch.Generator(device=device).manual_seed(seed) if t > 0 else None
                           for t, seed in zip(temperatures, seeds)]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores = scores.clone()
        for row, (temperature, generator) in enumerate(zip(self.temperatures, self.generators)):
            if generator is not None:
                uniform = torch.rand(scores.shape[-1], generator=generator, device=scores.device)
                gumbel = -torch.log(-torch.log(uniform.clamp_min(1e-20)))
                scores[row] = scores[row].float() / temperature + gumbel
        return scores


class TransformersBackend:
    """``ChatBackend`` over ``AutoModelForCausalLM`` loaded from a local path (nothing downloads)."""

    def __init__(self, path: str | Path, *, device: str = "cpu", max_batch: int = 8, enable_thinking: bool = False,
                 dtype: torch.dtype | None = None, batch_wait_s: float = 0.005):
        self.path = Path(path)
        self.name = f"transformers:{self.path}"
        self.device = torch.device(device)
        self.max_batch = max_batch
        self.enable_thinking = enable_thinking
        self.batch_wait_s = batch_wait_s
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.tokenizer.padding_side = "left"
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype=dtype).to(self.device).eval()
        eos = self.model.generation_config.eos_token_id or self.tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])
        self.batch_sizes: list[int] = []  # one entry per generate run, for benchmarks and tests
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, *,
                   seed: int = 0, max_tokens: int = 512, temperature: float = 0.0) -> Completion:
        prompt = render_prompt(self.tokenizer, messages, tools, enable_thinking=self.enable_thinking)
        request = _Request(messages, tools, prompt, seed, max_tokens, temperature)
        self._ensure_worker()
        self._queue.put(request)
        return await asyncio.wrap_future(request.future)

    def close(self) -> None:
        """Stop the worker thread (requests already queued are served first)."""
        with self._lock:
            if self._worker is not None:
                self._queue.put(None)
                self._worker.join()
                self._worker = None

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name=f"generate:{self.path.name}", daemon=True)
                self._worker.start()

    def _serve(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    request = self._queue.get(timeout=self.batch_wait_s)
                except queue.Empty:
                    break
                if request is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(request)
            try:
                for request, completion in zip(batch, self.generate(batch)):
                    request.future.set_result(completion)
            except Exception as error:  # the episodes waiting on this batch see the engine failure
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(error)

    @torch.inference_mode()
    def generate(self, batch: list[_Request]) -> list[Completion]:
        """One left-padded ``generate`` over the batch, cut back to each request's own budget."""
        self.batch_sizes.append(len(batch))
        started = time.perf_counter()
        inputs = self.tokenizer([r.prompt for r in batch], return_tensors="pt", padding=True,
                                add_special_tokens=False).to(self.device)
        config = GenerationConfig(max_new_tokens=max(r.max_tokens for r in batch), do_sample=False,
                                  eos_token_id=sorted(self.eos_ids), pad_token_id=self.tokenizer.pad_token_id)
        sampling = SeededGumbelSampling([r.temperature for r in batch], [r.seed for r in batch], self.device)
        output = self.model.generate(**inputs, generation_config=config,
                                     logits_processor=LogitsProcessorList([sampling]))
        prompt_width = inputs["input_ids"].shape[1]
        completions = []
        for row, request in enumerate(batch):
            generated = output[row, prompt_width:].tolist()[:request.max_tokens]
            stop = next((i for i, token in enumerate(generated) if token in self.eos_ids), None)
            token_ids = generated if stop is None else generated[:stop + 1]  # the end-of-turn token is kept
            text = self.tokenizer.decode(token_ids, skip_special_tokens=False)
            completions.append(completion_from_text(
                text, messages=request.messages, tools=request.tools, token_ids=token_ids,
                prompt_tokens=int(inputs["attention_mask"][row].sum()), stopped=stop is not None))
        record_generation(self.name, completions, time.perf_counter() - started)
        return completions
