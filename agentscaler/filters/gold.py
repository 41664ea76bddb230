"""The tasks (gold calls and hashes) and the domain simulators the filters replay against, cached per worker.

A filter is a Ray Data transform that may run in many worker processes; each process reads the run's
tasks once (``RunDir.read_tasks``) and builds each domain's simulator once, then replays each
trajectory on it (a reset is a deserialize of the state's image: microseconds). Workers process one
batch at a time, so one simulator per domain is enough.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

from agentscaler.artifacts import RunDir
from agentscaler.contracts import Task
from agentscaler.envs import CompiledTool, DomainSimulator, Replay, load_env
from agentscaler.filters.stage import Stage, Verdict, reject
from agentscaler.filters.trajectory import Trajectory, call_key, parse


@lru_cache(maxsize=2)
def run_tasks(run: str) -> dict[str, Task]:
    """task_id -> Task for the run (once per worker process)."""
    return {task.task_id: task for task in RunDir(run).read_tasks()}


@lru_cache(maxsize=4096)
def gold_keys(run: str, task_id: str) -> list[str]:
    """The task's successful gold calls as ``call_key``s (once per task per worker): a ``recover`` task's
    failing first attempt (an error observation in ``gold_observations``) is not asked of the agent."""
    task = run_tasks(run)[task_id]
    return [call_key(c["name"], c.get("arguments") or {}) for c, obs in zip(task.calls, task.observations)
            if not _is_error(obs)]


def _is_error(observation: str) -> bool:
    result = json.loads(observation)
    return isinstance(result, dict) and "error" in result


@lru_cache(maxsize=256)
def simulator(run: str, domain_id: int) -> tuple[DomainSimulator, dict[str, CompiledTool]]:
    """The domain's simulator (once per worker process) and its tools by name."""
    sim = DomainSimulator(load_env(run, domain_id))
    return sim, {t.name: t for t in sim.spec.tools}


@lru_cache(maxsize=1024)
def replayed(run: str, task_id: str, messages: str) -> Replay:
    """The trajectory's calls replayed from its task's initial state, checked against the task's initial and
    gold hashes; once per row per worker (the outcome filter and state alignment both read it, batch after
    batch: the cache holds more rows than a batch)."""
    task = run_tasks(run)[task_id]
    sim, _ = simulator(run, task.domain_id)
    return sim.replay(task.state_index, [c.as_step() for c in parse(messages).calls], initial_hash=task.initial_hash,
                      final_hash=task.gold_hash)


class TaskStage(Stage):
    """A filter that judges each trajectory against its task: the run's tasks must exist."""

    def __init__(self, run: str | os.PathLike | RunDir):
        self.run = str(RunDir(run).path)

    def task_and_trajectory(self, row: dict) -> tuple[Task, Trajectory] | Verdict:
        """The row's task and parsed trajectory, or the rejection when either is missing or malformed."""
        task = run_tasks(self.run).get(row.get("task_id"))
        if task is None:
            return reject("unknown_task", f"task {row.get('task_id')!r} is not in the run's tasks.parquet")
        try:
            return task, parse(row.get("messages"))
        except ValueError as e:
            return reject("malformed", str(e))
