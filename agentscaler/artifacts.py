"""Where each stage writes in a run directory, and how.

Every artifact is written to a temporary name and renamed into place, so a killed run leaves either
a whole artifact or none: a rerun trusts what exists and redoes only what is missing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from agentscaler.toolspec import ToolSpec


class RunDir:
    """The artifacts of one pipeline run, stage by stage (see DESIGN.md)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # stage 1: ingest
    @property
    def tools(self) -> Path:
        return self.path / "tools.parquet"

    @property
    def quarantine(self) -> Path:
        return self.path / "quarantine.jsonl"

    @property
    def ingest_summary(self) -> Path:
        return self.path / "ingest_summary.json"

    # stage 2: tool graph
    @property
    def embeddings(self) -> Path:
        return self.path / "embeddings"

    @property
    def graph(self) -> Path:
        return self.path / "graph.parquet"

    @property
    def graph_summary(self) -> Path:
        return self.path / "graph_summary.json"

    # stage 3: domains
    @property
    def domains(self) -> Path:
        return self.path / "domains.parquet"

    @property
    def domains_summary(self) -> Path:
        return self.path / "domains_summary.json"

    # stage 4: environments
    @property
    def envs(self) -> Path:
        return self.path / "envs"

    def require(self, artifact: Path, stage: str) -> Path:
        if not artifact.exists():
            raise FileNotFoundError(f"{artifact} is missing: run `agentscaler {stage}` for {self.path} first")
        return artifact

    def read_tools(self) -> list[ToolSpec]:
        table = pq.read_table(self.require(self.tools, "ingest"))
        return [ToolSpec.from_row(row) for row in table.to_pylist()]


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def write_table(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def write_json(value: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)


def write_jsonl(rows: Iterable[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    with tmp.open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)


def read_jsonl(path: Path) -> list[dict]:
    with path.open() as handle:
        return [json.loads(line) for line in handle if line.strip()]
