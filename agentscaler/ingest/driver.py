"""The ingest stage: parse every input file on Ray Data, deduplicate, write the run's artifacts."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from functools import reduce
from importlib.resources import files
from pathlib import Path
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from agentscaler.artifacts import RunDir, write_json, write_jsonl, write_table
from agentscaler.configs import StrictConfig
from agentscaler.console import init_ray
from agentscaler.contracts import TOOLS
from agentscaler.ingest.reader import ROW_SCHEMA, Unit, parse_unit, plan_units
from agentscaler.ingest.records import reason_kind

DEFAULT_CHUNK_BYTES = 2 << 20
"""JSON-lines files above this are split into tasks of about this size. Measured on 2 cores, the
22 MB ToolBench file plus BFCL: 9 s in 2 MiB tasks, 11 s in 4 MiB tasks, 12 s as whole files."""

"""``tools.parquet``: ToolSpec.to_row() columns, JSON-valued ones as JSON text."""


class SourceCounts(BaseModel):
    """What became of one input file's records (or of all of them, in ``totals``)."""

    records: int = Field(default=0, description="Top-level records read (lines, list items, documents).")
    formats: dict[str, int] = Field(default_factory=dict, description="Records per detected format.")
    specs: int = Field(default=0, description="Specs kept: parsed APIs minus duplicates.")
    duplicates: int = Field(default=0, description="APIs dropped because an identical one (same tool_id) came first.")
    quarantined: int = Field(default=0, description="Rows written to quarantine.jsonl.")

    def add(self, other: "SourceCounts") -> "SourceCounts":
        """Fold ``other`` into these counts (in place, returned for ``reduce``)."""
        for field in ("records", "specs", "duplicates", "quarantined"):
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.formats = dict(Counter(self.formats) + Counter(other.formats))
        return self


class IngestReport(BaseModel):
    """The content of ``ingest_summary.json``."""

    out_dir: str
    sources: dict[str, SourceCounts] = Field(description="Counts per input file, named from its SOURCE's parent.")
    totals: SourceCounts
    reasons: dict[str, int] = Field(description="Quarantined rows per reason kind (the reason's text before ':').")
    wall_s: float


def sample_sources() -> list[Path]:
    """The embedded sample corpus, used when no source is given (a user's machine has no shared data)."""
    sample = Path(str(files("agentscaler") / "data" / "sample"))
    return sorted(p for p in sample.rglob("*") if p.suffix in (".json", ".jsonl"))


class IngestConfig(StrictConfig):
    """Settings of the ingest stage; each is a flag of ``agentscaler ingest``."""

    chunk_mb: float = Field(DEFAULT_CHUNK_BYTES / (1 << 20),
                            description="Split JSON-lines files bigger than this (MiB) into parallel tasks.")


def ingest(sources: Sequence[str | os.PathLike], out_dir: str | os.PathLike,
           config: IngestConfig | None = None) -> IngestReport:
    """Ingest API corpora (files or directories) into ``out_dir``; the embedded sample if none given.

    Starts a local Ray only when none is running, so the same call runs inside ``ray job submit``.
    """
    config = config or IngestConfig()
    started = time.perf_counter()
    rows = _parse(plan_units(list(sources) or sample_sources(), int(config.chunk_mb * (1 << 20))))
    specs = rows.filter(pc.equal(rows["kind"], "spec"))
    first = pc.is_in(pa.array(range(len(specs))), value_set=_first_index(specs["tool_id"]))
    tools, duplicates = specs.filter(first), specs.filter(pc.invert(first))
    notes = rows.filter(pc.not_equal(rows["kind"], "spec")).select(["kind", "input", "data"]).to_pylist()
    quarantine = [json.loads(n["data"]) for n in notes if n["kind"] == "quarantine"]

    counts: dict[str, SourceCounts] = {}
    for note in notes:  # stats rows come in input order, so counts list files in input order
        count = counts.setdefault(note["input"], SourceCounts())
        if note["kind"] == "stats":
            count.add(SourceCounts.model_validate_json(note["data"]))
        else:
            count.quarantined += 1
    for table, field in ((tools, "specs"), (duplicates, "duplicates")):
        for name, n in Counter(table["input"].to_pylist()).items():
            setattr(counts[name], field, n)

    run = RunDir(out_dir)
    write_table(tools.select(TOOLS.names).cast(TOOLS), run.tools)
    write_jsonl(quarantine, run.quarantine)
    report = IngestReport(
        out_dir=str(run.path),
        sources=counts,
        totals=reduce(SourceCounts.add, counts.values(), SourceCounts()),
        reasons=dict(Counter(reason_kind(q["reason"]) for q in quarantine).most_common()),
        wall_s=round(time.perf_counter() - started, 3),
    )
    write_json(report.model_dump(), run.ingest_summary)
    return report


def _first_index(ids: pa.ChunkedArray) -> pa.Array:
    """Row index of each id's first occurrence: dedup keeps the first of identical APIs."""
    indexed = pa.table({"id": ids, "i": pa.array(range(len(ids)), pa.int64())})
    return indexed.group_by("id", use_threads=False).aggregate([("i", "min")])["i_min"].combine_chunks()


def _parse(units: list[Unit]) -> pa.Table:
    """All rows of all units (see ``parse_unit``), parsed in parallel on Ray Data, in input order."""
    if not units:
        return ROW_SCHEMA.empty_table()
    import ray  # here, not at import: later stages that only read ingest's constants (envs) need no Ray

    init_ray()
    dataset = ray.data.from_items([u.model_dump() for u in units], override_num_blocks=len(units))
    table = pa.concat_tables(ray.get(dataset.flat_map(parse_unit).to_arrow_refs()), promote_options="default")
    return table.cast(ROW_SCHEMA).sort_by([("unit", "ascending"), ("seq", "ascending")])
