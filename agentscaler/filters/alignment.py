"""Filter 3, state alignment: replay the trajectory's calls and compare the database with the gold state.

The calls (in message order) run on a fresh simulator of the task's domain, reset to the task's
initial state; the state hash reached must equal the task's ``gold_hash`` [``state_mismatch``] (for a
``refuse`` or ``irrelevant`` task, its initial hash: the right answer changes nothing). The
hash the row records (``final_hash``) is never trusted: when it differs from the replayed one the row
is tagged ``recorded_hash_mismatch`` (and the report counts them), and a row whose recorded hash
claims gold while the replay does not is rejected, saying so.

Calls that fail on replay (error observations) change nothing; a trajectory with such calls that
still reaches gold is kept and tagged ``recovered_from_errors``. The task itself is checked too: its
initial state must hash to ``initial_hash`` [``initial_state_mismatch``] and its gold calls must
reproduce ``gold_hash`` [``gold_not_reproducible``] (both mean the environment changed under the
tasks). Kept rows get per-call rewards (see ``rewards``) and the task's lineage.

Both replays, the trajectory's (``gold.replayed``, shared with the outcome filter) and the gold calls', go
through ``DomainSimulator.replay``: its typed failures (``failures.CODES``) are the codes above.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pyarrow as pa

from agentscaler.failures import Failure
from agentscaler.filters.gold import TaskStage, replayed, run_tasks, simulator
from agentscaler.filters.rewards import GoldTarget, Rows, call_rewards, state_rows
from agentscaler.filters.stage import Verdict


@lru_cache(maxsize=256)
def initial_rows(run: str, domain_id: int, state_index: int) -> Rows:
    sim, _ = simulator(run, domain_id)
    sim.reset(state_index)
    return state_rows(sim)


@lru_cache(maxsize=4096)
def gold_target(run: str, task_id: str) -> GoldTarget | None:
    """The task's gold diff, once per worker (None when its gold calls miss its gold_hash)."""
    task = run_tasks(run)[task_id]
    initial = initial_rows(run, task.domain_id, task.state_index)
    sim, tools = simulator(run, task.domain_id)
    replay = sim.replay(task.state_index, task.calls, final_hash=task.gold_hash)
    if replay.first("initial_state_mismatch", "state_mismatch"):
        return None
    steps = [(tools.get(call["name"]), obs) for call, obs in zip(task.calls, replay.observations)]
    return GoldTarget.replay(initial, sim, steps)


class StateAlignment(TaskStage):
    """Filter 3 (see the module docstring); needs the run's tasks and envs/."""

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
        replay = replayed(self.run, task.task_id, row["messages"])
        failure = replay.first("initial_state_mismatch")
        if failure:
            return Verdict(str(failure))
        recomputed, recorded = replay.final_hash, row.get("final_hash")
        errors = replay.errors
        columns = {"recomputed_hash": recomputed, "call_errors": json.dumps(errors), "source": task.source,
                   "writes": task.writes}
        tags = ("recorded_hash_mismatch",) if recorded != recomputed else ()
        failure = replay.first("state_mismatch")
        if failure:
            lie = " (the recorded final_hash claims gold: it is false)" if recorded == task.gold_hash else ""
            return Verdict(str(Failure(failure.code, failure.detail + lie)), tags, columns)
        target = gold_target(self.run, task.task_id)
        if target is None:
            failure = Failure("gold_not_reproducible",
                              f"the gold calls of {task.task_id} no longer reach its gold_hash")
            return Verdict(str(failure), tags, columns)
        steps = [(tools.get(c.name), obs) for c, obs in zip(calls, replay.observations)]
        rewards = call_rewards(target, sim, steps)
        columns["rewards"] = json.dumps([
            {"message": c.message, "tool_call_id": c.id, "name": c.name,
             "kind": tool.kind if tool else None, "error": obs.error, "reward": r}
            for c, (tool, obs), r in zip(calls, steps, rewards)])
        return Verdict(None, tags + (("recovered_from_errors",) if any(errors) else ()), columns)
