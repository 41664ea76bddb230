"""LLM backends behind one interface (``ChatBackend``), picked by a string in config or on the command line.

    make_backend("/models/qwen3-tiny")           # transformers, in this process
    make_backend("http://127.0.0.1:8000/v1")     # any OpenAI-compatible server (key: $OPENAI_API_KEY)
    make_backend("vllm:/models/Qwen3-32B", tensor_parallel_size=4)
    make_backend(spec, cache=run.llm_cache)      # replies stored, so a rerun replays them exactly

Every stage that talks to a model (task intents, simulated users, agents) gets its backend here, so
keys, caching and naming are the same everywhere. Backends import their engine lazily, so choosing
one never pulls in the others' dependencies.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agentscaler.llm.base import ChatBackend, Completion
from agentscaler.llm.cache import CachedBackend
from agentscaler.llm.cli import serve_command, tiny_model_command

__all__ = ["CachedBackend", "ChatBackend", "Completion", "make_backend", "serve_command", "tiny_model_command"]


def make_backend(spec: str, *, cache: str | os.PathLike | None = None, **options: Any) -> ChatBackend:
    """The backend a spec names: an http(s) URL, ``vllm:PATH``, or a local model directory.

    A URL's ``api_key`` defaults to ``$OPENAI_API_KEY``. With ``cache`` (an SQLite file), the backend is
    wrapped in ``CachedBackend``: a request seen before is answered from the file."""
    backend = _engine(spec, options)
    return CachedBackend(backend, cache) if cache is not None else backend


def _engine(spec: str, options: dict[str, Any]) -> ChatBackend:
    if spec.startswith(("http://", "https://")):
        from agentscaler.llm.openai_backend import OpenAIBackend

        options.setdefault("api_key", os.environ.get("OPENAI_API_KEY"))
        return OpenAIBackend(spec, **options)
    if spec.startswith("vllm:"):
        from agentscaler.llm.vllm_backend import VLLMBackend

        return VLLMBackend(spec.removeprefix("vllm:"), **options)
    if Path(spec).is_dir():
        from agentscaler.llm.transformers_backend import TransformersBackend

        return TransformersBackend(spec, **options)
    raise ValueError(f"unknown model {spec!r}: give an http(s):// URL of an OpenAI-compatible server, "
                     f"vllm:PATH, or a local model directory (nothing is downloaded)")
