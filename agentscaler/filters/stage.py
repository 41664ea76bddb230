"""What every filter shares: a row-wise check lifted to a Ray Data batch transform, with the funnel's columns.

Each filter is one ``map_batches`` callable over Arrow batches. A row arrives with (or without, when a
filter runs on its own) four status columns and leaves with them updated:

- ``stage``: the filter that rejected it, null while it survives; a rejected row passes through
  later filters untouched, so every row reaches the end and the funnel can count it.
- ``reason``: a ``failures.Failure`` as text, ``"<code>: <detail>"``, e.g. ``"unknown_tool: call 2 names
  'refund' ..."``; the report counts by code (``failures.count_codes``).
- ``tags``: what was learned on the way (``recovered_from_errors``, ``exact_match``, ...).
- ``filters_passed``: the filters the row got through, in order (lineage on kept rows).

Counts in and out are reported to Ray's metrics (``agentscaler_filter_trajectories``) as batches pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from agentscaler import metrics
from agentscaler.failures import Failure

STAGES = ("validity", "outcome", "state_alignment", "exact_match", "dedup")
STATUS_TYPES = {"stage": pa.string(), "reason": pa.string(), "tags": pa.list_(pa.string()),
                "filters_passed": pa.list_(pa.string())}


def count(stage: str, passed: int, rejected: int) -> None:
    """Add to the Ray metric of trajectories in and out of a stage (dropped outside a Ray worker or driver)."""
    metrics.FILTER_TRAJECTORIES.inc_each({"passed": passed, "rejected": rejected}, "outcome", stage=stage)


@dataclass(slots=True)
class Verdict:
    reason: str | None = None  # "<code>: <detail>" when rejected
    tags: tuple[str, ...] = ()
    columns: dict[str, Any] = field(default_factory=dict)  # values of the stage's own columns


def reject(code: str, detail: str) -> Verdict:
    return Verdict(reason=str(Failure(code, detail)))


def column(batch: pa.Table, name: str, default: Any = None) -> list:
    return batch.column(name).to_pylist() if name in batch.column_names else [default] * batch.num_rows


def with_columns(batch: pa.Table, values: dict[str, list], types: dict[str, pa.DataType]) -> pa.Table:
    """``batch`` with each named column replaced (or appended) by ``values``, typed as ``types`` says."""
    for name, vals in values.items():
        array = pa.array(vals, type=types[name])
        if name in batch.column_names:
            batch = batch.set_column(batch.column_names.index(name), name, array)
        else:
            batch = batch.append_column(name, array)
    return batch


class Stage:
    """A filter: ``check(row) -> Verdict`` per surviving row; ``__call__`` is its Ray Data batch transform."""

    name: ClassVar[str]
    reads: ClassVar[tuple[str, ...]]  # the input columns ``check`` looks at (only these are converted)
    columns: ClassVar[dict[str, pa.DataType]] = {}  # the stage's own output columns

    def check(self, row: dict) -> Verdict:
        raise NotImplementedError

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.select([c for c in self.reads if c in batch.column_names]).to_pylist()
        status = {name: column(batch, name) for name in STATUS_TYPES}
        own = {name: column(batch, name) for name in self.columns}
        passed = rejected = 0
        for i, row in enumerate(rows):
            if status["stage"][i] is not None:
                continue
            verdict = self.check(row)
            for name, value in verdict.columns.items():
                own[name][i] = value
            status["tags"][i] = [*(status["tags"][i] or []), *verdict.tags]
            if verdict.reason:
                status["stage"][i], status["reason"][i] = self.name, verdict.reason
                rejected += 1
            else:
                status["filters_passed"][i] = [*(status["filters_passed"][i] or []), self.name]
                passed += 1
        count(self.name, passed, rejected)
        return with_columns(batch, {**status, **own}, {**STATUS_TYPES, **self.columns})
