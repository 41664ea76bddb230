"""The tasks (gold calls and hashes) and the domain simulators the filters replay against, cached per worker.

A filter is a Ray Data transform that may run in many worker processes; each process loads the run's
``tasks.parquet`` once and builds each domain's simulator once, then resets it per trajectory (a
reset is a deserialize of the state's image: microseconds). Workers process one batch at a time, so
one simulator per domain is enough.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import pyarrow.parquet as pq

from agentscaler.artifacts import RunDir
from agentscaler.envs.build import load_env
from agentscaler.envs.spec import CompiledTool
from agentscaler.filters.stage import Stage, Verdict, reject
from agentscaler.filters.trajectory import Trajectory, call_key, parse
from agentscaler.sim.simulator import DomainSimulator

TASK_COLUMNS = ["task_id", "domain_id", "state_index", "gold_calls", "gold_hash", "initial_hash", "writes", "source"]


@dataclass(frozen=True)
class Task:
    """The part of a ``tasks.parquet`` row the filters use (see notes/CONTRACTS.md)."""

    task_id: str
    domain_id: int
    state_index: int
    gold_calls: str  # JSON text: [{"name", "arguments"}, ...]
    gold_hash: str
    initial_hash: str
    writes: bool
    source: str | None

    @cached_property
    def calls(self) -> list[dict]:
        return json.loads(self.gold_calls)

    @cached_property
    def call_keys(self) -> list[str]:
        return [call_key(c["name"], c.get("arguments") or {}) for c in self.calls]


def tasks_path(run: str | Path) -> Path:
    return RunDir(run).path / "tasks.parquet"


@lru_cache(maxsize=2)
def load_tasks(run: str) -> dict[str, Task]:
    """task_id -> Task for the run (once per worker process)."""
    path = RunDir(run).require(tasks_path(run), "tasks")
    rows = pq.read_table(path, columns=TASK_COLUMNS).to_pylist()
    return {r["task_id"]: Task(**r) for r in rows}


@lru_cache(maxsize=256)
def simulator(run: str, domain_id: int) -> tuple[DomainSimulator, dict[str, CompiledTool]]:
    """The domain's simulator (once per worker process) and its tools by name."""
    sim = DomainSimulator(load_env(run, domain_id))
    return sim, {t.name: t for t in sim.spec.tools}


class TaskStage(Stage):
    """A filter that judges each trajectory against its task: the run's ``tasks.parquet`` must exist."""

    def __init__(self, run: str | Path):
        self.run = str(run)

    def task_and_trajectory(self, row: dict) -> tuple[Task, Trajectory] | Verdict:
        """The row's task and parsed trajectory, or the rejection when either is missing or malformed."""
        task = load_tasks(self.run).get(row.get("task_id"))
        if task is None:
            return reject("unknown_task", f"task {row.get('task_id')!r} is not in the run's tasks.parquet")
        try:
            return task, parse(row.get("messages"))
        except ValueError as e:
            return reject("malformed", str(e))
