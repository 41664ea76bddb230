"""``rollout``: play every task's episodes with an agent and a simulated user, write ``rollouts/``.

Episodes run concurrently on one event loop (``concurrency`` in flight) so that model engines get
batches and the simulator actors get batches (``EpisodeBatcher``). Rollout ids are deterministic
(task id + sample index) and finished episodes are written in atomically renamed Parquet shards, so
a killed run resumes without duplicates or gaps: what a shard holds is skipped, the rest is played.
An episode whose simulator actor or model engine fails (a node lost with its actors included: the pool
replaces them on the nodes left) is retried from its start; one that keeps failing is reported, not
written, so the next run tries it again. The summary's ``nodes`` are those the simulator actors ran on.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import typer
from pydantic import Field

from agentscaler import contracts
from agentscaler.artifacts import RunDir, ShardWriter, atomic, read_shards, summary_beside, write_json
from agentscaler.configs import StrictConfig
from agentscaler.console import init_ray
from agentscaler.contracts import Task
from agentscaler.envs import load_env
from agentscaler.llm import make_backend
from agentscaler.options import config_command
from agentscaler.rollouts.episode import Budget, run_episode
from agentscaler.rollouts.teacher import TeacherAgent, TemplateUser
from agentscaler.rollouts.user import LLMUser
from agentscaler.seeding import rng_for
from agentscaler.workers import progress_line


class RolloutConfig(StrictConfig):
    samples: int = Field(1, description="Episodes per task.")
    concurrency: int = Field(64, description="Episodes in flight at once.")
    max_turns: int = Field(32, description="Agent turns per episode (a 13-call plan with its questions and "
                                             "confirmations takes about 20).")
    max_tokens: int = Field(16_384, description="Prompt + completion tokens per episode.")
    turn_tokens: int = Field(512, description="Tokens per generation.")
    retries: int = Field(2, description="Restarts of an episode whose actor or engine failed.")
    flush_every: int = Field(256, description="Finished episodes per Parquet shard.")
    seed: int = Field(0, description="Base seed; each episode's seed derives from it and its rollout id.")
    actors: int = Field(0, description="Simulator actors (0: one per CPU).")
    agent: str = Field("teacher", description="The agent: teacher (follows the gold plan), a model path, or an "
                                              "OpenAI-compatible URL (key: $OPENAI_API_KEY).")
    user: str = Field("template", description="The simulated user: template (no model), a model path, or an "
                                              "OpenAI-compatible URL.")


def _open_rollouts_dir(out: Path, tasks: list[Task]) -> Path:
    """The rollouts directory, emptied first if its episodes were played on other tasks than these
    (tasks were sampled again): their ids would match and hide that they answer other intents."""
    fingerprint = hashlib.sha256(json.dumps(sorted(
        (t.task_id, t.gold_hash, t.intent) for t in tasks)).encode()).hexdigest()
    marker = out / "tasks.sha256"
    if out.exists() and (not marker.exists() or marker.read_text() != fingerprint):
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic(marker) as tmp:
        tmp.write_text(fingerprint)
    return out


class _Shards:
    """Finished episodes, buffered and written ``flush_every`` at a time as one whole shard each."""

    def __init__(self, directory: Path, flush_every: int):
        self.writer = ShardWriter(directory, contracts.ROLLOUTS, flush_every)
        self.flush_every, self.rows = flush_every, []

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        self.writer.write(self.rows)
        self.writer.flush()
        self.rows = []


def backend_factories(run: RunDir, agent: str, user: str) -> tuple[Callable[[Task], Any], Any]:
    """(task -> agent, user) from their names: ``teacher`` / ``template`` need no model (the teacher reads the
    task's environment: its tools' kinds and its policy); anything else is
    a model path or URL (``llm.make_backend``), served through one shared backend whose calls are cached
    in the run (a rerun with the same seeds replays them exactly). An agent and a user that name the
    same model share one backend: the weights load once."""
    model = functools.cache(lambda spec: make_backend(spec, cache=run.llm_cache))
    if agent == "teacher":
        env = functools.lru_cache(maxsize=64)(lambda domain: load_env(run, domain).model_copy(
            update={"states": [], "state_hashes": []}))  # what the teacher reads, without the states
        agent_for = lambda task: TeacherAgent(task, env(task.domain_id))  # noqa: E731
    else:
        shared = model(agent)
        agent_for = lambda task: shared  # noqa: E731
    return agent_for, TemplateUser() if user == "template" else LLMUser(model(user))


def run_rollouts(run: str | os.PathLike | RunDir, config: RolloutConfig | None = None, *,
                 tasks: list[Task] | None = None, progress: bool = False, pool=None,
                 out_dir: Path | None = None) -> dict[str, Any]:
    """Play ``samples`` episodes of every training task (or of ``tasks``) not yet played, with
    ``config.agent`` and ``config.user``; writes shards and ``rollouts_summary.json``. Held-out tasks are
    left for evaluation.

    ``pool``: a ``SimulatorPool`` of this run to play on (kept open); by default one is made and shut down.
    ``out_dir``: where the shards go instead of ``DIR/rollouts`` (evaluation keeps its episodes apart from
    the training set's); the summary goes beside it (``artifacts.summary_beside``).
    """
    from agentscaler.rollouts.sims import EpisodeBatcher
    from agentscaler.sim import SimulatorPool

    run = RunDir(run)
    config = config or RolloutConfig()
    every_task = run.read_tasks()
    tasks = tasks if tasks is not None else [t for t in every_task if t.in_split("train")]
    out = _open_rollouts_dir(Path(out_dir) if out_dir else run.rollouts, every_task)
    done = {r["rollout_id"] for r in read_shards(out, ["rollout_id"])}
    todo = [(t, k) for t in tasks for k in range(config.samples) if f"{t.task_id}-r{k}" not in done]
    agent_for, user_backend = backend_factories(run, config.agent, config.user)
    init_ray()
    shards = _Shards(out, config.flush_every)
    budget = Budget(config.max_turns, config.max_tokens, config.turn_tokens)
    failures: Counter = Counter()
    started = time.perf_counter()
    own_pool = pool is None
    pool = pool or SimulatorPool(run.path, num_actors=config.actors or None)
    try:
        batcher = EpisodeBatcher(pool)
        rows = asyncio.run(_play_all(todo, agent_for, user_backend, batcher, budget, config, shards, failures,
                                     progress))
        shards.flush()
        placed = {"nodes": pool.nodes(), "sim_actors_replaced": pool.replaced}  # where the simulators ran
    finally:
        if own_pool:
            pool.shutdown()
    seconds = time.perf_counter() - started
    summary = {**_summarize(tasks, rows, failures, seconds, batcher, len(done), config), **placed}
    write_json(summary, summary_beside(out))
    return summary


async def _play_all(todo, agent_for, user, batcher, budget, config, shards, failures, progress) -> list[dict]:
    gate = asyncio.Semaphore(config.concurrency)
    rows: list[dict] = []

    async def one(task: Task, sample: int) -> None:
        seed = rng_for(config.seed, task.task_id, sample).randrange(2**31)
        async with gate:
            for attempt in range(config.retries + 1):
                try:
                    row = await run_episode(task, sample, agent_for(task), user, batcher, budget, seed)
                    break
                except Exception as e:  # noqa: BLE001 - an actor or engine failure: play the episode again
                    error = f"{type(e).__name__}: {e}"
            else:
                failures[error[:200]] += 1
                return
        rows.append(row)
        shards.add(row)
        advance(1)

    with progress_line("episodes" if progress else None, len(todo)) as advance:
        await asyncio.gather(*(one(t, k) for t, k in todo))
    return rows


def _summarize(tasks, rows, failures, seconds, batcher, skipped, config) -> dict[str, Any]:
    gold = {t.task_id: t for t in tasks}
    reached = [r for r in rows if r["final_hash"] == gold[r["task_id"]].gold_hash]
    failed = [r for r in rows if r["status"] != "completed" or r not in reached]
    user_side = [r for r in failed if json.loads(r["user_interventions"])]
    interventions: Counter = Counter()
    for r in rows:
        interventions.update(json.loads(r["user_interventions"]))
    by_outcome: dict[str, Counter] = {}
    for r in rows:
        counts = by_outcome.setdefault(gold[r["task_id"]].outcome, Counter())
        counts["episodes"] += 1
        counts["reached_gold_hash"] += r["final_hash"] == gold[r["task_id"]].gold_hash
    calls = sum(r["num_tool_calls"] for r in rows)
    tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
    return {
        "agent": config.agent, "user": config.user, "config": config.model_dump(), "episodes": len(rows),
        "skipped_already_written": skipped, "failed_after_retries": sum(failures.values()),
        "failures": dict(failures.most_common(10)), "status": dict(Counter(r["status"] for r in rows)),
        "reached_gold_hash": len(reached), "reached_gold_hash_rate": round(len(reached) / max(len(rows), 1), 4),
        "write_tasks_reached": sum(gold[r["task_id"]].writes for r in reached),
        "write_tasks_played": sum(gold[r["task_id"]].writes for r in rows),
        "outcomes": {k: dict(v) for k, v in sorted(by_outcome.items())},
        "failed_episodes": len(failed), "user_caused_failures": len(user_side),
        "user_caused_failure_share": round(len(user_side) / max(len(failed), 1), 4),
        "user_interventions": dict(interventions), "tool_calls": calls, "tokens": tokens,
        "seconds": round(seconds, 2), "episodes_per_s": round(len(rows) / max(seconds, 1e-9), 2),
        "tool_calls_per_s": round(calls / max(seconds, 1e-9), 2), "tokens_per_s": round(tokens / max(seconds, 1e-9), 2),
        "sim_batches": batcher.batches, "mean_sim_batch": round(batcher.calls / max(batcher.batches, 1), 2),
    }


def show_rollout(run: RunDir, rollout_id: str) -> None:
    """Print one trajectory as a conversation (styled on a terminal, plain text when piped).

    Styles go on ``Text`` spans, never into markup strings, so the trajectory's own text (brackets
    included) prints as it is and a file or pager gets no ``[bold]``.
    """
    from rich.console import Console
    from rich.text import Text

    row = next((r for r in run.read_rollouts() if r["rollout_id"] == rollout_id), None)
    if row is None:
        raise typer.BadParameter(f"no rollout {rollout_id!r} in {run.rollouts}")
    console = Console(highlight=False, soft_wrap=True)
    console.print(Text.assemble((row["rollout_id"], "bold"), f" task {row['task_id']} agent={row['agent']} "
                                f"user={row['user']} status={row['status']} final_hash={row['final_hash']}"))
    for m in json.loads(row["messages"]):
        if m["role"] == "tool":
            console.print(Text(f"tool {m.get('name')} → {str(m.get('content'))[:400]}", style="dim"))
            continue
        console.print(Text.assemble((m["role"], "bold"), f": {m.get('content') or ''}"))
        for call in m.get("tool_calls") or []:
            console.print(Text(f"  ↳ {call['function']['name']}({call['function']['arguments']})"))


@config_command(RolloutConfig)
def rollout_command(
    config: RolloutConfig,
    run: Path = typer.Option(..., "--run", help="Run directory with tasks.parquet."),
    show: str = typer.Option("", "--show", help="Print the rollout with this id and exit."),
) -> None:
    """Play episodes of every task: simulated user, agent, simulator actors (stage 7)."""
    run_dir = RunDir(run)
    if show:
        show_rollout(run_dir, show)
        return
    summary = run_rollouts(run_dir, config, progress=True)
    typer.echo(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
