"""The programmatic teacher and the template user: the offline baseline, with no model at all.

The teacher follows the task's gold plan call by call, with templated words around the calls; it
is what rollouts look like when the agent is perfect, so it measures the orchestration ceiling and
serves as a test fixture. Its trajectories are labelled ``teacher`` wherever they go: they prove
the machinery, not a model.
"""

from __future__ import annotations

import json

from agentscaler.contracts import Task
from agentscaler.llm import Completion
from agentscaler.rollouts.protocol import STOP


class TeacherAgent:
    """Calls the task's gold calls in order, one per turn, then reports the last result."""

    name = "teacher"

    def __init__(self, task: Task):
        self.gold = task.calls

    async def chat(self, messages: list[dict], tools: list[dict] | None = None, *, seed: int = 0,
                   max_tokens: int = 512, temperature: float = 0.0) -> Completion:
        made = sum(len(m.get("tool_calls") or []) for m in messages if m["role"] == "assistant")
        if made < len(self.gold):
            call = self.gold[made]
            return Completion({"role": "assistant", "content": "Let me take care of that.", "tool_calls": [{
                "id": f"call_{made}", "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])}}]},
                finish_reason="tool_calls")
        last = next((m["content"] for m in reversed(messages) if m["role"] == "tool"), "")
        return Completion({"role": "assistant", "content": f"Done. Here is the result: {last[:500]}"})


class TemplateUser:
    """Opens with the intent; once the agent answers, says it is satisfied."""

    name = "template"

    async def reply(self, task: Task, messages: list[dict], seed: int = 0) -> Completion:
        if not any(m["role"] == "user" for m in messages):
            return Completion({"role": "user", "content": task.intent})
        return Completion({"role": "user", "content": f"Thank you, that is everything. {STOP}"})
