"""``tasks``: sample tasks for every domain, run their gold plans, check them, write ``tasks.parquet``.

A task is one user's goal of one to four sub-goals (``plan``) with an outcome (``contracts.OUTCOMES``)
drawn by the configured shares: most are completed, some must be refused (a rule of the domain's policy
forbids the request), clarified (the user leaves out a value only they know), found irrelevant (no tool
serves the request) or recovered (the first attempt fails on a value the user misremembers). An outcome a
domain cannot give (no policy, no failing attempt) falls back to ``complete`` and is counted. Domains with
a write tool get ``per_domain`` tasks, most of them writing; domains with reads only get fewer. A draw
whose gold run errors is drawn again; a task the checker rejects is dropped and counted by its failure
code. Domains are independent, so they run as Ray tasks over the cluster's nodes (the summary's ``nodes``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pyarrow.parquet as pq
import typer
from pydantic import Field, field_validator

from agentscaler import contracts, metrics
from agentscaler.artifacts import RunDir, as_table, write_json, write_table
from agentscaler.configs import StrictConfig
from agentscaler.contracts import Task
from agentscaler.envs import DomainSimulator, EnvSpec, load_env, singular, spoken
from agentscaler.failures import code_of
from agentscaler.llm import ChatBackend, make_backend
from agentscaler.options import config_command
from agentscaler.seeding import rng_for
from agentscaler.tasks.check import check_task
from agentscaler.tasks.intent import (FAMILIES, PERSONAS, llm_intent, off_domain_request, reason, request,
                                      request_noun, said_values, scenario, template_intent, unknown_labels)
from agentscaler.tasks.outcomes import change_of_mind, with_failed_attempt, withheld_label
from agentscaler.tasks.plan import Plan, PlanError, is_compute, refusal_rules, sample_plan, sample_refusal
from agentscaler.workers import map_jobs, node_ids

FOREIGN_TOOLS = 40  # other domains' tools a domain may borrow an irrelevant request from
TRIES = 8  # plans tried for a recover or clarify task, until one allows its outcome
PLANS = 32  # plans drawn for one, to keep the fullest: 8 gave 2.6 gold calls per task on the demo, 32 gave 3.0


class TaskConfig(StrictConfig):
    per_domain: int = Field(4, description="Tasks per domain that has a write tool.")
    read_only_domain: int = Field(1, description="Tasks per domain that has reads only.")
    read_only_share: float = Field(0.2, description="Share of read-only tasks in domains with writes.")
    goals: list[float] = Field([0.1, 0.2, 0.3, 0.4], description="Weights of 1, 2, 3 and 4 sub-goals per task.")
    read_before_write: float = Field(0.9, description="Chance that the plan reads a row before changing it.")
    outcomes: dict[str, float] = Field(
        {"complete": 0.45, "refuse": 0.2, "clarify": 0.1, "irrelevant": 0.08, "recover": 0.17},
        description="Share of each outcome (contracts.OUTCOMES) among the tasks drawn; a domain that cannot refuse "
                    "(no state rule governs its writes) draws among the others.")
    attempts: int = Field(25, description="Draws per task before the task is given up.")
    heldout_domains: float = Field(0.1, description="Share of domains whose tasks are all held out for evaluation.")
    heldout_tasks: float = Field(0.2, description="Share of the other domains' tasks held out for evaluation.")
    seed: int = Field(0, description="Seed: the same seed, the same tasks.")
    intent_model: str = Field("", description="LLM that rewrites the intents: a model path or an OpenAI-compatible "
                                              "URL (key: $OPENAI_API_KEY); empty: the template's words.")

    @field_validator("outcomes")
    @classmethod
    def _known_outcomes(cls, shares: dict[str, float]) -> dict[str, float]:
        unknown = set(shares) - set(contracts.OUTCOMES)
        if unknown or not any(v > 0 for v in shares.values()):
            raise ValueError(f"outcomes: shares of {list(contracts.OUTCOMES)}, some positive (unknown: {unknown})")
        return shares

    @field_validator("goals")
    @classmethod
    def _four_weights(cls, weights: list[float]) -> list[float]:
        if len(weights) != 4 or not any(w > 0 for w in weights):
            raise ValueError("goals: four weights (1, 2, 3, 4 sub-goals), some positive")
        return weights


@dataclasses.dataclass
class Draft:
    """A task before it is checked: its outcome, gold plan and words."""

    outcome: str
    plan: Plan
    intent: str
    scenario: dict[str, Any]


class _Domain:
    """What sampling one domain's tasks needs: its simulator and tools, by role."""

    def __init__(self, spec: EnvSpec, config: TaskConfig, foreign: list[tuple[str, str]], counts: Counter):
        self.spec, self.config, self.foreign, self.counts = spec, config, foreign, counts
        self.sim = DomainSimulator(spec)
        self.tools = [t for t in spec.tools if t.executable and t.table and t.operation]
        self.writes = [t for t in self.tools if t.kind != "read" and not is_compute(t)]
        self.reads = [t for t in self.tools if t.kind == "read"]
        self.refusable = bool(refusal_rules(spec, self.writes))

    def _drawn(self, sample: Callable[[], Plan]) -> Plan | None:
        for _ in range(self.config.attempts):
            try:
                return sample()
            except PlanError:
                self.counts["redrawn"] += 1
        return None

    def _plan(self, state: int, rng: random.Random) -> Plan | None:
        """The fullest of ``PLANS`` plans of the number of sub-goals drawn (first one where a call takes a value an
        earlier call found, then the most sub-goals, then calls): a domain's requests are as involved as its data
        flow allows."""
        read_only = bool(self.reads) and (not self.writes or rng.random() < self.config.read_only_share)
        pool, tools = (self.reads, self.reads) if read_only else (self.writes, self.tools)
        goals = rng.choices(range(1, 5), weights=self.config.goals)[0]
        plans = [self._drawn(lambda: sample_plan(self.sim, state, rng.choice(pool), rng, goals=goals, tools=tools,
                                                 read_before_write=self.config.read_before_write))
                 for _ in range(PLANS)]
        return max((p for p in plans if p), key=lambda p: (any(s.found for s in p.steps), len(p.goals), len(p.steps)),
                   default=None)

    def _fallback(self, outcome: str) -> str:
        self.counts[f"fallback to complete: {outcome}"] += 1
        return "complete"

    def draft(self, state: int, rng: random.Random) -> Draft | None:
        """One task's outcome, plan, intent and scenario; None when no plan could be drawn. The outcome is drawn
        among those the domain can give (a refusal needs a state rule that governs a write)."""
        shares = {o: w for o, w in self.config.outcomes.items() if o != "refuse" or self.refusable}
        outcome = rng.choices(list(shares), weights=list(shares.values()))[0]
        persona, family = rng.choice(sorted(PERSONAS)), rng.choice(sorted(FAMILIES))
        if outcome == "irrelevant":
            phrase = off_domain_request(self.spec, self.foreign, rng)
            if phrase:  # no value to change their mind about
                persona = persona if persona != "changes_mind" else rng.choice(sorted(set(PERSONAS) - {persona}))
                return Draft(outcome, Plan([], []), request([phrase], persona, family, rng),
                             scenario(reason([phrase]), persona, family, [], []))
            outcome = self._fallback(outcome)
        plan, first_attempt, withheld = None, {}, set()
        if outcome == "refuse":
            plan = self._drawn(lambda: sample_refusal(self.sim, state, rng, self.writes))
        for _ in range(TRIES if outcome in ("recover", "clarify") else 0):  # plans until one allows the outcome
            candidate = self._plan(state, rng)
            if candidate is None:
                break
            said = said_values(candidate, self.spec)
            if outcome == "recover" and (found := with_failed_attempt(self.sim, state, candidate, said, self.spec,
                                                                      rng)):
                plan, first_attempt = found
            elif outcome == "clarify" and (label := withheld_label(said, rng)):
                plan, withheld = candidate, {label}
            if plan:
                break
        if plan is None and outcome != "complete":
            outcome = self._fallback(outcome)
        plan = plan or self._plan(state, rng)
        if plan is None:
            return None
        said = said_values(plan, self.spec)
        changes = None
        if persona == "changes_mind":
            changes = change_of_mind(self.sim, plan, said, rng, withheld)
            persona = persona if changes else rng.choice(sorted(set(PERSONAS) - {"changes_mind"}))
        intent, why = template_intent(plan, self.spec, persona, family, rng)
        return Draft(outcome, plan, intent, scenario(why, persona, family, said, unknown_labels(plan, self.spec),
                                                     withheld=withheld, rule=plan.rule, first_attempt=first_attempt,
                                                     changes=changes))


