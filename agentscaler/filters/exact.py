"""Filter 4, exact match: the agent's calls equal the gold calls, names and arguments.

Values compare under ``trajectory.normalize`` (JSON values, ``1 == 1.0``, strings stripped, ``null``
arguments dropped; case kept). The agent's sequence is its calls that succeeded on replay (when state
alignment ran before, its ``call_errors`` column says which), and the gold's is its successful calls:
a failed call changed nothing and returned nothing, so an agent that recovered from an error can still
match, and a ``recover`` task's failing first attempt is not asked of the agent.

A read-only task (``writes`` false) whose right answer is its gold plan (outcome ``complete``,
``clarify`` or ``recover``) leaves the database as it was, so the state cannot tell a right trajectory
from a wrong one: it must match exactly [``read_only_mismatch``]. A write task passes on state
alignment, and so do ``refuse`` and ``irrelevant`` tasks (the outcome filter judged their calls); an
exact match tags any of them ``exact_match`` (for a strict training split).
"""

from __future__ import annotations

import json

from agentscaler.filters.gold import TaskStage, gold_keys
from agentscaler.filters.stage import Verdict, reject

PLANNED = ("complete", "clarify", "recover")  # outcomes whose right answer is the gold plan's calls


class ExactMatch(TaskStage):
    """Filter 4 (see the module docstring); needs the run's tasks."""

    name = "exact_match"
    reads = ("task_id", "messages", "call_errors")

    def check(self, row: dict) -> Verdict:
        found = self.task_and_trajectory(row)
        if isinstance(found, Verdict):
            return found
        task, keys = found[0], found[1].keys
        errors = json.loads(row["call_errors"]) if row.get("call_errors") else [False] * len(keys)
        got = [key for key, failed in zip(keys, errors) if not failed]
        gold = gold_keys(self.run, task.task_id)
        if got == gold:
            return Verdict(tags=("exact_match",))
        if task.writes or task.outcome not in PLANNED:
            return Verdict()
        k = next((k for k, (a, b) in enumerate(zip(got, gold)) if a != b), min(len(got), len(gold)))
        return reject("read_only_mismatch", f"read-only task {task.task_id}: successful call {k} is "
                                            f"{got[k] if k < len(got) else 'missing'}, gold has "
                                            f"{gold[k] if k < len(gold) else 'nothing more'}")
