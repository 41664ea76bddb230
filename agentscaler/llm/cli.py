"""``agentscaler tiny-model`` and ``agentscaler serve``: the LLM layer's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def tiny_model_command(
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the model and tokenizer to."),
    moe: bool = typer.Option(False, "--moe", help="A Qwen3-MoE (4 experts, top-2) instead of a dense Qwen3."),
    seed: int = typer.Option(0, help="Seed of the random weights."),
) -> None:
    """Build a tiny random-weight Qwen3 with a locally trained tokenizer and Qwen3's chat template."""
    from agentscaler.llm.tiny import build_tiny_model

    typer.echo(f"tiny {'Qwen3-MoE' if moe else 'Qwen3'} written to {build_tiny_model(out, moe=moe, seed=seed)}")


def serve_command(
    model: Path = typer.Option(..., "--model", exists=True, file_okay=False, help="Local model directory."),
    host: str = typer.Option("127.0.0.1", help="Address to bind (localhost unless told otherwise)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="AGENTSCALER_API_KEY",
                                          help="Refuse requests without 'Authorization: Bearer KEY' (401)."),
    device: str = typer.Option("cpu", help="Torch device of the model ('cpu', 'cuda')."),
    max_batch: int = typer.Option(8, help="Most requests one generate run serves."),
    enable_thinking: bool = typer.Option(False, help="Let Qwen3 think (<think>) before answering."),
) -> None:
    """Serve a local model over an OpenAI-compatible API (/v1/models, /v1/chat/completions)."""
    from aiohttp import web

    from agentscaler.llm.serve import make_app
    from agentscaler.llm.transformers_backend import TransformersBackend

    backend = TransformersBackend(model, device=device, max_batch=max_batch, enable_thinking=enable_thinking)
    typer.echo(f"serving {model} on http://{host}:{port}/v1" + (" (API key required)" if api_key else ""))
    web.run_app(make_app(backend, model_id=str(model), api_key=api_key), host=host, port=port, print=None)
