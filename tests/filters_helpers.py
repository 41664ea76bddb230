"""Builders for the filter tests and benchmark: a real run with envs, tasks in the contract's format, rollouts.

``task_row`` makes a task of given gold calls (the tasks stage samples its own): it replays them on a
fresh simulator (``DomainSimulator.replay``) and records what a tasks.parquet row holds, so tests can
aim trajectories at it. ``rollout`` builds a trajectory row the way the rollouts stage writes one,
replaying its calls so its observations and recorded hash are real unless a test overrides them;
``teacher_rollout`` plays the teacher's episode of a task, as the rollout stage would, without Ray.
"""

from __future__ import annotations

import asyncio
import json
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from agentscaler.artifacts import RunDir, write_table
from agentscaler.contracts import Task
from agentscaler.envs import DomainSimulator, build_envs, load_env
from agentscaler.rollouts import TeacherAgent, TemplateUser
from agentscaler.rollouts.episode import Budget, run_episode
from agentscaler.sim import StepResult
from envs_helpers import make_run, shop_tools

WRITE_KINDS = {"create", "update", "delete"}


def shop_run(path: Path, domains: int = 1, policy: bool = True) -> RunDir:
    """A run with ``domains`` built domains (each the users-and-orders shop), 2 states of 5 rows a table.
    ``policy=False``: the domains without their rules, for tests of checks that are not about them."""
    run = make_run(path, [shop_tools() for _ in range(domains)])
    build_envs(run, states=2, rows=5, workers=1)
    if not policy:
        for domain in range(domains):
            load_env(run, domain).model_copy(update={"policy": None}).save(run.env_spec(domain))
    return run


@lru_cache(maxsize=None)
def simulator(run_path: Path, domain_id: int) -> DomainSimulator:
    return DomainSimulator(load_env(run_path, domain_id))


def task_row(run: RunDir, domain_id: int, state_index: int, calls: list[dict], task_id: str,
             intent: str = "", *, outcome: str = "complete", scenario: dict | None = None, policy: str = "") -> dict:
    """A tasks.parquet row: ``calls`` replayed on a fresh simulator; every call must succeed, but a ``recover``
    task's first one, which must fail."""
    sim = simulator(run.path, domain_id)
    replay = sim.replay(state_index, calls)
    assert replay.errors[1:] == [False] * (len(calls) - 1), replay.failures
    assert calls == [] or replay.errors[0] == (outcome == "recover"), replay.failures
    kinds = {t.name: t.kind for t in sim.spec.tools}
    writes = any(kinds[c["name"]] in WRITE_KINDS for c in calls) and replay.final_hash != replay.initial_hash
    return {"task_id": task_id, "domain_id": domain_id, "state_index": state_index,
            "intent": intent or f"Please do: {json.dumps(calls)}", "gold_calls": json.dumps(calls),
            "gold_observations": json.dumps([obs.observation for obs in replay.observations]),
            "gold_hash": replay.final_hash, "initial_hash": replay.initial_hash, "writes": writes,
            "tools": json.dumps([t.openai_schema for t in sim.spec.tools if t.executable]),
            "intent_source": "template", "source": "test", "seed": 0, "split": "train", "outcome": outcome,
            "scenario": json.dumps(scenario) if scenario is not None else None, "policy": policy}


def write_tasks(run: RunDir, rows: list[dict]) -> None:
    write_table(pa.Table.from_pylist(rows), run.tasks)


def rollout(run: RunDir, task: dict, calls: list[dict], rollout_id: str, *, answer: str = "All done: your request "
            "is complete.", final_hash: str | None = None, intent: str | None = None, sample: int = 0,
            token_ids: list[list[int] | None] | None = None, exchange: list[str] = ()) -> dict:
    """A rollouts row whose assistant makes ``calls`` one per turn, then answers; observations are replayed.
    ``exchange``: turns of text after the opening, before the calls, assistant and user by turns.
    ``token_ids``: the ids the agent generated, one list (or None) per assistant turn."""
    replay = simulator(run.path, task["domain_id"]).replay(task["state_index"], calls)
    messages = [{"role": "system", "content": "You are a helpful agent."},
                {"role": "user", "content": intent or task["intent"]},
                *({"role": ("assistant", "user")[n % 2], "content": text} for n, text in enumerate(exchange))]
    for n, (call, obs) in enumerate(zip(calls, replay.observations)):
        call_id = f"call_{n}"
        arguments = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
        messages.append({"role": "assistant", "content": "", "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": call["name"], "arguments": arguments}}]})
        messages.append({"role": "tool", "tool_call_id": call_id, "name": call["name"], "content": obs.observation})
    messages.append({"role": "assistant", "content": answer})
    return {"rollout_id": rollout_id, "task_id": task["task_id"], "domain_id": task["domain_id"],
            "sample_index": sample, "messages": json.dumps(messages), "tools": task["tools"],
            "final_hash": final_hash or replay.final_hash, "agent": "teacher", "user": "template",
            "status": "completed", "error": None, "num_turns": len(messages), "num_tool_calls": len(calls),
            "num_tool_errors": sum(replay.errors), "prompt_tokens": 0, "completion_tokens": 0,
            "assistant_token_ids": None if token_ids is None else json.dumps(token_ids), "seed": sample}


class LocalSims:
    """The episode loop's simulator side on one in-process simulator: a teacher episode without Ray."""

    def __init__(self, sim: DomainSimulator):
        self.sim = sim

    async def start(self, episode_id, domain_id: int, state: int) -> str:
        return self.sim.reset(state)

    async def step(self, episode_id, call: dict) -> StepResult:
        obs = self.sim.step(call)
        return StepResult(obs.observation, obs.error, self.sim.state_hash())

    async def close(self, episode_id) -> None:
        return None


def teacher_rollout(run: RunDir, task: dict, sample: int = 0, intent: str | None = None) -> dict:
    """The rollouts row of the teacher and the template user playing ``task`` (the rollout stage's own episode
    loop, on a local simulator); ``intent``: another wording of the user's request."""
    row = Task.from_row({**task, "intent": intent or task["intent"]})
    sim = simulator(run.path, row.domain_id)
    episode = run_episode(row, sample, TeacherAgent(row, sim.spec), TemplateUser(), LocalSims(sim), Budget(), sample)
    return asyncio.run(episode)


def write_rollouts(run: RunDir, rows: list[dict]) -> None:
    write_table(pa.Table.from_pylist(rows), run.rollouts / "part-00000.parquet")
