"""``tasks``: sample tasks for every domain, run their gold plans, check them, write ``tasks.parquet``.

Domains with a write tool get ``per_domain`` tasks, most of them ending in a write (state alignment
can verify those); domains with reads only get fewer, marked read-only (only exact match can
verify them). A draw whose gold run errors is drawn again; a task the checker rejects is dropped
and counted by reason. Domains are independent and cheap, so they run in a process pool.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from pydantic import BaseModel, Field

from agentscaler.artifacts import RunDir, write_json, write_table
from agentscaler.envs.build import load_env
from agentscaler.envs.spec import EnvSpec
from agentscaler.envs.synth import rng_for
from agentscaler.options import config_option
from agentscaler.sim.simulator import DomainSimulator
from agentscaler.tasks.check import check_task
from agentscaler.tasks.intent import llm_intent, template_intent
from agentscaler.tasks.plan import PlanError, sample_plan
from agentscaler.workers import map_jobs

TASKS_SCHEMA = pa.schema([
    ("task_id", pa.string()), ("domain_id", pa.int64()), ("state_index", pa.int64()), ("intent", pa.string()),
    ("gold_calls", pa.string()), ("gold_observations", pa.string()), ("gold_hash", pa.string()),
    ("initial_hash", pa.string()), ("writes", pa.bool_()), ("tools", pa.string()), ("intent_source", pa.string()),
    ("source", pa.string()), ("seed", pa.int64()), ("split", pa.string()),
])
SPLITS = ("train", "heldout_task", "heldout_domain")


class TaskConfig(BaseModel):
    per_domain: int = Field(4, description="Tasks per domain that has a write tool.")
    read_only_domain: int = Field(1, description="Tasks per domain that has reads only.")
    read_only_share: float = Field(0.2, description="Share of read-only tasks in domains with writes.")
    follow_up: float = Field(0.4, description="Chance that a create is followed by a write on the row it made.")
    attempts: int = Field(25, description="Draws per task before the task is given up.")
    heldout_domains: float = Field(0.1, description="Share of domains whose tasks are all held out for evaluation.")
    heldout_tasks: float = Field(0.2, description="Share of the other domains' tasks held out for evaluation.")
    seed: int = Field(0, description="Seed: the same seed, the same tasks.")


def domain_tasks(spec: EnvSpec, config: TaskConfig, sources: dict[str, str] | None = None) -> tuple[list[dict], Counter]:
    """One domain's checked tasks, and counts of what happened on the way."""
    counts: Counter = Counter()
    executable = [t for t in spec.tools if t.executable]
    writes = [t for t in executable if t.kind != "read"]
    reads = [t for t in executable if t.kind == "read"]
    if not spec.states or not executable:
        return [], counts
    sim, checker = DomainSimulator(spec), DomainSimulator(spec)
    tools_json = json.dumps([t.openai_schema for t in executable], sort_keys=True)
    rows = []
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
        calls = [s.call for s in plan.steps]
        split = ("heldout_domain" if rng_for(config.seed, "heldout", spec.domain_id).random() < config.heldout_domains
                 else "heldout_task" if rng.random() < config.heldout_tasks else "train")
        task = {
            "task_id": f"d{spec.domain_id}-t{k}", "domain_id": spec.domain_id, "state_index": state,
            "intent": template_intent(plan, spec), "gold_calls": json.dumps(calls),
            "gold_observations": json.dumps([s.observation for s in plan.steps]), "gold_hash": sim.state_hash(),
            "initial_hash": spec.state_hashes[state] if state < len(spec.state_hashes) else checker.reset(state),
            "writes": plan.writes, "tools": tools_json, "intent_source": "template",
            "source": ",".join(sorted({(sources or {}).get(s.tool.tool_id, "") for s in plan.steps} - {""})),
            "seed": config.seed, "split": split,
        }
        problems = check_task(checker, task)
        if problems:
            counts.update(f"dropped: {p.split(' (')[0].split(':')[0]}" for p in problems[:1])
            continue
        rows.append(task)
    return rows, counts


def _domain_job(run_dir: str, domain_id: int, config: TaskConfig, sources: dict[str, str]) -> tuple[list[dict], Counter]:
    return domain_tasks(load_env(run_dir, domain_id), config, sources)


