"""``agentscaler tiny-model`` and ``agentscaler serve``: the LLM layer's commands."""

from __future__ import annotations

from pathlib import Path

import typer


def tiny_model_command(
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the model and tokenizer to."),
    moe: bool = typer.Option(False, "--moe", help="A Qwen3-MoE (4 experts, top-2) instead of a dense Qwen3."),
    seed: int = typer.Option(0, help="Seed of the random weights."),
) -> None:
    """Build a tiny random-weight Qwen3 with a locally trained tokenizer and Qwen3's chat template."""
    from agentscaler.llm.tiny import build_tiny_model

    typer.echo(f"tiny {'Qwen3-MoE' if moe else 'Qwen3'} written to {build_tiny_model(out, moe=moe, seed=seed)}")
