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
    max_body_mb: float = typer.Option(1.0, "--max-body-mb", min=0.001,
                                      help="Largest request body in MiB; bigger ones get 413."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1,
                                             help="Largest max_tokens a request may ask for "
                                                  "(default: the model's context length)."),
) -> None:
    """Serve a local model over an OpenAI-compatible API (/v1/models, /v1/chat/completions).

    Binds to 127.0.0.1 unless --host says otherwise; prefer AGENTSCALER_API_KEY to --api-key (a
    command line is visible to other users of the machine). The key is never printed or logged.
    """
    from aiohttp import web

    from agentscaler.llm.serve import make_app
    from agentscaler.llm.transformers_backend import TransformersBackend

    backend = TransformersBackend(model, device=device, max_batch=max_batch, enable_thinking=enable_thinking)
    typer.echo(f"serving {model} on http://{host}:{port}/v1" + (" (API key required)" if api_key else ""))
    if host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        typer.echo(f"warning: {host} is reachable beyond this machine and no API key is set", err=True)
    app = make_app(backend, model_id=str(model), api_key=api_key, max_body_bytes=int(max_body_mb * 1024 ** 2),
                   max_tokens=max_tokens)
    web.run_app(app, host=host, port=port, print=None)
