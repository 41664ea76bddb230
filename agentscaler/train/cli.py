"""``agentscaler train`` and ``agentscaler export``: the export composes stage 8's training set with this
stage's tokenizer (``--format tokens``: what the trainer sees), so it lives here, above both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional

import typer

from agentscaler.artifacts import RunDir, as_table, read_rows, write_table
from agentscaler.console import init_ray
from agentscaler.contracts import TOKENS
from agentscaler.filters import ExportConfig, export_training_set
from agentscaler.options import config_command
from agentscaler.train.data import tokenize_rows

DATA = typer.Option(None, "--data", help="The exported training set (Parquet/JSONL rows with messages, tools, "
                                         "split). Default: DIR/export/train.parquet.")
FORMATS = ("parquet", "jsonl", "tokens")


def export_data(run: Path, data: Optional[Path]) -> Path:
    """The exported training set a command reads: ``--data`` or the run's ``export/train.parquet``."""
    path = data or RunDir(run).export
    if not path.exists():
        raise typer.BadParameter(f"{path} is missing: run `agentscaler export --run {run}` first, or pass --data")
    return path


def export_tokens(rows: Iterable[dict], model_path: Path, out: Path) -> int:
    """Write what the trainer sees (``contracts.TOKENS``), one unpacked sequence a row: rollout_id, input_ids,
    labels (-100 where masked)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    table = as_table(list(tokenize_rows(rows, tokenizer)), TOKENS)
    write_table(table, out)
    return table.num_rows


@config_command(ExportConfig, skip=("format", "vertical_domains"))
def export_command(
    config: ExportConfig,
    run: Path = typer.Option(..., "--run", help="Run directory filtered by `agentscaler filter`."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output file (.parquet or .jsonl). Default: "
                                                           "DIR/export/train.parquet (train.jsonl for jsonl)."),
    format: Optional[str] = typer.Option(None, "--format", help="parquet or jsonl (chat format), or tokens: what the "
                                         "trainer sees (rollout_id, input_ids, labels with -100 where masked). "
                                         "Default: the config's format (parquet)."),
    model: Optional[Path] = typer.Option(None, "--model", help="With --format tokens: the model whose tokenizer "
                                                                "and chat template render the rows."),
    vertical_domains: Optional[list[int]] = typer.Option(
        None, "--vertical-domain", help="A vertical (stage-2) domain id; repeat for several. "
                                        "Default: the --vertical-count domains with the most kept writes."),
) -> None:
    """Export the kept trajectories as a chat-format training set, tagged general / vertical (or as tokens)."""
    format = format or config.format
    if format not in FORMATS:
        raise typer.BadParameter(f"--format is one of {', '.join(FORMATS)}, not {format!r}")
    if vertical_domains:
        config = config.model_copy(update={"vertical_domains": vertical_domains})
    if format != "tokens":
        config = config.model_copy(update={"format": format})
        typer.echo(json.dumps(export_training_set(run, out, config), indent=2))
        return
    if model is None or out is None:
        raise typer.BadParameter("--format tokens needs --model (its tokenizer and chat template render the rows) "
                                 "and --out")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        chat = Path(tmp) / "chat.parquet"
        export_training_set(run, chat, config.model_copy(update={"format": "parquet"}))
        typer.echo(f"{export_tokens(read_rows(chat), model, out)} sequences -> {out}")


def train_command(
    run: Path = typer.Option(..., "--run", help="Run directory."),
    model: Path = typer.Option(..., "--model", help="Base model directory (Hugging Face format)."),
    preset: str = typer.Option("tiny", "--preset", help="Preset name (agentscaler/train/presets) or a YAML file."),
    stages: str = typer.Option("two", "--stages",
                               help="two: general, then vertical from its weights; one: both at once."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory. Default: DIR/train."),
    data: Optional[Path] = DATA,
) -> None:
    """Fine-tune on Ray Train; final weights in OUT/final, per-stage losses in OUT/<stage>/metrics.jsonl."""
    from agentscaler.train.config import load_preset
    from agentscaler.train.stages import train_stages

    if stages not in ("two", "one"):
        raise typer.BadParameter("--stages is 'two' or 'one'")
    settings = load_preset(preset)  # first: a misspelt preset key fails before the data is read or Ray starts
    init_ray()
    final = train_stages(read_rows(export_data(run, data)), model, settings, out or RunDir(run).train, stages)
    typer.echo(f"final weights: {final}")
