"""LLM backends behind one interface (``ChatBackend``), picked by a string in config or on the command line.

    make_backend("/models/qwen3-tiny")           # transformers, in this process
    make_backend("http://127.0.0.1:8000/v1")     # any OpenAI-compatible server
    make_backend("vllm:/models/Qwen3-32B", tensor_parallel_size=4)

Backends import their engine lazily, so choosing one never pulls in the others' dependencies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentscaler.llm.base import ChatBackend, Completion

__all__ = ["ChatBackend", "Completion", "make_backend"]


def make_backend(spec: str, **options: Any) -> ChatBackend:
    """The backend a spec names: an http(s) URL, ``vllm:PATH``, or a local model directory."""
    if spec.startswith(("http://", "https://")):
        from agentscaler.llm.openai_backend import OpenAIBackend

        return OpenAIBackend(spec, **options)
    if spec.startswith("vllm:"):
        from agentscaler.llm.vllm_backend import VLLMBackend

        return VLLMBackend(spec.removeprefix("vllm:"), **options)
    if Path(spec).is_dir():
        from agentscaler.llm.transformers_backend import TransformersBackend

        return TransformersBackend(spec, **options)
    raise ValueError(f"unknown model {spec!r}: give an http(s):// URL of an OpenAI-compatible server, "
                     f"vllm:PATH, or a local model directory (nothing is downloaded)")
