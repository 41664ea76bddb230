"""``agentscaler serve``: an OpenAI-compatible chat-completions server over the transformers backend.

Lets anything that speaks the OpenAI API (the ``openai`` client, the OpenAI backend of our own
rollouts, third-party agents) drive a local model, and lets the rollout stage be tested against a
real HTTP server. Requests from all clients meet in one ``TransformersBackend``, so concurrent
clients are micro-batched into shared ``generate`` runs. Tools go in as OpenAI tools, tool calls
come out as OpenAI ``tool_calls``; reasoning (``reasoning_content``), generated ``token_ids`` and
``parse_errors`` ride along as extra fields, as vLLM does. Streaming sends the finished turn as
chunks (generation itself is batched, not incremental). Binds to localhost unless told otherwise;
with an API key, requests without ``Authorization: Bearer KEY`` get 401.

Careless or hostile requests are answered, never crash or stall the server:

* every body is validated against ``ChatRequest`` (known roles, content types per role, function
  tools, ``max_tokens`` within a limit, ``temperature`` in [0, 2], ``top_p`` in (0, 1], ``n == 1``,
  typed ``stream``/``seed``); a bad one gets a 4xx with an OpenAI-style body
  ``{"error": {"message", "type", "param", "code"}}``; unknown fields are ignored, as OpenAI does.
  ``top_p``, the penalties, ``stop`` and ``response_format`` are checked but not applied;
* a body over ``max_body_bytes`` gets 413 before it is read (Content-Length) or as soon as it
  passes the limit (chunked), and a prompt that does not fit the model's context with its
  ``max_tokens`` gets 400 ``context_length_exceeded`` (rendered and counted off the event loop),
  so no single request can hold the generation worker for hours;
* generation runs in the backend's worker thread (``TransformersBackend.chat`` only awaits a
  future), so ``/v1/models`` and other clients are answered while a batch generates;
* the key is compared in constant time and never written to a log or an error message.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from typing import Annotated, Any, Literal, Union

from aiohttp import web
from jinja2 import TemplateError
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr,
                      ValidationError, ValidationInfo, field_validator)

from agentscaler.llm.base import Completion
from agentscaler.llm.render import render_prompt
from agentscaler.llm.transformers_backend import TransformersBackend

log = logging.getLogger(__name__)

BACKEND = web.AppKey("backend", TransformersBackend)
MODEL_ID = web.AppKey("model_id", str)
MAX_TOKENS = web.AppKey("max_tokens", int)
MAX_BODY = web.AppKey("max_body", int)
GUARD = web.AppKey("guard", object)

DEFAULT_MAX_BODY_BYTES = 1024 ** 2
DEFAULT_MAX_TOKENS = 512  # when a request names none (clipped to what the context has left)
FALLBACK_MAX_TOKENS_LIMIT = 32768  # when the backend has no known context length


class RequestError(Exception):
    """A request the server refuses: HTTP status, OpenAI error type, param and code."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind


def error_response(status: int, message: str, kind: str = "invalid_request_error", *, param: str | None = None,
                   code: str | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "param": param, "code": code}},
                             status=status)


# ---------------------------------------------------------------------------------------------------
# The chat-completions request (the OpenAI fields this server reads or checks; the rest are ignored)
# ---------------------------------------------------------------------------------------------------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _content_parts(allowed: tuple[str, ...], *, nullable: bool = False):
    """Content as OpenAI allows it for a role: a string or a list of parts of the ``allowed`` types."""

    def check(value: Any) -> Any:
        if value is None and nullable or isinstance(value, str):
            return value
        if not isinstance(value, list):
            raise ValueError("must be a string or a list of content parts")
        for index, part in enumerate(value):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in allowed:
                raise ValueError(f"part {index} has type {kind!r}; this server takes only "
                                 f"{' and '.join(map(repr, allowed))} parts here")
            if not isinstance(part.get(kind), str):
                raise ValueError(f"part {index} of type {kind!r} needs a string {kind!r}")
        return value

    return AfterValidator(check)


TextContent = Annotated[Any, _content_parts(("text",))]


class SystemMessage(_Lenient):
    role: Literal["system", "developer"]
    content: TextContent
    name: StrictStr | None = None


