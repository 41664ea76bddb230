"""The filter pipeline: rollouts -> validity -> state alignment -> exact match -> dedup, streaming on Ray Data.

    from agentscaler.filters import run_filters
    report = run_filters("runs/demo")          # reads runs/demo/rollouts/*.parquet
    report = run_filters("runs/demo", "x.jsonl")  # or trajectories from elsewhere, matched by task_id

The three filters are fused ``map_batches`` transforms (each also usable on its own, see
``filter_dataset``), followed by the dedup signatures; rows stream to the driver in input order
(``preserve_order``, so which copy dedup keeps is deterministic), where the dedup index decides and
each row is written to ``DIR/filters/kept/`` or ``DIR/filters/rejected/`` as it arrives. Nothing
holds the whole set in memory except the dedup index (a hash and a 64-int signature per kept row).
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from agentscaler.artifacts import RunDir, write_json
from agentscaler.filters.alignment import StateAlignment
from agentscaler.filters.config import FilterConfig
from agentscaler.filters.dedup import DedupIndex, DedupKeys
from agentscaler.filters.exact import ExactMatch
from agentscaler.filters.gold import tasks_path
from agentscaler.filters.report import Funnel
from agentscaler.filters.stage import STATUS_TYPES, column, count, with_columns
from agentscaler.filters.validity import Validity

LINEAGE = [("rollout_id", pa.string()), ("task_id", pa.string()), ("domain_id", pa.int64()),
           ("sample_index", pa.int64()), ("source", pa.string()), ("agent", pa.string()), ("user", pa.string())]
KEPT_SCHEMA = pa.schema(LINEAGE + [
    ("filters_passed", pa.list_(pa.string())), ("tags", pa.list_(pa.string())), ("writes", pa.bool_()),
    ("messages", pa.string()), ("tools", pa.string()), ("rewards", pa.string()), ("status", pa.string()),
    ("final_hash", pa.string()), ("recomputed_hash", pa.string()), ("num_turns", pa.int64()),
    ("num_tool_calls", pa.int64()), ("num_tool_errors", pa.int64())])
REJECTED_SCHEMA = pa.schema(LINEAGE + [
    ("stage", pa.string()), ("reason", pa.string()), ("tags", pa.list_(pa.string())),
    ("final_hash", pa.string()), ("recomputed_hash", pa.string())])


def filters_dir(run: str | os.PathLike) -> Path:
    return RunDir(run).path / "filters"


def read_trajectories(run: str | os.PathLike, input: str | os.PathLike | None = None):
    """The run's ``rollouts/*.parquet``, or JSON lines in the rollouts' row format."""
    import ray.data

    if input is not None:
        return ray.data.read_json(str(input), lines=True)
    rollouts = RunDir(run).require(RunDir(run).path / "rollouts", "rollouts")
    return ray.data.read_parquet(str(rollouts), file_extensions=["parquet"])


def filter_dataset(ds, run: str | os.PathLike, config: FilterConfig | None = None):
    """The three filters, in order, then the dedup signatures, as lazy Ray Data transforms of ``ds``."""
    config = config or FilterConfig()
    options = {"batch_format": "pyarrow", "batch_size": config.batch_size, "udf_modifying_row_count": False}
    for stage in (Validity(config), StateAlignment(run), ExactMatch(run), DedupKeys(config)):
        ds = ds.map_batches(stage, **options)
    return ds


@contextmanager
def _streaming_context(block_bytes: int):
    """Ray Data settings for the run, restored after: rows in input order (so dedup is deterministic) and
    small blocks (a single large rollouts file still spreads over every CPU)."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    saved = ctx.execution_options.preserve_order, ctx.target_max_block_size
    ctx.execution_options.preserve_order, ctx.target_max_block_size = True, block_bytes
    try:
        yield
    finally:
        ctx.execution_options.preserve_order, ctx.target_max_block_size = saved


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table``'s columns in ``schema``'s order and types; a column it lacks is all nulls."""
    return pa.table([table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
                     for f in schema], schema=schema)


class ParquetStream:
    """Rows of one schema appended to a Parquet file as batches arrive; the file appears whole on ``close``."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.schema, self.writer = Path(path), schema, None
        self.tmp = self.path.with_name(f".{self.path.name}.tmp{os.getpid()}")

    def write(self, rows: list[dict] | pa.Table) -> None:
        """Append rows (dicts, or a table whose columns ``conform`` to the schema)."""
        table = (conform(rows, self.schema) if isinstance(rows, pa.Table)
                 else pa.Table.from_pylist(rows, schema=self.schema))
        if table.num_rows:
            if self.writer is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.writer = pq.ParquetWriter(self.tmp, self.schema)
            self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(self.schema.empty_table(), self.tmp)
        else:
            self.writer.close()
        os.replace(self.tmp, self.path)