def domain_tasks(spec: EnvSpec, config: TaskConfig, sources: dict[str, str] | None = None,
                 foreign: list[tuple[str, str]] = ()) -> tuple[list[Task], Counter]:
    """One domain's checked tasks, and counts of what happened on the way. ``foreign``: (name, kind) of other
    domains' tools, for requests this domain cannot serve."""
    counts: Counter = Counter()
    domain = _Domain(spec, config, list(foreign), counts)
    if not spec.states or not domain.tools:
        return [], counts
    checker = DomainSimulator(spec)
    tools_json = json.dumps([t.openai_schema for t in spec.tools if t.executable], sort_keys=True)
    policy = spec.policy.text() if getattr(spec, "policy", None) else ""
    tasks = []
    for k in range(config.per_domain if domain.writes else config.read_only_domain):
        rng = rng_for(config.seed, "task", spec.domain_id, k)
        state = k % len(spec.states)
        draft = domain.draft(state, rng)
        if draft is None:
            counts["given_up"] += 1
            continue
        steps = draft.plan.steps
        split = ("heldout_domain" if rng_for(config.seed, "heldout", spec.domain_id).random() < config.heldout_domains
                 else "heldout_task" if rng.random() < config.heldout_tasks else "train")
        task = Task(
            task_id=f"d{spec.domain_id}-t{k}", domain_id=spec.domain_id, state_index=state,
            intent=draft.intent, gold_calls=json.dumps([s.call for s in steps]),
            gold_observations=json.dumps([s.observation for s in steps]),
            gold_hash=domain.sim.replay(state, [s.call for s in steps]).final_hash,
            initial_hash=spec.state_hashes[state] if state < len(spec.state_hashes) else checker.reset(state),
            writes=draft.plan.writes, tools=tools_json, intent_source="template",
            source=",".join(sorted({(sources or {}).get(s.tool.tool_id, "") for s in steps} - {""})),
            seed=config.seed, split=split, outcome=draft.outcome, scenario=json.dumps(draft.scenario),
            policy=policy,
        )
        problems = check_task(checker, task)
        if problems:
            counts[f"dropped: {code_of(problems[0])}"] += 1
            continue
        counts[f"outcome: {draft.outcome}"] += 1
        tasks.append(task)
    return tasks, counts


