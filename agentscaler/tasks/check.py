"""The task checker: a task is kept only if its gold run is reproducible, changes what it claims to
change, and its intent states every value the gold calls need.

Peer benchmarks shipped gold tasks that did not replay, and write tasks that a do-nothing agent
passed; both are caught here, on a simulator of their own, before any rollout is spent on them.
"""

from __future__ import annotations

from agentscaler.contracts import Task
from agentscaler.envs import DomainSimulator
from agentscaler.failures import Failure
from agentscaler.tasks.intent import missing_values, show


def check_task(sim: DomainSimulator, task: Task) -> list[Failure]:
    """Why the task is broken (empty when it is sound); ``sim`` must be the task's domain.

    Codes (``failures.CODES``): ``initial_state_mismatch``, ``call_failed`` (one per failing gold call),
    ``state_mismatch``, ``no_change``, ``intent_lacks_values``, ``intent_names_tools``; in that order."""
    replay = sim.replay(int(task.state_index), task.calls, initial_hash=task.initial_hash, final_hash=task.gold_hash)
    problems = list(replay.failures)
    if task.writes and task.gold_hash == task.initial_hash:
        problems.append(Failure("no_change", "the writes change nothing (final state = initial state)"))
    missing = missing_values(task.intent, task.calls, task.observations, task.tool_schemas)
    if missing:
        problems.append(Failure("intent_lacks_values",
                                ", ".join(f"{p}={show(v)} (call {i})" for i, p, v in missing[:5])))
    named = [name for t in task.tool_schemas for name in (t["function"]["name"],)
             if _identifier_like(name) and name in task.intent]
    if named:
        problems.append(Failure("intent_names_tools", f"{named[:5]}"))
    return problems


def _identifier_like(name: str) -> bool:
    """A name no sentence contains by chance (``get_user``, ``getUser``); ``weather`` may be a plain word."""
    return "_" in name or any(c.isdigit() for c in name) or any(c.isupper() for c in name[1:])
