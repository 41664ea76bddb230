"""Where each stage writes in a run directory, how it writes, and how later stages read it back.

Every artifact is written to a temporary name and renamed into place, so a killed run leaves either
a whole artifact or none: a rerun trusts what exists and redoes only what is missing. ``RunDir``
names every artifact of every stage; the writers below are the only code that writes one, and each
artifact has one reader. Schemas and typed rows are in ``contracts``.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from agentscaler.contracts import Task
from agentscaler.toolspec import ToolSpec


class RunDir:
    """The artifacts of one pipeline run, stage by stage (see DESIGN.md)."""

    def __init__(self, path: str | os.PathLike | "RunDir"):
        self.path = path.path if isinstance(path, RunDir) else Path(path)

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

    def env_spec(self, domain_id: int) -> Path:
        return self.envs / "domains" / f"{domain_id}.json"

    @property
    def env_tools(self) -> Path:
        return self.envs / "tools.parquet"

    @property
    def envs_summary(self) -> Path:
        return self.envs / "summary.json"

    # stage 6: tasks
    @property
    def tasks(self) -> Path:
        return self.path / "tasks.parquet"

    @property
    def tasks_summary(self) -> Path:
        return self.path / "tasks_summary.json"

    # stage 7: rollouts
    @property
    def rollouts(self) -> Path:
        return self.path / "rollouts"

    @property
    def rollouts_summary(self) -> Path:
        return summary_beside(self.rollouts)

    @property
    def llm_cache(self) -> Path:
        return self.path / "llm_cache.sqlite"

    # stage 8: filters and export
    @property
    def filters(self) -> Path:
        return self.path / "filters"

    @property
    def kept(self) -> Path:
        return self.filters / "kept"

    @property
    def rejected(self) -> Path:
        return self.filters / "rejected"

    @property
    def filter_report(self) -> Path:
        return self.filters / "report.json"

    @property
    def export_summary(self) -> Path:
        return self.filters / "export.json"

    @property
    def export(self) -> Path:
        return self.path / "export" / "train.parquet"

    # stage 9: training
    @property
    def train(self) -> Path:
        return self.path / "train"

    # stage 10: evaluation
    def eval(self, name: str) -> Path:
        return self.path / "eval" / name

    def eval_rollouts(self, name: str) -> Path:
        return self.eval(name) / "rollouts"

    def eval_report(self, name: str) -> Path:
        return self.eval(name) / "report.json"

    # the run's report page
    @property
    def report(self) -> Path:
        return self.path / "report.html"

    # the run's tasks against public benchmarks' test items (`agentscaler bench contamination`)
    @property
    def contamination(self) -> Path:
        return self.path / "contamination.json"

    # --- reading --------------------------------------------------------------------------------------
    def require(self, artifact: Path) -> Path:
        """``artifact``, or a FileNotFoundError that names the verb which writes it."""
        if not artifact.exists():
            verb = self.producer(artifact)
            hint = f": run `agentscaler {verb} --run {self.path}` first" if verb else ""
            raise FileNotFoundError(f"{artifact} is missing{hint}")
        return artifact

    def producer(self, artifact: Path) -> str | None:
        """The CLI verb that writes ``artifact`` (None for a path no stage writes)."""
        artifact = Path(artifact)
        for verb, paths in self._producers().items():
            if any(artifact == p or p in artifact.parents for p in paths):
                return verb
        return None

    def _producers(self) -> dict[str, tuple[Path, ...]]:
        return {
            "ingest": (self.tools, self.quarantine, self.ingest_summary),
            "graph": (self.graph, self.embeddings, self.graph_summary),
            "domains": (self.domains, self.domains_summary),
            "build-envs": (self.envs,),
            "tasks": (self.tasks, self.tasks_summary),
            "rollout": (self.rollouts, self.rollouts_summary, self.llm_cache),
            "filter": (self.kept, self.rejected, self.filter_report),
            "export": (self.export, self.export_summary),
            "train": (self.train,),
            "eval": (self.path / "eval",),
            "report": (self.report,),
        }

    def read_tools(self) -> list[ToolSpec]:
        return [ToolSpec.from_row(row) for row in pq.read_table(self.require(self.tools)).to_pylist()]

    def read_tasks(self, split: str | None = None) -> list[Task]:
        """The run's tasks; ``split``: all (None), one split's name, or "heldout" (both held-out kinds)."""
        tasks = [Task.from_row(row) for row in pq.read_table(self.require(self.tasks)).to_pylist()]
        return [t for t in tasks if t.in_split(split)]

    def read_rollouts(self, columns: list[str] | None = None, directory: Path | None = None) -> list[dict]:
        """The rows of the rollout shards (``directory``: an evaluation's instead of the run's)."""
        return read_shards(directory or self.require(self.rollouts), columns)

    def read_kept(self, columns: list[str] | None = None) -> pa.Table:
        return self.kept_dataset().to_table(columns=columns)

    def kept_dataset(self):
        """The kept set as a pyarrow dataset, to stream in batches."""
        import pyarrow.dataset as pds

        return pds.dataset(self.require(self.kept), format="parquet")

    def read_rejected(self) -> pa.Table:
        return pq.read_table(self.require(self.rejected))

    def read_summary(self, summary: Path) -> dict:
        """A stage's JSON summary or report ({} when the stage has not written it)."""
        return json.loads(summary.read_text()) if summary.exists() else {}


