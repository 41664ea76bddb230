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
updated or deleted), for the gold calls as for the agent's, so only initial states are ever scanned,
once per state per worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentscaler.envs import CompiledTool, DomainSimulator, Observation

Rows = dict[tuple[str, Any], tuple | None]  # (table, primary key) -> row values in column order (None: absent)
_LABEL = {"create": "created", "update": "updated", "delete": "deleted"}
Step = tuple[CompiledTool | None, Observation]


def state_rows(sim: DomainSimulator) -> Rows:
    """Every row of the simulator's current state."""
    rows: Rows = {}
    for table in sim.spec.tables:
        for row in sim.rows(table.name):
            rows[table.name, row[table.primary_key]] = tuple(row.values())
    return rows


def effects(sim: DomainSimulator, step: Step) -> list[tuple[tuple[str, Any], tuple | None]]:
    """(row key, row after) for each row a successful write created, updated or deleted; [] otherwise."""
    tool, obs = step
    if obs.error or tool is None or tool.kind == "read":
        return []
    table = sim.spec.table(tool.table)
    columns = [c.name for c in table.columns]
    return [((table.name, row[table.primary_key]), None if tool.kind == "delete" else tuple(row[c] for c in columns))
            for row in json.loads(obs.observation)[_LABEL[tool.kind]]]


@dataclass(frozen=True)
class GoldTarget:
    initial: Rows  # the task's initial state (shared by the tasks of that state)
    changes: Rows  # the gold diff: rows whose gold content differs from the initial one

    @classmethod
    def replay(cls, initial: Rows, sim: DomainSimulator, gold_steps: list[Step]) -> "GoldTarget":
        """The target from the gold calls' own effects: no scan of the gold state."""
        after = {key: row for step in gold_steps for key, row in effects(sim, step)}
        return cls(initial, {key: row for key, row in after.items() if row != initial.get(key)})

    def want(self, key: tuple[str, Any]) -> tuple | None:
        return self.changes[key] if key in self.changes else self.initial.get(key)


def call_rewards(target: GoldTarget, sim: DomainSimulator, steps: list[Step]) -> list[float]:
    """One reward per call (see the module docstring), from the calls' tools and observations."""
    current: Rows = {}
    scale = max(len(target.changes), 1)
    rewards = []
    for step in steps:
        delta = 0
        for key, after in effects(sim, step):
            before = current[key] if key in current else target.initial.get(key)
            want = target.want(key)
            delta += (before != want) - (after != want)
            current[key] = after
        rewards.append(round(delta / scale, 6))
    return rewards