def run_filters(run: str | os.PathLike, input: str | os.PathLike | None = None,
                config: FilterConfig | None = None) -> dict:
    """Filter the run's trajectories into ``filters/kept`` and ``filters/rejected``; returns the report."""
    config = config or FilterConfig()
    RunDir(run).require(tasks_path(run), "tasks")  # here, not as an error inside a Ray worker
    started = time.perf_counter()
    out = filters_dir(run)
    staging = out / f".staging{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    for name in ("kept", "rejected"):
        (staging / name).mkdir(parents=True)
    writers = {"kept": ParquetStream(staging / "kept" / "part-00000.parquet", KEPT_SCHEMA),
               "rejected": ParquetStream(staging / "rejected" / "part-00000.parquet", REJECTED_SCHEMA)}
    funnel, index = Funnel(), DedupIndex(config)
    with _streaming_context(config.block_bytes):
        batches = filter_dataset(read_trajectories(run, input), run, config).iter_batches(
            batch_format="pyarrow", batch_size=None)
        for batch in batches:
            stages, reasons, passed = (column(batch, name) for name in ("stage", "reason", "filters_passed"))
            ids, exact, blocks, minhash = (column(batch, name) for name in (
                "rollout_id", "exact_key", "dedup_block", "minhash"))
            kept = duplicates = 0
            for i, stage in enumerate(stages):
                if stage is None:
                    reason = index.check(ids[i], exact[i], blocks[i], minhash[i])
                    if reason:
                        stages[i], reasons[i] = "dedup", reason
                        duplicates += 1
                    else:
                        passed[i] = [*passed[i], "dedup"]
                        kept += 1
            count("dedup", kept, duplicates)
            batch = with_columns(batch, {"stage": stages, "reason": reasons, "filters_passed": passed}, STATUS_TYPES)
            for row in zip(column(batch, "domain_id"), stages, reasons, column(batch, "tags")):
                funnel.add(*row)
            is_kept = pc.is_null(batch["stage"])
            writers["kept"].write(batch.filter(is_kept))
            writers["rejected"].write(batch.filter(pc.invert(is_kept)))
    for writer in writers.values():
        writer.close()
    for name in ("kept", "rejected"):
        shutil.rmtree(out / name, ignore_errors=True)
        os.replace(staging / name, out / name)
    staging.rmdir()
    seconds = time.perf_counter() - started
    report = {**funnel.report(), "seconds": round(seconds, 3),
              "trajectories_per_s": round(funnel.entered["validity"] / max(seconds, 1e-9), 1),
              "input_path": str(input) if input else str(RunDir(run).path / "rollouts"),
              "config": config.model_dump()}
    write_json(report, out / "report.json")
    return report


def kept_dataset(run: str | os.PathLike):
    """The kept set as a pyarrow dataset, to stream in batches."""
    import pyarrow.dataset as pds

    return pds.dataset(RunDir(run).require(filters_dir(run) / "kept", "filter"), format="parquet")


def read_kept(run: str | os.PathLike) -> pa.Table:
    return kept_dataset(run).to_table()


def read_rejected(run: str | os.PathLike) -> pa.Table:
    return pq.read_table(RunDir(run).require(filters_dir(run) / "rejected", "filter"))

