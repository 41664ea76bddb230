"""``tasks``: sample tasks for every domain, run their gold plans, check them, write ``tasks.parquet``.

Domains with a write tool get ``per_domain`` tasks, most of them ending in a write (state alignment
can verify those); domains with reads only get fewer, marked read-only (only exact match can
verify them). A draw whose gold run errors is drawn again; a task the checker rejects is dropped
and counted by its failure code. Domains are independent and cheap, so they run in a process pool.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import typer
from pydantic import Field

from agentscaler import contracts
from agentscaler.artifacts import RunDir, as_table, write_json, write_table
from agentscaler.configs import StrictConfig
from agentscaler.contracts import Task
from agentscaler.envs import DomainSimulator, EnvSpec, load_env
from agentscaler.failures import code_of
from agentscaler.llm import ChatBackend, make_backend
from agentscaler.options import config_command
from agentscaler.seeding import rng_for
from agentscaler.tasks.check import check_task
from agentscaler.tasks.intent import llm_intent, template_intent
from agentscaler.tasks.plan import PlanError, sample_plan
from agentscaler.workers import map_jobs


class TaskConfig(StrictConfig):
    per_domain: int = Field(4, description="Tasks per domain that has a write tool.")
    read_only_domain: int = Field(1, description="Tasks per domain that has reads only.")
    read_only_share: float = Field(0.2, description="Share of read-only tasks in domains with writes.")
    follow_up: float = Field(0.4, description="Chance that a create is followed by a write on the row it made.")
    attempts: int = Field(25, description="Draws per task before the task is given up.")
    heldout_domains: float = Field(0.1, description="Share of domains whose tasks are all held out for evaluation.")
    heldout_tasks: float = Field(0.2, description="Share of the other domains' tasks held out for evaluation.")
    seed: int = Field(0, description="Seed: the same seed, the same tasks.")
    intent_model: str = Field("", description="LLM that rewrites the intents: a model path or an OpenAI-compatible "
                                              "URL (key: $OPENAI_API_KEY); empty: the template's words.")


def domain_tasks(spec: EnvSpec, config: TaskConfig, sources: dict[str, str] | None = None) -> tuple[list[Task], Counter]:
    """One domain's checked tasks, and counts of what happened on the way."""
    counts: Counter = Counter()
    executable = [t for t in spec.tools if t.executable]
    writes = [t for t in executable if t.kind != "read"]
    reads = [t for t in executable if t.kind == "read"]
    if not spec.states or not executable:
        return [], counts
    sim, checker = DomainSimulator(spec), DomainSimulator(spec)
    tools_json = json.dumps([t.openai_schema for t in executable], sort_keys=True)
    tasks = []
    for k in range(config.per_domain if writes else config.read_only_domain):
        rng = rng_for(config.seed, "task", spec.domain_id, k)
        state = k % len(spec.states)
        pool = writes if writes and rng.random() >= config.read_only_share else reads or writes
        for _ in range(config.attempts):
            try:
                plan = sample_plan(sim, state, rng.choice(pool), rng, config.follow_up)
                break
            except PlanError:
                counts["redrawn"] += 1
        else:
            counts["given_up"] += 1
            continue
        split = ("heldout_domain" if rng_for(config.seed, "heldout", spec.domain_id).random() < config.heldout_domains
                 else "heldout_task" if rng.random() < config.heldout_tasks else "train")
        task = Task(
            task_id=f"d{spec.domain_id}-t{k}", domain_id=spec.domain_id, state_index=state,
            intent=template_intent(plan, spec), gold_calls=json.dumps([s.call for s in plan.steps]),
            gold_observations=json.dumps([s.observation for s in plan.steps]), gold_hash=sim.state_hash(),
            initial_hash=spec.state_hashes[state] if state < len(spec.state_hashes) else checker.reset(state),
            writes=plan.writes, tools=tools_json, intent_source="template",
            source=",".join(sorted({(sources or {}).get(s.tool.tool_id, "") for s in plan.steps} - {""})),
            seed=config.seed, split=split,
        )
        problems = check_task(checker, task)
        if problems:
            counts[f"dropped: {code_of(problems[0])}"] += 1
            continue
        tasks.append(task)
    return tasks, counts


