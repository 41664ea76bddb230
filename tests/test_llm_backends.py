"""Backends on the tiny Qwen3: reproducible seeds, batching that changes nothing, token ids, the call cache."""

from __future__ import annotations

import asyncio
import sys

import pytest

from agentscaler.llm import CachedBackend, ChatBackend, make_backend
from agentscaler.llm.openai_backend import OpenAIBackend
from agentscaler.llm.render import render_prompt
from agentscaler.llm.tiny import build_tiny_model
from agentscaler.llm.toolcalls import parse_qwen3
from agentscaler.llm.transformers_backend import TransformersBackend

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def conversation(i: int) -> list[dict]:
    return [{"role": "system", "content": "You answer weather questions."},
            {"role": "user", "content": f"What is the weather in city {i}?" + " Thanks." * i}]


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    backend = TransformersBackend(build_tiny_model(tmp_path_factory.mktemp("tiny")), max_batch=8)
    yield backend
    backend.close()


def run(coroutine):
    return asyncio.run(coroutine)


def test_is_a_chat_backend_named_by_path(backend):
    assert isinstance(backend, ChatBackend) and backend.name == f"transformers:{backend.path}"


def test_seeds_make_sampling_reproducible(backend):
    async def sample(seed, temperature=1.0):
        return await backend.chat(conversation(1), TOOLS, seed=seed, max_tokens=24, temperature=temperature)

    first, again, other = run(sample(5)), run(sample(5)), run(sample(6))
    assert first.token_ids == again.token_ids and first.message == again.message
    assert first.token_ids != other.token_ids
    assert run(sample(5, 0.0)).token_ids == run(sample(6, 0.0)).token_ids  # greedy ignores the seed


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_micro_batching_gives_one_by_one_results(backend, temperature):
    async def one(i):
        return await backend.chat(conversation(i), TOOLS, seed=i, max_tokens=16, temperature=temperature)

    async def all_at_once():
        return await asyncio.gather(*(one(i) for i in range(6)))

    alone = [run(one(i)) for i in range(6)]
    runs_before = len(backend.batch_sizes)
    together = run(all_at_once())
    assert max(backend.batch_sizes[runs_before:]) > 1  # the concurrent requests did share a generate run
    assert [c.token_ids for c in together] == [c.token_ids for c in alone]
    assert [c.message for c in together] == [c.message for c in alone]


def test_token_ids_and_counts_match_the_text(backend):
    async def both():
        return await asyncio.gather(
            backend.chat(conversation(2), TOOLS, seed=3, max_tokens=20, temperature=1.0),
            backend.chat(conversation(3), None, seed=4, max_tokens=7, temperature=1.0))

    long, short = run(both())
    for completion, messages, tools in ((long, conversation(2), TOOLS), (short, conversation(3), None)):
        text = backend.tokenizer.decode(completion.token_ids, skip_special_tokens=False)
        assert parse_qwen3(text, context="x").message()["content"] == completion.message["content"]
        assert completion.completion_tokens == len(completion.token_ids)
        prompt = render_prompt(backend.tokenizer, messages, tools)
        assert completion.prompt_tokens == len(backend.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert len(short.token_ids) <= 7 and long.prompt_tokens > short.prompt_tokens  # the tools are in the prompt
    if short.token_ids[-1] not in backend.eos_ids:
        assert short.finish_reason == "length" and len(short.token_ids) == 7


def test_cache_replays_a_run_without_the_model(backend, tmp_path):
    async def ask(cache, i):
        return await cache.chat(conversation(i), TOOLS, seed=i, max_tokens=12, temperature=0.7)

    cache = CachedBackend(backend, tmp_path / "calls.sqlite")
    first = [run(ask(cache, i)) for i in range(3)]
    assert (cache.misses, cache.hits, len(cache)) == (3, 0, 3)
    cache.close()

    generate_runs = len(backend.batch_sizes)
    rerun = CachedBackend(backend, tmp_path / "calls.sqlite")
    assert [run(ask(rerun, i)) for i in range(3)] == first
    assert rerun.hits == 3 and len(backend.batch_sizes) == generate_runs  # the model was not called
    other_seed = run(rerun.chat(conversation(0), TOOLS, seed=99, max_tokens=12, temperature=0.7))
    assert rerun.misses == 1 and len(rerun) == 4 and other_seed.token_ids != first[0].token_ids
    assert rerun.name == backend.name


def test_make_backend_picks_by_spec(backend, tmp_path):
    assert isinstance(make_backend(str(backend.path), max_batch=2), TransformersBackend)
    remote = make_backend("http://127.0.0.1:9/v1", model="m")
    assert isinstance(remote, OpenAIBackend) and remote.name == "openai:http://127.0.0.1:9/v1"
    for bad in ("Qwen/Qwen3-8B", str(tmp_path / "missing"), "ftp://host/model"):
        with pytest.raises(ValueError, match="nothing is downloaded"):
            make_backend(bad)


def test_make_backend_gives_urls_the_api_key_and_wraps_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    remote = make_backend("https://llm.example/v1")
    assert isinstance(remote, OpenAIBackend) and remote.client.api_key == "sk-test"
    assert make_backend("https://llm.example/v1", api_key="sk-other").client.api_key == "sk-other"
    cached = make_backend("http://127.0.0.1:9/v1", cache=tmp_path / "calls.sqlite", model="m")
    assert isinstance(cached, CachedBackend) and isinstance(cached.backend, OpenAIBackend)
    assert cached.backend.client.api_key == "sk-test" and cached.name == "openai:http://127.0.0.1:9/v1"
    assert cached.path == tmp_path / "calls.sqlite" and cached.backend.model == "m"
    cached.close()
    monkeypatch.delenv("OPENAI_API_KEY")
    assert make_backend("https://llm.example/v1").client.api_key == "EMPTY"  # local servers take any key


def test_vllm_backend_imports_without_vllm():
    import agentscaler.llm.vllm_backend as module  # the engine is imported inside the actor only

    assert module.VLLMBackend and "vllm" not in sys.modules
