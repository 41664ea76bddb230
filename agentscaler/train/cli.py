"""``agentscaler train`` and the token export (``agentscaler export --format tokens``)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import pyarrow as pa
import typer

from agentscaler.artifacts import write_table
from agentscaler.train.data import read_export, tokenize_rows

DATA = typer.Option(None, "--data", help="The exported training set (Parquet/JSONL rows with messages, tools, "
                                         "split). Default: DIR/export/train.parquet.")


def export_data(run: Path, data: Optional[Path]) -> Path:
    """The exported training set a command reads: ``--data`` or the run's ``export/train.parquet``."""
    path = data or run / "export" / "train.parquet"
    if not path.exists():
        raise typer.BadParameter(f"{path} is missing: run `agentscaler export` for {run} first, or pass --data")
    return path


def export_tokens(rows: Iterable[dict], model_path: Path, out: Path) -> int:
    """Write what the trainer sees, one unpacked sequence a row: rollout_id, input_ids, labels (-100 masked)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    table = pa.Table.from_pylist(list(tokenize_rows(rows, tokenizer)), schema=pa.schema([
        ("rollout_id", pa.string()), ("input_ids", pa.list_(pa.int32())), ("labels", pa.list_(pa.int32()))]))
    write_table(table, out)
    return table.num_rows


def export_tokens_command(
    run: Path = typer.Option(..., "--run", help="Run directory."),
    model: Path = typer.Option(..., "--model", help="Model directory; its tokenizer and template render the rows."),
    out: Path = typer.Option(..., "--out", "-o", help="Parquet file to write."),
    data: Optional[Path] = DATA,
) -> None:
    """Tokenize the exported training set with the model's chat template; labels only on the agent's turns."""
    count = export_tokens(read_export(export_data(run, data)), model, out)
    typer.echo(f"{count} sequences -> {out}")


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
    final = train_stages(read_export(export_data(run, data)), model, load_preset(preset), out or run / "train", stages)
    typer.echo(f"final weights: {final}")
