"""The simulated user: an LLM that knows only the task's intent and scenario, and the guards that keep it honest.

The LLM user is told its scenario in tau2-bench's shape: why it gets in touch, what it knows (said when
needed), what it does not know, what it says only when asked (a ``clarify`` task's withheld values),
and how it behaves. Peers' simulated users end conversations before anything was done, drift off the
goal, or read out internals; each guard below catches one of those, rewrites the turn, and counts it,
so the share of episodes a user spoiled is reported rather than mistaken for agent failures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentscaler.contracts import Task
from agentscaler.llm import ChatBackend, Completion
from agentscaler.rollouts.protocol import STOP
from agentscaler.toolspec import value_text

USER_SYSTEM = """You are a customer talking to a support agent. Your goal:

{intent}
{scenario}
Rules: say what you want in your own words, one or two sentences a turn. Give the exact values from \
your goal and what you know (names, ids, amounts) when they are needed; never invent other values. You do not know how \
the agent works inside. When the agent has done everything your goal asks, or you want to stop, reply \
with {stop} alone."""


def scenario_prompt(scenario: dict) -> str:
    """The scenario's parts as lines of the user's system prompt ("" for a task without one)."""
    def values(items: dict) -> str:
        return "; ".join(f"{label}: {value_text(v)}" for label, v in items.items())

    lines = [
        f"Why you get in touch: {scenario['reason']}" if scenario.get("reason") else "",
        f"What you know (say it when it is needed): {values(scenario['known'])}" if scenario.get("known") else "",
        f"What you do not know: {'; '.join(scenario['unknown'])}" if scenario.get("unknown") else "",
        f"What you say only when the agent asks for it, never before: {values(scenario['withheld'])}"
        if scenario.get("withheld") else "",
        f"How you behave ({scenario.get('persona') or 'plainly'}): {scenario['behaviour']}"
        if scenario.get("behaviour") else "",
    ]
    text = "\n".join(line for line in lines if line)
    return f"\n{text}\n" if text else ""


NUDGE = "That is not done yet. To repeat what I need: {intent}"
_IDENTIFIER = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b|\b[a-z]+[A-Z][A-Za-z0-9]+\b")


class LLMUser:
    """A chat backend playing the user: the roles are flipped, the agent's tool traffic hidden."""

    def __init__(self, backend: ChatBackend):
        self.backend = backend
        self.name = f"user:{backend.name}"

    async def reply(self, task: Task, messages: list[dict], seed: int = 0) -> Completion:
        system = USER_SYSTEM.format(intent=task.intent, scenario=scenario_prompt(task.user_scenario), stop=STOP)
        flipped = [{"role": "system", "content": system}]
        for m in messages:
            if m["role"] == "user":
                flipped.append({"role": "assistant", "content": m["content"]})
            elif m["role"] == "assistant" and m.get("content"):
                flipped.append({"role": "user", "content": m["content"]})
        if len(flipped) == 1:
            flipped.append({"role": "user", "content": "Hello! How can I help you today?"})
        reply = await self.backend.chat(flipped, None, seed=seed, max_tokens=200)
        reply.message = {"role": "user", "content": (reply.message.get("content") or "").strip()}
        return reply


@dataclass
class UserGuard:
    """Checks each user turn; ``interventions`` counts what was rewritten, by guard: an empty turn, a turn
    naming a tool (both replaced by the intent), a stop before anything changed on a task whose goal is a
    changed state (nudged ``max_nudges`` times, then the user gives up)."""

    task: Task
    tool_names: set[str]
    max_nudges: int = 2
    interventions: dict[str, int] = field(default_factory=dict)

    def _count(self, guard: str) -> None:
        self.interventions[guard] = self.interventions.get(guard, 0) + 1

    def check(self, text: str, changed_state: bool) -> tuple[str, bool, bool]:
        """(text to send, the user stops, the user gives up)."""
        stops = STOP in text
        if not text.replace(STOP, "").strip() and not stops:
            self._count("empty_turn")
            return self.task.intent, False, False
        leaked = [w for w in _IDENTIFIER.findall(text) if w in self.tool_names]
        if leaked:
            self._count("named_a_tool")
            return self.task.intent, False, False
        if stops and self.task.gold_hash != self.task.initial_hash and not changed_state:
            self._count("stopped_before_writes")
            if self.interventions["stopped_before_writes"] > self.max_nudges:
                return text, True, True
            return NUDGE.format(intent=self.task.intent), False, False
        return text, stops, False
