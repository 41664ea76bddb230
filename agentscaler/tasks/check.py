"""The task checker: a task is kept only if its gold run is reproducible, changes what it claims to
change, and its intent states every value the gold calls need.

Peer benchmarks shipped gold tasks that did not replay, and write tasks that a do-nothing agent
passed; both are caught here, on a simulator of their own, before any rollout is spent on them.
"""

from __future__ import annotations

import json
from typing import Any

from agentscaler.sim.simulator import DomainSimulator
from agentscaler.tasks.intent import missing_values, show


def check_task(sim: DomainSimulator, task: dict[str, Any]) -> list[str]:
    """Why the task is broken (empty when it is sound); ``sim`` must be the task's domain."""
    calls = json.loads(task["gold_calls"])
    observations = json.loads(task["gold_observations"])
    problems = []
    initial = sim.reset(int(task["state_index"]))
    if initial != task["initial_hash"]:
        problems.append("initial state hash differs from the recorded one")
    for i, call in enumerate(calls):
        obs = sim.step(call)
        if obs.error:
            problems.append(f"gold call {i} ({call['name']}) fails on replay: {json.loads(obs.observation)['error']}")
    if sim.state_hash() != task["gold_hash"]:
        problems.append("gold replay does not reproduce gold_hash")
    if task["writes"] and task["gold_hash"] == task["initial_hash"]:
        problems.append("the writes change nothing (final state = initial state)")
    missing = missing_values(task["intent"], calls, observations, json.loads(task["tools"]))
    if missing:
        problems.append("intent lacks " + ", ".join(f"{p}={show(v)} (call {i})" for i, p, v in missing[:5]))
    named = [name for t in json.loads(task["tools"]) for name in (t["function"]["name"],)
             if _identifier_like(name) and name in task["intent"]]
    if named:
        problems.append(f"intent names tools {named[:5]}")
    return problems


def _identifier_like(name: str) -> bool:
    """A name no sentence contains by chance (``get_user``, ``getUser``); ``weather`` may be a plain word."""
    return "_" in name or any(c.isdigit() for c in name) or any(c.isupper() for c in name[1:])
