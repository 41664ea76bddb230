"""One episode: the simulated user opens with the intent, the agent answers or calls tools, the calls
run on the episode's simulator, until the user stops, gives up, or a turn or token budget runs out.
The agent's system message holds its instructions and, when the task has one, the domain's policy.

Everything is recorded in OpenAI chat format (what chat templates, TRL and the filters read), with
token counts, generated token ids where the backend kept them, and the final state hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentscaler import metrics
from agentscaler.contracts import Task
from agentscaler.rollouts.user import UserGuard

if TYPE_CHECKING:  # the batcher brings Ray; the CLI imports this module without it
    from agentscaler.rollouts.sims import EpisodeBatcher

AGENT_SYSTEM = ("You are a helpful assistant that acts for the user through the tools you are given. Use "
                "the tools to look up and change records; take ids and values from the user's words and from "
                "the tools' results, never make them up; ask the user for a value you need and cannot look up. "
                "If no tool can do what the user asks, say so without calling any. When the request is done, "
                "tell the user briefly what you did or found.")
POLICY_SYSTEM = "\n\nThe rules of this domain, which you must follow (refuse what breaks them, saying why):\n{policy}"


def system_prompt(task: Task) -> str:
    """The agent's instructions, then the domain's policy when the task has one."""
    return AGENT_SYSTEM + (POLICY_SYSTEM.format(policy=task.policy.strip()) if (task.policy or "").strip() else "")


@dataclass
class Budget:
    max_turns: int = 32  # agent turns
    max_tokens: int = 16_384  # prompt + completion tokens over the whole episode
    turn_tokens: int = 512  # per generation


async def run_episode(task: Task, sample: int, agent, user, sims: EpisodeBatcher, budget: Budget,
                      seed: int) -> dict[str, Any]:
    """Play one episode and return its rollout row; counted on Ray's dashboard as started, then finished or failed."""
    metrics.EPISODES_STARTED.inc(agent=agent.name)
    try:
        row = await _play(task, sample, agent, user, sims, budget, seed)
    except Exception as error:
        metrics.EPISODES_FAILED.inc(agent=agent.name, error=type(error).__name__)
        raise
    metrics.EPISODES_FINISHED.inc(agent=agent.name, status=row["status"], outcome=task.outcome or "complete")
    metrics.EPISODE_TURNS.observe(row["num_turns"], agent=agent.name)
    return row


async def _play(task: Task, sample: int, agent, user, sims: EpisodeBatcher, budget: Budget,
                seed: int) -> dict[str, Any]:
    rollout_id = f"{task.task_id}-r{sample}"
    tools = task.tool_schemas
    guard = UserGuard(task, {t["function"]["name"] for t in tools})
    messages: list[dict] = [{"role": "system", "content": system_prompt(task)}]
    token_ids: list[list[int] | None] = []
    counts = {"prompt_tokens": 0, "completion_tokens": 0, "num_tool_calls": 0, "num_tool_errors": 0}
    initial = await sims.start(rollout_id, int(task.domain_id), int(task.state_index))
    state_hash, status = initial, "max_turns"
    try:
        opening = await user.reply(task, messages, seed)
        text, _, _ = guard.check(opening.message["content"], False)
        messages.append({"role": "user", "content": text})
        for turn in range(budget.max_turns):
            reply = await agent.chat(messages, tools, seed=seed + turn, max_tokens=budget.turn_tokens)
            counts["prompt_tokens"] += reply.prompt_tokens
            counts["completion_tokens"] += reply.completion_tokens
            token_ids.append(reply.token_ids)
            messages.append(reply.message)
            calls = reply.message.get("tool_calls") or []
            for call in calls:  # in order: the batcher keeps one episode's calls in the order awaited
                result = await sims.step(rollout_id, call)
                state_hash = result.state_hash
                counts["num_tool_calls"] += 1
                counts["num_tool_errors"] += result.error
                metrics.TOOL_CALLS.inc(agent=agent.name, result="error" if result.error else "ok")
                messages.append({"role": "tool", "tool_call_id": call["id"], "name": call["function"]["name"],
                                 "content": result.observation})
            if counts["prompt_tokens"] + counts["completion_tokens"] > budget.max_tokens:
                status = "token_budget"
                break
            if calls:
                continue
            answer = await user.reply(task, messages, seed + 7919 * (turn + 1))
            text, stops, gave_up = guard.check(answer.message["content"], state_hash != initial)
            if stops:
                status = "user_gave_up" if gave_up else "completed"
                break
            messages.append({"role": "user", "content": text})
    finally:
        await sims.close(rollout_id)
    return {
        "rollout_id": rollout_id, "task_id": task.task_id, "domain_id": int(task.domain_id),
        "sample_index": sample, "messages": json.dumps(messages, ensure_ascii=False), "tools": task.tools,
        "final_hash": state_hash, "agent": agent.name, "user": user.name, "status": status, "error": None,
        "num_turns": sum(m["role"] == "assistant" for m in messages), **counts,
        "user_interventions": json.dumps(guard.interventions, sort_keys=True),
        "assistant_token_ids": json.dumps(token_ids), "seed": seed,
    }