def _domain_job(run_dir: str, domain_id: int, config: TaskConfig, sources: dict[str, str],
                foreign: list[tuple[str, str]]) -> tuple[list[Task], Counter]:
    return domain_tasks(load_env(run_dir, domain_id), config, sources, foreign)


def _sources(run: RunDir) -> dict[int, dict[str, str]]:
    """Per domain, its tools' corpora (tool id -> source): each Ray task is sent its own domain's only."""
    table = pq.read_table(run.require(run.tools), columns=["tool_id", "source"])
    source = dict(zip(table["tool_id"].to_pylist(), table["source"].to_pylist()))
    out: dict[int, dict[str, str]] = {}
    for row in pq.read_table(run.require(run.env_tools), columns=["tool_id", "domain_id"]).to_pylist():
        out.setdefault(row["domain_id"], {})[row["tool_id"]] = source.get(row["tool_id"], "")
    return out


def _foreign_tools(run: RunDir, domains: list[int], seed: int) -> dict[int, list[tuple[str, str]]]:
    """Per domain, up to ``FOREIGN_TOOLS`` (name, kind) of executable tools of other domains, drawn by seed: tools
    whose name is about something particular (``quarterly earnings``), not about what many domains have (a
    word in the tool names of more than 2% of them, at least 3: ``user``, ``account``, ``item``), which
    another domain's tools might well serve."""
    table = pq.read_table(run.require(run.env_tools), columns=["name", "domain_id", "kind", "executable"]).to_pylist()
    owners: dict[str, set[int]] = {}
    for r in table:
        for word in spoken(r["name"]).split():
            owners.setdefault(singular(word), set()).add(r["domain_id"])
    most = max(2, len({r["domain_id"] for r in table}) // 50)
    common = {w for w, held in owners.items() if len(held) > most}
    nouns = {r["name"]: request_noun(r["name"]) for r in table if r["executable"]}
    tools = [(r["name"], r["kind"], r["domain_id"]) for r in table
             if nouns.get(r["name"]) and not common & {singular(w) for w in nouns[r["name"]].split()}]
    out = {}
    for d in domains:
        rng = rng_for(seed, "foreign", d)
        picked = rng.sample(tools, min(len(tools), 2 * FOREIGN_TOOLS))
        out[d] = [(name, kind) for name, kind, owner in picked if owner != d][:FOREIGN_TOOLS]
    return out


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
    sources = _sources(run)
    foreign = _foreign_tools(run, domains, config.seed)
    jobs = [(str(run.path), d, config, sources.get(d, {}), foreign[d]) for d in domains]
    results, nodes = map_jobs(_domain_job, jobs, workers, "sampling tasks" if progress else None)
    tasks = [t for tasks_, _ in results for t in tasks_]
    counts = sum((c for _, c in results), Counter())
    metrics.TASKS_SAMPLED.inc_each(counts, "result")  # in the driver, wherever the domains ran
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
        "outcomes": {o: sum(t.outcome == o for t in tasks) for o in contracts.OUTCOMES},
        "splits": {split: sum(t.split == split for t in tasks) for split in contracts.SPLITS},
        "counts": dict(sorted(counts.items())), "seconds": round(time.perf_counter() - started, 2),
        "nodes": node_ids(nodes),
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
            text = await llm_intent(backend, task, rng_for(seed, "intent", task.task_id).randrange(2**31))
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
    workers: int = typer.Option(0, help="Domains sampled at once (0: as many as the cluster's CPUs; 1: in this "
                                        "process, without Ray)."),
) -> None:
    """Sample tasks with gold calls and gold final states for every domain (stage 6)."""
    summary = build_tasks(run, config, workers=workers or None, progress=True)
    typer.echo(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
