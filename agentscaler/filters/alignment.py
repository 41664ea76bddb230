"""Filter 2, state alignment: replay the trajectory's calls and compare the database with the gold state.

The calls (in message order) run on a fresh simulator of the task's domain, reset to the task's
initial state; the state hash reached must equal the task's ``gold_hash`` [``state_mismatch``]. The
hash the row records (``final_hash``) is never trusted: when it differs from the replayed one the row
is tagged ``recorded_hash_mismatch`` (and the report counts them), and a row whose recorded hash
claims gold while the replay does not is rejected, saying so.

Calls that fail on replay (error observations) change nothing; a trajectory with such calls that
still reaches gold is kept and tagged ``recovered_from_errors``. The task itself is checked too: its
initial state must hash to ``initial_hash`` [``initial_state_mismatch``] and its gold calls must
reproduce ``gold_hash`` [``gold_not_reproducible``] (both mean the environment changed under the
tasks). Kept rows get per-call rewards (see ``rewards``) and the task's lineage.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pyarrow as pa

from agentscaler.filters.gold import TaskStage, load_tasks, simulator
from agentscaler.filters.rewards import GoldTarget, Rows, call_rewards, state_rows
from agentscaler.filters.stage import Verdict, reject


@lru_cache(maxsize=256)
def initial_rows(run: str, domain_id: int, state_index: int) -> Rows:
    sim, _ = simulator(run, domain_id)
    sim.reset(state_index)
    return state_rows(sim)


@lru_cache(maxsize=4096)
def gold_target(run: str, task_id: str) -> GoldTarget | None:
    """The task's gold diff, once per worker (None when its gold calls miss its gold_hash)."""
    task = load_tasks(run)[task_id]
    initial = initial_rows(run, task.domain_id, task.state_index)
    sim, tools = simulator(run, task.domain_id)
    sim.reset(task.state_index)
    steps = [(tools.get(call["name"]), sim.step(call)) for call in task.calls]
    return GoldTarget.replay(initial, sim, steps) if sim.state_hash() == task.gold_hash else None


class StateAlignment(TaskStage):
    """Filter 2 (see the module docstring); needs the run's tasks.parquet and envs/."""

    name = "state_alignment"
    reads = ("task_id", "messages", "final_hash")
    columns = {"recomputed_hash": pa.string(), "call_errors": pa.string(), "rewards": pa.string(),
               "source": pa.string(), "writes": pa.bool_()}

    def check(self, row: dict) -> Verdict:
        found = self.task_and_trajectory(row)
        if isinstance(found, Verdict):
            return found
        task, calls = found[0], found[1].calls
        sim, tools = simulator(self.run, task.domain_id)
        try:
            initial = sim.reset(task.state_index)
        except IndexError as e:
            return reject("initial_state_mismatch", str(e))
        if initial != task.initial_hash:
            return reject("initial_state_mismatch", f"state {task.state_index} of domain {task.domain_id} hashes "
                                                    f"to {initial}, the task says {task.initial_hash}")
        steps = [(tools.get(c.name), sim.step(c.as_step())) for c in calls]
        replayed, recorded = sim.state_hash(), row.get("final_hash")
        errors = [obs.error for _, obs in steps]
        columns = {"recomputed_hash": replayed, "call_errors": json.dumps(errors), "source": task.source,
                   "writes": task.writes}
        tags = ("recorded_hash_mismatch",) if recorded != replayed else ()
        if replayed != task.gold_hash:
            lie = " (the recorded final_hash claims gold: it is false)" if recorded == task.gold_hash else ""
            return Verdict(f"state_mismatch: replayed state {replayed} != gold {task.gold_hash}{lie}", tags, columns)
        target = gold_target(self.run, task.task_id)
        if target is None:
            return Verdict(f"gold_not_reproducible: the gold calls of {task.task_id} no longer reach its gold_hash",
                           tags, columns)
        rewards = call_rewards(target, sim, steps)
        columns["rewards"] = json.dumps([
            {"message": c.message, "tool_call_id": c.id, "name": c.name,
             "kind": tool.kind if tool else None, "error": obs.error, "reward": r}
            for c, (tool, obs), r in zip(calls, steps, rewards)])
        return Verdict(None, tags + (("recovered_from_errors",) if any(errors) else ()), columns)
