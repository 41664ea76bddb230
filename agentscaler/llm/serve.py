"""``agentscaler serve``: an OpenAI-compatible chat-completions server over the transformers backend.

Lets anything that speaks the OpenAI API (the ``openai`` client, the OpenAI backend of our own
rollouts, third-party agents) drive a local model, and lets the rollout stage be tested against a
real HTTP server. Requests from all clients meet in one ``TransformersBackend``, so concurrent
clients are micro-batched into shared ``generate`` runs. Tools go in as OpenAI tools, tool calls
come out as OpenAI ``tool_calls``; reasoning (``reasoning_content``), generated ``token_ids`` and
``parse_errors`` ride along as extra fields, as vLLM does. Streaming sends the finished turn as
chunks (generation itself is batched, not incremental). Binds to localhost unless told otherwise;
with an API key, requests without ``Authorization: Bearer KEY`` get 401.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from typing import Any

from aiohttp import web

from agentscaler.llm.base import Completion
from agentscaler.llm.transformers_backend import TransformersBackend

BACKEND = web.AppKey("backend", TransformersBackend)
MODEL_ID = web.AppKey("model_id", str)


def error_response(status: int, message: str, kind: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "code": status}}, status=status)


def require_key(api_key: str | None):
    """Middleware: 401 unless the request carries ``Authorization: Bearer <api_key>`` (when a key is set)."""

    @web.middleware
    async def middleware(request: web.Request, handler):
        if api_key is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
                return error_response(401, "missing or wrong API key", "authentication_error")
        return await handler(request)

    return middleware


async def list_models(request: web.Request) -> web.Response:
    model = request.app[MODEL_ID]
    return web.json_response({"object": "list", "data": [
        {"id": model, "object": "model", "created": 0, "owned_by": "agentscaler"}]})


def plain_text(content: Any) -> Any:
    """OpenAI content parts (``[{"type": "text", "text": ...}]``) as the one string the template expects."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content


def choice_message(completion: Completion) -> dict[str, Any]:
    message = dict(completion.message)
    if completion.reasoning is not None:
        message["reasoning_content"] = completion.reasoning
    return message


async def chat_completions(request: web.Request) -> web.StreamResponse:
    try:
        body = await request.json()
        messages = [{**m, "content": plain_text(m.get("content"))} for m in body["messages"]]
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        return error_response(400, f"bad request body: {error}", "invalid_request_error")
    if body.get("n", 1) != 1:
        return error_response(400, "only n=1 is supported", "invalid_request_error")
    tools = body.get("tools") if body.get("tool_choice") != "none" else None
    completion = await request.app[BACKEND].chat(
        messages, tools, seed=int(body.get("seed") or 0),
        max_tokens=int(body.get("max_completion_tokens") or body.get("max_tokens") or 512),
        temperature=float(body.get("temperature") if body.get("temperature") is not None else 1.0))
    header = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": request.app[MODEL_ID]}
    usage = {"prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens,
             "total_tokens": completion.prompt_tokens + completion.completion_tokens}
    extras = {"token_ids": completion.token_ids, "parse_errors": completion.parse_errors}
    if body.get("stream"):
        return await stream_completion(request, header, completion, usage, extras,
                                       (body.get("stream_options") or {}).get("include_usage", False))
    return web.json_response({**header, "object": "chat.completion", "usage": usage, "choices": [
        {"index": 0, "message": choice_message(completion), "finish_reason": completion.finish_reason,
         "logprobs": None, **extras}]})


async def stream_completion(request: web.Request, header: dict, completion: Completion, usage: dict,
                            extras: dict, include_usage: bool) -> web.StreamResponse:
    """Server-sent events: the role, the content, the tool calls, then the finish reason and ``[DONE]``."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)

    async def event(payload: dict) -> None:
        chunk = {**header, "object": "chat.completion.chunk", **payload}
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

    async def send(delta: dict, finish_reason: str | None = None, **more) -> None:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None, **more}
        await event({"choices": [choice]})

    message = choice_message(completion)
    await send({"role": "assistant", "content": ""})
    if message.get("reasoning_content"):
        await send({"reasoning_content": message["reasoning_content"]})
    if message.get("content"):
        await send({"content": message["content"]})
    for index, call in enumerate(message.get("tool_calls", [])):
        await send({"tool_calls": [{"index": index, **call}]})
    await send({}, completion.finish_reason, **extras)
    if include_usage:
        await event({"choices": [], "usage": usage})
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def make_app(backend: TransformersBackend, *, model_id: str, api_key: str | None = None) -> web.Application:
    app = web.Application(middlewares=[require_key(api_key)], client_max_size=64 * 1024 ** 2)
    app[BACKEND] = backend
    app[MODEL_ID] = model_id
    app.router.add_get("/v1/models", list_models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    return app