def _domain_job(run_dir: str, domain_id: int, config: TaskConfig, sources: dict[str, str]) -> tuple[list[Task], Counter]:
    return domain_tasks(load_env(run_dir, domain_id), config, sources)


def build_tasks(run: str | os.PathLike | RunDir, config: TaskConfig | None = None, *,
                intent_backend: ChatBackend | None = None, workers: int | None = None,
                progress: bool = False) -> dict[str, Any]:
    """Tasks for every built domain; writes ``tasks.parquet`` and ``tasks_summary.json``.

    ``config.intent_model`` names the LLM that rewrites the intents (its calls cached in the run's
    ``llm_cache.sqlite``); ``intent_backend``, a backend to use instead (tests)."""
    run = RunDir(run)
    config = config or TaskConfig()
    started = time.perf_counter()
    domains = [d["domain_id"] for d in run.read_summary(run.require(run.envs_summary))["domains"]]
    table = pq.read_table(run.require(run.tools), columns=["tool_id", "source"])
    sources = dict(zip(table["tool_id"].to_pylist(), table["source"].to_pylist()))
    jobs = [(str(run.path), d, config, sources) for d in domains]
    results = map_jobs(_domain_job, jobs, workers, "sampling tasks" if progress else None)
    tasks = [t for tasks_, _ in results for t in tasks_]
    counts = sum((c for _, c in results), Counter())
    own_backend = intent_backend is None and bool(config.intent_model)
    if own_backend:
        intent_backend = make_backend(config.intent_model, cache=run.llm_cache)
    if intent_backend is not None:
        try:
            tasks, rewritten = _rewrite_intents(tasks, intent_backend, config.seed)
        finally:
            if own_backend:
                intent_backend.close()  # the call cache's connection
        counts.update(rewritten)
    write_table(as_table([t.row() for t in tasks], contracts.TASKS), run.tasks)
    with_writes = {t.domain_id for t in tasks if t.writes}
    summary = {
        "config": config.model_dump(), "intent_backend": getattr(intent_backend, "name", None),
        "domains": len(domains), "domains_with_tasks": len({t.domain_id for t in tasks}),
        "domains_with_write_tasks": len(with_writes), "tasks": len(tasks),
        "write_tasks": sum(t.writes for t in tasks), "read_only_tasks": sum(not t.writes for t in tasks),
        "gold_calls": sum(len(t.calls) for t in tasks),
        "multi_call_tasks": sum(len(t.calls) > 1 for t in tasks),
        "splits": {split: sum(t.split == split for t in tasks) for split in contracts.SPLITS},
        "counts": dict(sorted(counts.items())), "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(summary, run.tasks_summary)
    return summary


def _rewrite_intents(tasks: list[Task], backend: ChatBackend, seed: int,
                     concurrency: int = 32) -> tuple[list[Task], Counter]:
    """LLM intents for all tasks at once (many requests in flight); the template stays where one fails.
    Each request's seed derives from the run's seed and the task id (``rng_for``), as rollouts' do."""
    gate = asyncio.Semaphore(concurrency)

    async def one(task: Task) -> Task | None:
        async with gate:
            text = await llm_intent(backend, task.intent, task.tool_schemas, task.calls, task.observations,
                                    rng_for(seed, "intent", task.task_id).randrange(2**31))
        return None if text is None else dataclasses.replace(task, intent=text, intent_source=f"llm:{backend.name}")

    async def every() -> list[Task | None]:
        return await asyncio.gather(*map(one, tasks))

    rewritten = asyncio.run(every())
    kept = sum(t is not None for t in rewritten)
    return ([new or old for new, old in zip(rewritten, tasks)],
            Counter({"llm_intents": kept, "llm_intents_rejected": len(tasks) - kept}))


@config_command(TaskConfig)
def tasks_command(
    config: TaskConfig,
    run: Path = typer.Option(..., "--run", help="Run directory with envs/ built."),
    workers: int = typer.Option(0, help="Worker processes (0: one per CPU)."),
) -> None:
    """Sample tasks with gold calls and gold final states for every domain (stage 6)."""
    summary = build_tasks(run, config, workers=workers or None, progress=True)
    typer.echo(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
