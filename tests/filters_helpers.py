"""Builders for the filter tests and benchmark: a real run with envs, tasks in the contract's format, rollouts.

``write_tasks`` stands in for the tasks stage (agentscaler.tasks) until it lands: it executes gold
calls on a fresh simulator and records what notes/CONTRACTS.md says a tasks.parquet row holds.
``rollout`` builds a trajectory row the way the rollouts stage writes one, replaying its calls on the
simulator so its observations and recorded hash are real unless a test overrides them.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from agentscaler.artifacts import RunDir, write_table
from agentscaler.envs import build_envs, load_env
from agentscaler.envs.synth import sample_arguments
from agentscaler.sim import DomainSimulator
from envs_helpers import make_run, shop_tools

WRITE_KINDS = {"create", "update", "delete"}


def shop_run(path: Path, domains: int = 1) -> RunDir:
    """A run with ``domains`` built domains (each the users-and-orders shop), 2 states of 5 rows a table."""
    run = make_run(path, [shop_tools() for _ in range(domains)])
    build_envs(run, states=2, rows=5, workers=1)
    return run


@lru_cache(maxsize=None)
def simulator(run_path: Path, domain_id: int) -> DomainSimulator:
    return DomainSimulator(load_env(run_path, domain_id))


def task_row(run: RunDir, domain_id: int, state_index: int, calls: list[dict], task_id: str,
             intent: str = "") -> dict:
    """A tasks.parquet row: ``calls`` executed on a fresh simulator; every call must succeed."""
    sim = simulator(run.path, domain_id)
    spec, initial = sim.spec, sim.reset(state_index)
    kinds = {t.name: t.kind for t in spec.tools}
    observations, writes = [], False
    for call in calls:
        before = sim.state_hash()
        obs = sim.step(call)
        assert not obs.error, (call, obs.observation)
        observations.append(obs.observation)
        writes |= kinds[call["name"]] in WRITE_KINDS and sim.state_hash() != before
    return {"task_id": task_id, "domain_id": domain_id, "state_index": state_index,
            "intent": intent or f"Please do: {json.dumps(calls)}", "gold_calls": json.dumps(calls),
            "gold_observations": json.dumps(observations), "gold_hash": sim.state_hash(), "initial_hash": initial,
            "writes": writes, "tools": json.dumps([t.openai_schema for t in spec.tools if t.executable]),
            "intent_source": "template", "source": "test"}


def write_tasks(run: RunDir, rows: list[dict]) -> None:
    write_table(pa.Table.from_pylist(rows), run.path / "tasks.parquet")


def rollout(run: RunDir, task: dict, calls: list[dict], rollout_id: str, *, answer: str = "All done: your request "
            "is complete.", final_hash: str | None = None, intent: str | None = None, sample: int = 0) -> dict:
    """A rollouts row whose assistant makes ``calls`` one per turn, then answers; observations are replayed."""
    sim = simulator(run.path, task["domain_id"])
    sim.reset(task["state_index"])
    messages = [{"role": "system", "content": "You are a helpful agent."},
                {"role": "user", "content": intent or task["intent"]}]
    errors = 0
    for n, call in enumerate(calls):
        call_id = f"call_{n}"
        arguments = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
        messages.append({"role": "assistant", "content": "", "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": call["name"], "arguments": arguments}}]})
        obs = sim.step(call)
        errors += obs.error
        messages.append({"role": "tool", "tool_call_id": call_id, "name": call["name"], "content": obs.observation})
    messages.append({"role": "assistant", "content": answer})
    return {"rollout_id": rollout_id, "task_id": task["task_id"], "domain_id": task["domain_id"],
            "sample_index": sample, "messages": json.dumps(messages), "tools": task["tools"],
            "final_hash": final_hash or sim.state_hash(), "agent": "teacher", "user": "template",
            "status": "completed", "error": None, "num_turns": len(messages), "num_tool_calls": len(calls),
            "num_tool_errors": errors, "prompt_tokens": 0, "completion_tokens": 0, "assistant_token_ids": None,
            "seed": sample}


def write_rollouts(run: RunDir, rows: list[dict]) -> None:
    write_table(pa.Table.from_pylist(rows), run.path / "rollouts" / "part-0.parquet")


def sampled_tasks(run: RunDir, domains: list[int], per_domain: int, seed: int = 0, max_calls: int = 3) -> list[dict]:
    """Tasks of 1..max_calls distinct calls to each domain's executable tools (half of them writes, where the
    domain has any), arguments sampled from the state by the environment build's sampler; a sequence with a
    failing call is resampled."""
    rng = random.Random(seed)
    tasks = []
    for d in domains:
        sim = simulator(run.path, d)
        spec = sim.spec
        usable = [t for t in spec.tools if t.executable]
        writes = [t for t in usable if t.kind in WRITE_KINDS]
        if not usable or not spec.states:
            continue
        made = attempts = 0
        while made < per_domain and attempts < per_domain * 5:
            attempts += 1
            state = rng.randrange(len(spec.states))
            sim.reset(state)
            calls = []
            for _ in range(rng.randint(1, max_calls)):
                tool = rng.choice(writes if writes and rng.random() < 0.5 else usable)
                call = {"name": tool.name, "arguments": sample_arguments(
                    tool.operation.bindings, spec.table(tool.table), spec.states[state], rng.randrange(100), rng)}
                if call in calls or sim.step(call).error:
                    break
                calls.append(call)
            else:
                tasks.append(task_row(run, d, state, calls, f"d{d}-s{state}-t{made}"))
                made += 1
    return tasks
