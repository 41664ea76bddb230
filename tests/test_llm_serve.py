"""`agentscaler serve` as a real server on 127.0.0.1, driven by the official `openai` client and our OpenAI backend."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest

from agentscaler.llm.openai_backend import OpenAIBackend
from agentscaler.llm.tiny import build_tiny_model, teach_tiny_model
from agentscaler.llm.transformers_backend import TransformersBackend

KEY = "test-key-123"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
ANSWERED = ASK + [
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"sky": "sunny"}'}]
ANSWER = "It is sunny in Paris."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(model: Path, log_path: Path):
    """``agentscaler serve`` in a subprocess on a free localhost port; yields its base URL."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentscaler.cli", "serve", "--model", str(model), "--port", str(port),
             "--api-key", KEY], stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
        try:
            deadline = time.time() + 180
            while True:
                assert process.poll() is None, log_path.read_text()[-3000:]
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                assert time.time() < deadline, "server did not start"
                time.sleep(0.3)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def noise_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def server(noise_model, tmp_path_factory):
    with running_server(noise_model, tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def taught_model(noise_model, tmp_path_factory):
    """The tiny Qwen3 taught to call get_weather for Paris, then to answer from the tool's response."""
    return teach_tiny_model(noise_model, tmp_path_factory.mktemp("taught"),
                            [(ASK, TOOLS, CALL), (ANSWERED, TOOLS, ANSWER)])


@pytest.fixture(scope="module")
def taught_server(taught_model, tmp_path_factory):
    with running_server(taught_model, tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


def test_lists_the_model(server, noise_model):
    assert [m.id for m in openai.OpenAI(base_url=server, api_key=KEY).models.list().data] == [str(noise_model)]


def test_refuses_requests_without_the_key(server, noise_model):
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server, api_key="wrong").models.list()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        request = urllib.request.Request(f"{server}/chat/completions", method="POST", headers=headers,
                                         data=json.dumps({"model": str(noise_model), "messages": ASK}).encode())
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401


def test_completions_match_the_in_process_backend(server, noise_model):
    client = openai.OpenAI(base_url=server, api_key=KEY)
    response = client.chat.completions.create(model=str(noise_model), messages=ASK, tools=TOOLS, seed=3,
                                              temperature=1.0, max_tokens=12)
    choice = response.choices[0]
    local = TransformersBackend(noise_model)
    expected = asyncio.run(local.chat(ASK, TOOLS, seed=3, temperature=1.0, max_tokens=12))
    local.close()
    assert choice.message.content == expected.message["content"] and choice.finish_reason == expected.finish_reason
    assert choice.model_extra["token_ids"] == expected.token_ids
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (expected.prompt_tokens,
                                                                                expected.completion_tokens)
    assert response.usage.total_tokens == expected.prompt_tokens + expected.completion_tokens

    chunks = list(client.chat.completions.create(model=str(noise_model), messages=ASK, tools=TOOLS, seed=3,
                                                 temperature=1.0, max_tokens=12, stream=True,
                                                 stream_options={"include_usage": True}))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == (expected.message["content"] or "")
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == expected.finish_reason
    assert chunks[-1].usage.completion_tokens == expected.completion_tokens


def test_openai_backend_over_the_server(server, noise_model):
    remote = OpenAIBackend(server, api_key=KEY)

    async def concurrently():
        return await asyncio.gather(*(remote.chat(ASK, None, seed=s, temperature=1.0, max_tokens=8) for s in (1, 2, 1)))

    replies = asyncio.run(concurrently())
    assert remote.model == str(noise_model) and remote.name == f"openai:{server}"
    assert replies[0] == replies[2] and replies[0].token_ids != replies[1].token_ids  # seeds reach the server
    assert all(r.completion_tokens == len(r.token_ids) > 0 and r.prompt_tokens > 0 for r in replies)


@pytest.mark.slow
def test_tools_in_tool_calls_out(taught_server, taught_model):
    client = openai.OpenAI(base_url=taught_server, api_key=KEY)
    response = client.chat.completions.create(model=str(taught_model), messages=ASK, tools=TOOLS, temperature=0)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"} and call.id.startswith("call_")

    answer = client.chat.completions.create(model=str(taught_model), messages=ANSWERED, tools=TOOLS, temperature=0)
    assert answer.choices[0].message.content == ANSWER and answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].message.tool_calls is None

    chunks = list(client.chat.completions.create(model=str(taught_model), messages=ASK, tools=TOOLS, temperature=0,
                                                 stream=True))
    calls = [c for chunk in chunks if chunk.choices for c in (chunk.choices[0].delta.tool_calls or [])]
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        (call.id, call.function.name, call.function.arguments)]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


@pytest.mark.slow
def test_openai_backend_tool_calls_match_in_process(taught_server, taught_model):
    remote, local = OpenAIBackend(taught_server, api_key=KEY), TransformersBackend(taught_model)

    async def both():
        over_http = await asyncio.gather(*(remote.chat(m, TOOLS) for m in (ASK, ANSWERED)))
        return over_http, [await local.chat(m, TOOLS) for m in (ASK, ANSWERED)]

    (call, answer), (local_call, local_answer) = asyncio.run(both())
    local.close()
    assert call.message == local_call.message and call.finish_reason == "tool_calls"  # ids and all
    assert call.message["tool_calls"][0]["function"]["name"] == "get_weather"
    assert call.token_ids == local_call.token_ids and call.prompt_tokens == local_call.prompt_tokens
    assert answer.message == {"role": "assistant", "content": ANSWER} and answer.token_ids == local_answer.token_ids