class UserMessage(_Lenient):
    role: Literal["user"]
    content: TextContent
    name: StrictStr | None = None


class FunctionCall(_Lenient):
    name: StrictStr
    arguments: StrictStr  # a JSON text, as OpenAI sends it


class ToolCall(_Lenient):
    id: StrictStr
    type: Literal["function"] = "function"
    function: FunctionCall


class AssistantMessage(_Lenient):
    role: Literal["assistant"]
    content: Annotated[Any, _content_parts(("text", "refusal"), nullable=True)] = None
    tool_calls: list[ToolCall] | None = None
    reasoning_content: StrictStr | None = None
    refusal: StrictStr | None = None
    name: StrictStr | None = None


class ToolMessage(_Lenient):
    role: Literal["tool"]
    content: TextContent
    tool_call_id: StrictStr
    name: StrictStr | None = None


Message = Annotated[Union[SystemMessage, UserMessage, AssistantMessage, ToolMessage], Field(discriminator="role")]


class FunctionDefinition(_Lenient):
    name: StrictStr = Field(min_length=1, max_length=64)
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class Tool(_Lenient):
    type: Literal["function"]
    function: FunctionDefinition


class StreamOptions(_Lenient):
    include_usage: StrictBool | None = None


def _tool_choice(value: Any) -> Any:
    if value is None or value in ("none", "auto", "required"):
        return value
    if (isinstance(value, dict) and value.get("type") == "function" and isinstance(value.get("function"), dict)
            and isinstance(value["function"].get("name"), str)):
        return value
    raise ValueError("must be 'none', 'auto', 'required' or {'type': 'function', 'function': {'name': ...}}")


def _stop(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) <= 4 and all(isinstance(s, str) for s in value):
        return value
    raise ValueError("must be a string or a list of at most 4 strings")


Probability = Annotated[float | None, Field(strict=True, gt=0, le=1)]
Penalty = Annotated[float | None, Field(strict=True, ge=-2, le=2)]


class ChatRequest(_Lenient):
    """A ``POST /v1/chat/completions`` body. Validate with ``context={"max_tokens": LIMIT}``."""

    model: StrictStr
    messages: list[Message] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: Annotated[Any, AfterValidator(_tool_choice)] = None
    parallel_tool_calls: StrictBool | None = None
    max_tokens: StrictInt | None = None
    max_completion_tokens: StrictInt | None = None
    temperature: Annotated[float | None, Field(strict=True, ge=0, le=2)] = None
    top_p: Probability = None
    presence_penalty: Penalty = None
    frequency_penalty: Penalty = None
    n: StrictInt | None = None
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    seed: Annotated[StrictInt | None, Field(ge=-2 ** 63, le=2 ** 64 - 1)] = None  # what torch seeds take
    stop: Annotated[Any, AfterValidator(_stop)] = None
    logprobs: StrictBool | None = None
    top_logprobs: Annotated[StrictInt | None, Field(ge=0, le=20)] = None
    user: StrictStr | None = None

    @field_validator("max_tokens", "max_completion_tokens")
    @classmethod
    def _token_budget(cls, value: int | None, info: ValidationInfo) -> int | None:
        limit = (info.context or {}).get("max_tokens", FALLBACK_MAX_TOKENS_LIMIT)
        if value is not None and not 1 <= value <= limit:
            raise ValueError(f"must be between 1 and {limit}")
        return value

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int | None) -> int | None:
        if value not in (None, 1):
            raise ValueError("only n=1 is supported")
        return value

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value: bool | None) -> bool | None:
        if value:
            raise ValueError("logprobs are not supported by this server")
        return value


def _param(loc: tuple) -> str | None:
    """``('messages', 0, 'user', 'content')`` as ``messages[0].content`` (the role tag dropped)."""
    text = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif not (index == 2 and loc[0] == "messages"):
            text += f".{part}" if text else str(part)
    return text or None