def build_tasks(run: str | os.PathLike | RunDir, config: TaskConfig | None = None, *, intent_backend=None,
                workers: int | None = None, progress: bool = False) -> dict[str, Any]:
    """Tasks for every built domain; writes ``tasks.parquet`` and ``tasks_summary.json``."""
    run = run if isinstance(run, RunDir) else RunDir(run)
    config = config or TaskConfig()
    started = time.perf_counter()
    summary_path = run.require(run.envs / "summary.json", "build-envs")
    domains = [d["domain_id"] for d in json.loads(summary_path.read_text())["domains"]]
    sources = {r["tool_id"]: r["source"] for r in pq.read_table(run.tools, columns=["tool_id", "source"]).to_pylist()}
    jobs = [(str(run.path), d, config, sources) for d in domains]
    results = map_jobs(_domain_job, jobs, workers, "sampling tasks" if progress else None)
    rows = [r for rows_, _ in results for r in rows_]
    counts = sum((c for _, c in results), Counter())
    if intent_backend is not None:
        counts.update(_rewrite_intents(rows, intent_backend, config.seed))
    write_table(pa.Table.from_pylist(rows, schema=TASKS_SCHEMA), run.path / "tasks.parquet")
    with_writes = {r["domain_id"] for r in rows if r["writes"]}
    summary = {
        "config": config.model_dump(), "intent_backend": getattr(intent_backend, "name", None),
        "domains": len(domains), "domains_with_tasks": len({r["domain_id"] for r in rows}),
        "domains_with_write_tasks": len(with_writes), "tasks": len(rows),
        "write_tasks": sum(r["writes"] for r in rows), "read_only_tasks": sum(not r["writes"] for r in rows),
        "gold_calls": sum(len(json.loads(r["gold_calls"])) for r in rows),
        "multi_call_tasks": sum(len(json.loads(r["gold_calls"])) > 1 for r in rows),
        "splits": {split: sum(r["split"] == split for r in rows) for split in SPLITS},
        "counts": dict(sorted(counts.items())), "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(summary, run.path / "tasks_summary.json")
    return summary


def _rewrite_intents(rows: list[dict], backend, seed: int, concurrency: int = 32) -> Counter:
    """LLM intents for all tasks at once (many requests in flight); the template stays where one fails."""
    gate = asyncio.Semaphore(concurrency)

    async def one(row: dict) -> bool:
        async with gate:
            text = await llm_intent(backend, row["intent"], json.loads(row["tools"]), json.loads(row["gold_calls"]),
                                    json.loads(row["gold_observations"]), seed)
        if text is None:
            return False
        row["intent"], row["intent_source"] = text, f"llm:{backend.name}"
        return True

    async def every() -> list[bool]:
        return await asyncio.gather(*map(one, rows))

    done = asyncio.run(every())
    return Counter({"llm_intents": sum(done), "llm_intents_rejected": len(done) - sum(done)})


def read_tasks(run: str | os.PathLike | RunDir, split: str | None = None) -> list[dict]:
    """The run's tasks; ``split``: only "train", only the held-out ones ("heldout" = both kinds), or one kind."""
    run = run if isinstance(run, RunDir) else RunDir(run)
    tasks = pq.read_table(run.require(run.path / "tasks.parquet", "tasks")).to_pylist()
    if split is None:
        return tasks
    return [t for t in tasks if t["split"] == split or (split == "heldout" and t["split"].startswith("heldout"))]


def tasks_command(
    run: Path = typer.Option(..., "--run", help="Run directory with envs/ built."),
    per_domain: int = config_option(TaskConfig, "per_domain"),
    read_only_domain: int = config_option(TaskConfig, "read_only_domain"),
    seed: int = config_option(TaskConfig, "seed"),
    intent_model: str = typer.Option("", "--intent-model", help="LLM for intents: a model path or an "
                                     "OpenAI-compatible URL; empty: the template."),
    workers: int = typer.Option(0, help="Worker processes (0: one per CPU)."),
) -> None:
    """Sample tasks with gold calls and gold final states for every domain (stage 6)."""
    backend = None
    if intent_model:
        from agentscaler.llm import make_backend

        backend = make_backend(intent_model)
    config = TaskConfig(per_domain=per_domain, read_only_domain=read_only_domain, seed=seed)
    summary = build_tasks(run, config, intent_backend=backend, workers=workers or None, progress=True)
    typer.echo(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
