"""Per-call rewards from database-state diffs, so a kept trajectory also serves RL.

The gold diff is the set of rows (table, primary key) whose content differs between the task's
initial state and its gold state (the state after the gold calls), a created row being absent before
and a deleted one absent after. The distance of a state to gold is the number of rows that differ
from their gold content. A call's reward is how much it shrank that distance, over the size of the
gold diff:

- a write that creates, changes or deletes a row of the gold diff as gold does: positive;
- a write that breaks a row (changes a row gold leaves alone, or undoes a correct change): negative;
- reads and failed calls (which change nothing): 0.

A trajectory that reaches gold therefore has rewards summing to exactly 1 (0 for read-only tasks,
where every write is harmful). Effects are read from each write's observation (the rows it created,
updated or deleted), so only the initial and gold states are ever scanned, once per task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentscaler.envs.spec import CompiledTool
from agentscaler.sim.simulator import DomainSimulator, Observation

Rows = dict[tuple[str, Any], tuple]  # (table, primary key) -> row values in column order
_LABEL = {"create": "created", "update": "updated", "delete": "deleted"}


def state_rows(sim: DomainSimulator) -> Rows:
    rows: Rows = {}
    for table in sim.spec.tables:
        for row in sim.rows(table.name):
            rows[table.name, row[table.primary_key]] = tuple(row.values())
    return rows


@dataclass(frozen=True)
class GoldTarget:
    initial: Rows
    gold: Rows
    diff: frozenset  # keys whose gold content differs from the initial one

    @classmethod
    def between(cls, initial: Rows, gold: Rows) -> "GoldTarget":
        keys = frozenset(k for k in initial.keys() | gold.keys() if initial.get(k) != gold.get(k))
        return cls(initial, gold, keys)


def call_rewards(target: GoldTarget, sim: DomainSimulator, steps: list[tuple[CompiledTool | None, Observation]]
                 ) -> list[float]:
    """One reward per call (see the module docstring), from the calls' tools and observations."""
    current: Rows = {}
    scale = max(len(target.diff), 1)
    rewards = []
    for tool, obs in steps:
        if obs.error or tool is None or tool.kind == "read":
            rewards.append(0.0)
            continue
        table = sim.spec.table(tool.table)
        columns = [c.name for c in table.columns]
        delta = 0
        for row in json.loads(obs.observation)[_LABEL[tool.kind]]:
            key = (table.name, row[table.primary_key])
            before = current[key] if key in current else target.initial.get(key)
            after = None if tool.kind == "delete" else tuple(row[c] for c in columns)
            want = target.gold.get(key)
            delta += (before != want) - (after != want)
            current[key] = after
        rewards.append(round(delta / scale, 6))
    return rewards