def validation_error(error: ValidationError) -> RequestError:
    problems = []
    for problem in error.errors(include_url=False, include_input=False)[:3]:
        reason = problem["ctx"]["error"] if problem["type"] == "value_error" else problem["msg"]
        where = _param(problem["loc"])
        problems.append(f"Invalid '{where}': {reason}" if where else str(reason))
    first = error.errors(include_url=False, include_input=False)[0]
    return RequestError(400, "; ".join(problems), param=_param(first["loc"]), code="invalid_value")


def parse_request(raw: bytes, *, max_tokens: int) -> tuple[ChatRequest, dict[str, Any]]:
    """The validated request and the body it came from, or a ``RequestError``."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:  # bad JSON, bad encoding, absurd nesting
        raise RequestError(400, f"the body is not valid JSON: {str(error)[:200]}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the body must be a JSON object", code="invalid_json")
    try:
        return ChatRequest.model_validate(body, context={"max_tokens": max_tokens}), body
    except ValidationError as error:
        raise validation_error(error) from None
    except RecursionError:
        raise RequestError(400, "the body is nested too deeply", code="invalid_value") from None


def plain_text(content: Any) -> Any:
    """OpenAI content parts (``[{"type": "text", "text": ...}]``) as the one string the template expects."""
    if isinstance(content, list):
        return "".join(part.get("text") or part.get("refusal") or "" for part in content if isinstance(part, dict))
    return content


def template_message(message: dict[str, Any]) -> dict[str, Any]:
    """A validated message as the chat template reads it: string content, ``developer`` as ``system``."""
    role = "system" if message["role"] == "developer" else message["role"]
    return {**message, "role": role, "content": plain_text(message.get("content"))}


class PromptGuard:
    """Renders and counts prompts off the event loop, with its own tokenizer copy (one thread at a time)."""

    def __init__(self, backend: Any, context_length: int):
        self.tokenizer = copy.deepcopy(backend.tokenizer)
        self.enable_thinking = getattr(backend, "enable_thinking", False)
        self.context_length = context_length
        self.lock = threading.Lock()

    def budget(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
               max_tokens: int | None) -> int:
        """The ``max_tokens`` to generate with, or ``RequestError`` when the prompt leaves no room for it."""
        with self.lock:
            try:
                prompt = render_prompt(self.tokenizer, messages, tools, enable_thinking=self.enable_thinking)
            except TemplateError as error:
                raise RequestError(400, f"the chat template refused the messages: {error}", param="messages",
                                   code="invalid_value") from None
            wanted = max_tokens or DEFAULT_MAX_TOKENS
            if len(prompt.encode()) + wanted <= self.context_length:  # every token spans at least one byte
                return wanted
            prompt_tokens = len(self.tokenizer.encode(prompt, add_special_tokens=False))
        room = self.context_length - prompt_tokens
        if max_tokens is None and room > 0:
            return min(DEFAULT_MAX_TOKENS, room)
        if room < wanted:
            raise RequestError(
                400, f"This model's maximum context length is {self.context_length} tokens. However, you "
                     f"requested {prompt_tokens + wanted} tokens ({prompt_tokens} in the messages, {wanted} in the "
                     f"completion). Please reduce the length of the messages or completion.",
                param="messages", code="context_length_exceeded")
        return wanted


def context_length(backend: Any) -> int | None:
    config = getattr(getattr(backend, "model", None), "config", None)
    length = getattr(config, "max_position_embeddings", None)
    return length if isinstance(length, int) and length > 0 else None


# ---------------------------------------------------------------------------------------------------
# Middlewares and handlers
# ---------------------------------------------------------------------------------------------------


@web.middleware
async def openai_errors(request: web.Request, handler):
    """Every refusal and failure as an OpenAI-style JSON error (404 routes, 405, 413, 500 included)."""
    try:
        return await handler(request)
    except RequestError as error:
        return error_response(error.status, error.message, error.kind, param=error.param, code=error.code)
    except web.HTTPRequestEntityTooLarge:
        return too_large(request.app[MAX_BODY])
    except web.HTTPException as error:
        if error.status < 400:
            raise
        response = error_response(error.status, error.reason, code=error.reason.lower().replace(" ", "_"))
        if "Allow" in error.headers:
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("chat completion failed")  # the traceback, never the headers (no key in it)
        return error_response(500, "the server failed to answer this request", "server_error")


def too_large(limit: int) -> web.Response:
    return error_response(413, f"the request body is larger than this server's limit of {limit} bytes",
                          code="request_too_large")


def require_key(api_key: str | None):
    """Middleware: 401 unless the request carries ``Authorization: Bearer <api_key>`` (when a key is set).

    Both sides are hashed before ``hmac.compare_digest``, so the comparison takes the same time
    whatever the header holds, its length included; neither the key nor the header is logged.
    """
    expected = hashlib.sha256(f"Bearer {api_key}".encode()).digest() if api_key is not None else None

    @web.middleware
    async def middleware(request: web.Request, handler):
        if expected is not None:
            given = hashlib.sha256(request.headers.get("Authorization", "").encode("utf-8", "surrogateescape"))
            if not hmac.compare_digest(given.digest(), expected):
                return error_response(401, "missing or wrong API key (send 'Authorization: Bearer KEY')",
                                      code="invalid_api_key")
        return await handler(request)

    return middleware


@web.middleware
async def limit_body(request: web.Request, handler):
    """413 at once for a declared Content-Length over the limit; chunked bodies meet ``client_max_size``."""
    if request.content_length is not None and request.content_length > request.app[MAX_BODY]:
        return too_large(request.app[MAX_BODY])
    return await handler(request)


async def list_models(request: web.Request) -> web.Response:
    model = request.app[MODEL_ID]
    return web.json_response({"object": "list", "data": [
        {"id": model, "object": "model", "created": 0, "owned_by": "agentscaler"}]})


def choice_message(completion: Completion) -> dict[str, Any]:
    message = dict(completion.message)
    if completion.reasoning is not None:
        message["reasoning_content"] = completion.reasoning
    return message


async def chat_completions(request: web.Request) -> web.StreamResponse:
    if request.content_type != "application/json":
        raise RequestError(400, f"Content-Type must be application/json, not {request.content_type[:100]!r}",
                           code="invalid_content_type")
    chat, body = parse_request(await request.read(), max_tokens=request.app[MAX_TOKENS])
    if chat.model != request.app[MODEL_ID]:
        raise RequestError(404, f"The model '{chat.model[:200]}' does not exist (this server serves "
                                f"'{request.app[MODEL_ID]}')", param="model", code="model_not_found")
    messages = [template_message(m) for m in body["messages"]]
    tools = body.get("tools") if chat.tool_choice != "none" else None
    max_tokens = chat.max_completion_tokens or chat.max_tokens
    guard = request.app[GUARD]
    if guard is not None:
        max_tokens = await asyncio.to_thread(guard.budget, messages, tools, max_tokens)
    completion = await request.app[BACKEND].chat(
        messages, tools, seed=chat.seed or 0, max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
        temperature=chat.temperature if chat.temperature is not None else 1.0)
    header = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": request.app[MODEL_ID]}
    usage = {"prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens,
             "total_tokens": completion.prompt_tokens + completion.completion_tokens}
    extras = {"token_ids": completion.token_ids, "parse_errors": completion.parse_errors}
    if chat.stream:
        include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
        return await stream_completion(request, header, completion, usage, extras, include_usage)
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


def make_app(backend: TransformersBackend, *, model_id: str, api_key: str | None = None,
             max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_tokens: int | None = None) -> web.Application:
    """The server's app. ``max_tokens`` bounds a request's ``max_tokens`` (default: the model's context length).

    ``backend`` is any ``ChatBackend``; with a ``tokenizer`` and a model config that states its context
    length (as ``TransformersBackend`` has), prompts are checked against that length before they are queued.
    """
    window = context_length(backend)
    app = web.Application(middlewares=[openai_errors, require_key(api_key), limit_body],
                          client_max_size=max_body_bytes)
    app[BACKEND] = backend
    app[MODEL_ID] = model_id
    app[MAX_BODY] = max_body_bytes
    app[MAX_TOKENS] = max_tokens or window or FALLBACK_MAX_TOKENS_LIMIT
    app[GUARD] = PromptGuard(backend, window) if window and hasattr(backend, "tokenizer") else None
    app.router.add_get("/v1/models", list_models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    return app
