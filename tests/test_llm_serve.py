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
from aiohttp.test_utils import TestClient, TestServer
from typer.testing import CliRunner

from agentscaler.llm import serve as serve_module
from agentscaler.llm.openai_backend import OpenAIBackend
from agentscaler.llm.serve import make_app
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
def server_log(tmp_path_factory):
    return tmp_path_factory.mktemp("serve") / "serve.log"


@pytest.fixture(scope="module")
def server(noise_model, server_log):
    with running_server(noise_model, server_log) as url:
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


# --- careless and hostile requests ------------------------------------------------------------------

def post(url: str, data: bytes, headers: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
    """POST to the server; (status, parsed JSON body), whatever the status."""
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, method="POST", headers=headers, data=data)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def assert_openai_error(body: dict, kind: str = "invalid_request_error") -> dict:
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"} and isinstance(error["message"], str)
    assert error["message"] and error["type"] == kind
    return error


def still_answers(server: str, model: str) -> None:
    status, body = post(f"{server}/chat/completions", json.dumps(
        {"model": model, "messages": ASK, "max_tokens": 3, "seed": 1}).encode())
    assert status == 200 and body["choices"][0]["message"]["role"] == "assistant", body


BAD = {  # name: (request fields over a valid base, status, param)
    "negative max_tokens": ({"max_tokens": -5}, 400, "max_tokens"),
    "zero max_completion_tokens": ({"max_completion_tokens": 0}, 400, "max_completion_tokens"),
    "max_tokens over the limit": ({"max_tokens": 10 ** 9}, 400, "max_tokens"),
    "max_tokens as a string": ({"max_tokens": "5"}, 400, "max_tokens"),
    "tools not a list": ({"tools": "x"}, 400, "tools"),
    "tool without function": ({"tools": [{"type": "function"}]}, 400, "tools[0].function"),
    "tool of another type": ({"tools": [{"type": "code", "function": TOOLS[0]["function"]}]}, 400, "tools[0].type"),
    "bad tool_choice": ({"tool_choice": "sometimes"}, 400, "tool_choice"),
    "temperature a word": ({"temperature": "hot"}, 400, "temperature"),
    "temperature too high": ({"temperature": 2.5}, 400, "temperature"),
    "top_p over one": ({"top_p": 7}, 400, "top_p"),
    "top_p zero": ({"top_p": 0}, 400, "top_p"),
    "n of two": ({"n": 2}, 400, "n"),
    "stream a string": ({"stream": "yes"}, 400, "stream"),
    "seed a float": ({"seed": 1.5}, 400, "seed"),
    "seed too large": ({"seed": 2 ** 70}, 400, "seed"),
    "logprobs asked": ({"logprobs": True}, 400, "logprobs"),
    "no messages": ({"messages": []}, 400, "messages"),
    "messages a string": ({"messages": "hi"}, 400, "messages"),
    "unknown role": ({"messages": [{"role": "wizard", "content": "hi"}]}, 400, "messages[0]"),
    "no role": ({"messages": [{"content": "hi"}]}, 400, "messages[0]"),
    "content a number": ({"messages": [{"role": "user", "content": 5}]}, 400, "messages[0].content"),
    "image part": ({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]}, 400, "messages[0].content"),
    "tool message without call id": ({"messages": ASK + [{"role": "tool", "content": "{}"}]}, 400,
                                     "messages[1].tool_call_id"),
    "arguments not a string": ({"messages": ASK + [{"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}]}, 400,
        "messages[1].tool_calls[0].function.arguments"),
    "model missing": ({"model": None}, 400, "model"),
    "prompt past the context": ({"messages": [{"role": "user", "content": "hello world " * 20000}]}, 400,
                                "messages"),
    "unknown model": ({"model": "gpt-9"}, 404, "model"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_malformed_requests_get_4xx_with_openai_errors(server, noise_model, name):
    fields, status, param = BAD[name]
    body = {"model": str(noise_model), "messages": ASK, "max_tokens": 3, **fields}
    got, answer = post(f"{server}/chat/completions", json.dumps({k: v for k, v in body.items() if v is not None})
                       .encode())
    assert got == status, answer
    assert assert_openai_error(answer)["param"] == param, answer
    if name == "prompt past the context":
        assert answer["error"]["code"] == "context_length_exceeded"
    still_answers(server, str(noise_model))


@pytest.mark.parametrize("data, headers, code", [
    (b"{not json", {}, "invalid_json"),
    (b"[1, 2]", {}, "invalid_json"),
    (b'"a string"', {}, "invalid_json"),
    (b"\xff\xfe\x00garbage", {}, "invalid_json"),
    (b"[" * 200_000, {}, "invalid_json"),
    (b"{}", {"Content-Type": "text/plain"}, "invalid_content_type"),
])
def test_unreadable_bodies_get_400(server, noise_model, data, headers, code):
    status, answer = post(f"{server}/chat/completions", data, headers)
    assert status == 400 and assert_openai_error(answer)["code"] == code, answer
    still_answers(server, str(noise_model))


def test_wrong_routes_and_methods_get_openai_errors(server):
    for method, path, status in (("GET", "/nothing", 404), ("GET", "/chat/completions", 405)):
        request = urllib.request.Request(f"{server}{path}", method=method, headers={"Authorization": f"Bearer {KEY}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == status
        assert_openai_error(json.loads(refused.value.read()))


def test_a_3mb_body_gets_413_and_the_server_keeps_answering(server, noise_model):
    huge = json.dumps({"model": str(noise_model), "messages": [{"role": "user", "content": "x" * 3 * 1024 ** 2}]})
    started = time.monotonic()
    status, answer = post(f"{server}/chat/completions", huge.encode())
    assert status == 413 and assert_openai_error(answer)["code"] == "request_too_large", answer
    assert time.monotonic() - started < 15
    still_answers(server, str(noise_model))
    assert [m.id for m in openai.OpenAI(base_url=server, api_key=KEY).models.list().data] == [str(noise_model)]


def test_unknown_fields_and_lenient_forms_are_accepted(server, noise_model):
    status, body = post(f"{server}/chat/completions", json.dumps({
        "model": str(noise_model), "max_completion_tokens": 3, "top_p": 0.5, "user": "u", "metadata": {"a": 1},
        "store": False, "frequency_penalty": 0, "stop": ["\n"], "tool_choice": "auto", "tools": TOOLS,
        "messages": [{"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                     {"role": "user", "content": [{"type": "text", "text": "Hi"}], "whatever": 1}]}).encode())
    assert status == 200 and body["usage"]["completion_tokens"] <= 3, body


def test_no_key_reaches_the_log(server, server_log, noise_model):
    wrong = "Bearer wrong-secret-7f3a"
    for authorization in (f"Bearer {KEY}", wrong):
        post(f"{server}/chat/completions", json.dumps({"model": str(noise_model), "messages": ASK,
                                                        "max_tokens": 2}).encode(), {"Authorization": authorization})
    post(f"{server}/chat/completions", b"{broken", {"Authorization": wrong})
    text = server_log.read_text()
    assert "serving" in text and KEY not in text and "wrong-secret" not in text


def test_serve_binds_to_localhost_by_default():
    from agentscaler.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "127.0.0.1" in result.stdout and "--max-body-mb" in result.stdout


class SlowBackend(TransformersBackend):
    """The real backend, whose worker thread takes ``delay`` seconds more per generate run."""

    delay = 3.0

    def generate(self, batch):
        time.sleep(self.delay)
        return super().generate(batch)


def test_generation_does_not_block_the_event_loop(noise_model):
    backend = SlowBackend(noise_model)

    async def scenario():
        async with TestClient(TestServer(make_app(backend, model_id="tiny"))) as client:
            chat = asyncio.ensure_future(client.post("/v1/chat/completions", json={
                "model": "tiny", "messages": ASK, "max_tokens": 2}))
            await asyncio.sleep(0.5)  # the request is in the worker by now
            models = await client.get("/v1/models")
            assert models.status == 200 and (await models.json())["data"][0]["id"] == "tiny"
            assert not chat.done()  # answered while the generation was still running
            answer = await chat
            assert answer.status == 200 and (await answer.json())["choices"][0]["finish_reason"]

    try:
        asyncio.run(scenario())
    finally:
        backend.close()


def test_keys_compared_in_constant_time_and_bodies_capped(noise_model, monkeypatch):
    """In process: ``hmac.compare_digest`` judges every key; a chunked body past the cap gets 413."""
    compared = []
    real = serve_module.hmac.compare_digest
    monkeypatch.setattr(serve_module.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    backend = TransformersBackend(noise_model)

    async def chunks():
        for _ in range(64):
            yield b" " * 4096

    async def scenario():
        app = make_app(backend, model_id="tiny", api_key=KEY, max_body_bytes=100_000)
        async with TestClient(TestServer(app)) as client:
            for header, status in (({}, 401), ({"Authorization": "Bearer nope"}, 401),
                                   ({"Authorization": f"Bearer {KEY}"}, 200)):
                response = await client.get("/v1/models", headers=header)
                assert response.status == status
                if status == 401:
                    assert assert_openai_error(await response.json())["code"] == "invalid_api_key"
            auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
            response = await client.post("/v1/chat/completions", data=chunks(), headers=auth)  # no Content-Length
            assert response.status == 413 and assert_openai_error(await response.json())["code"] == "request_too_large"
            response = await client.post("/v1/chat/completions", headers=auth, data=json.dumps(
                {"model": "tiny", "messages": ASK, "max_tokens": 2}))
            assert response.status == 200

    try:
        asyncio.run(scenario())
    finally:
        backend.close()
    assert len(compared) >= 5 and all(len(a) == len(b) == 32 for a, b in compared)  # hashed: no length leak