def summary_beside(directory: Path) -> Path:
    """Where a directory of shards keeps its summary: ``rollouts`` -> ``rollouts_summary.json``."""
    return directory.with_name(f"{directory.name}_summary.json")


def read_shards(directory: Path, columns: list[str] | None = None) -> list[dict]:
    """The rows of every ``part-*.parquet`` shard in ``directory``, shard by shard."""
    shards = sorted(Path(directory).glob("part-*.parquet"))
    return [r for shard in shards for r in pq.read_table(shard, columns=columns).to_pylist()]


def read_rows(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a table file, Parquet or JSON lines by its suffix."""
    path = Path(path)
    return read_jsonl(path) if path.suffix == ".jsonl" else pq.read_table(path).to_pylist()


def read_jsonl(path: Path) -> list[dict]:
    with Path(path).open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


# --- writing ------------------------------------------------------------------------------------------
@contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; renamed onto ``path`` when the block ends without error.

    Works for files and directories: a directory replaces the one there (``os.replace`` cannot
    replace a non-empty directory, so the old one is moved aside first and removed after)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    _remove(tmp)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if tmp.is_dir() and path.exists():
        old = path.with_name(f".{path.name}.old{os.getpid()}")
        os.replace(path, old)
        os.replace(tmp, path)
        _remove(old)
    else:
        os.replace(tmp, path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def write_table(table: pa.Table, path: Path) -> None:
    with atomic(path) as tmp:
        pq.write_table(table, tmp)


def write_json(value: Any, path: Path) -> None:
    with atomic(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def write_jsonl(rows: Iterable[dict], path: Path) -> None:
    with atomic(path) as tmp, tmp.open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table``'s columns in ``schema``'s order and types; a column it lacks is all nulls."""
    return pa.table([table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
                     for f in schema], schema=schema)


def as_table(rows: list[dict] | pa.Table, schema: pa.Schema) -> pa.Table:
    """Rows (dicts, or a table whose columns ``conform``) as a table of ``schema``."""
    return conform(rows, schema) if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=schema)


class ParquetStream:
    """Rows of one schema appended to a Parquet file as batches arrive; the file appears whole on ``close``."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.schema, self.writer, self.rows = Path(path), schema, None, 0
        self.tmp = self.path.with_name(f".{self.path.name}.tmp{os.getpid()}")

    def write(self, rows: list[dict] | pa.Table) -> None:
        table = as_table(rows, self.schema)
        if table.num_rows:
            if self.writer is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.writer = pq.ParquetWriter(self.tmp, self.schema)
            self.writer.write_table(table)
            self.rows += table.num_rows

    def close(self) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(self.schema.empty_table(), self.tmp)
        else:
            self.writer.close()
        os.replace(self.tmp, self.path)


class ShardWriter:
    """Rows in, whole Parquet shards out (``part-00000.parquet``, ...): a shard appears, renamed into place,
    once it holds ``rows_per_shard`` rows (None: one shard for everything) or on ``close``. A killed writer
    leaves whole shards only; a new writer on the same directory numbers its shards after them."""

    def __init__(self, directory: Path, schema: pa.Schema, rows_per_shard: int | None = None):
        self.directory, self.schema, self.rows_per_shard = Path(directory), schema, rows_per_shard
        self.directory.mkdir(parents=True, exist_ok=True)
        self.next = len(list(self.directory.glob("part-*.parquet")))
        self.stream: ParquetStream | None = None

    def write(self, rows: list[dict] | pa.Table) -> None:
        table = as_table(rows, self.schema)
        while table.num_rows:
            if self.stream is None:
                self.stream = ParquetStream(self.directory / f"part-{self.next:05d}.parquet", self.schema)
            room = table.num_rows if self.rows_per_shard is None else self.rows_per_shard - self.stream.rows
            self.stream.write(table.slice(0, room))
            table = table.slice(room)
            if self.rows_per_shard is not None and self.stream.rows >= self.rows_per_shard:
                self.flush()

    def flush(self) -> None:
        """Close the open shard (if it has rows) so that it appears on disk."""
        if self.stream is not None and self.stream.rows:
            self.stream.close()
            self.next += 1
            self.stream = None

    def close(self) -> None:
        """Close the open shard; a writer that wrote nothing at all leaves one empty shard (a readable table)."""
        if self.stream is None and self.next == 0:
            self.stream = ParquetStream(self.directory / "part-00000.parquet", self.schema)
        if self.stream is not None:
            self.stream.close()
            self.next += 1
            self.stream = None
