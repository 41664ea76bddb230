"""The LLM intent rewrite drops a reply the model was cut off in (benchmarks/bench_llm_paths.py: a 135M model
rambles in the agent's voice until its token cap, and the checker's text checks let that through)."""

from __future__ import annotations

import asyncio

from envs_helpers import make_run, shop_tools

from agentscaler.envs import build_envs
from agentscaler.llm.base import Completion
from agentscaler.tasks import TaskConfig, build_tasks
from agentscaler.tasks.check import out_of_role
from agentscaler.tasks.intent import llm_intent


class Echo:
    """A stand-in for an intent LLM: says the template back, ending as ``finish_reason`` says."""

    def __init__(self, finish_reason: str):
        self.finish_reason, self.name = finish_reason, "echo"

    async def chat(self, messages, tools=None, **_):
        template = messages[-1]["content"].split("Message: ", 1)[1]
        return Completion({"role": "assistant", "content": template}, finish_reason=self.finish_reason)


def test_a_rewrite_cut_off_at_the_token_cap_is_dropped(tmp_path):
    run = make_run(tmp_path, [shop_tools()])
    build_envs(run, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=4), workers=1)
    task = run.read_tasks()[0]
    assert asyncio.run(llm_intent(Echo("stop"), task, seed=0)) == task.intent  # the checker passes the text
    assert asyncio.run(llm_intent(Echo("length"), task, seed=0)) is None


class Says:
    """A stand-in for an intent LLM that answers with fixed text."""

    name = "says"

    def __init__(self, text: str):
        self.text = text

    async def chat(self, messages, tools=None, **_):
        return Completion({"role": "assistant", "content": self.text}, finish_reason="stop")


def test_a_rewrite_in_the_agents_voice_or_with_blanks_is_dropped(tmp_path):
    run = make_run(tmp_path, [shop_tools()])
    build_envs(run, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=4), workers=1)
    task = next(t for t in run.read_tasks() if t.intent)
    assert out_of_role(task.intent) is None  # the template speaks as the user
    for text in (f"Hello! How can I help you today? {task.intent}", f"User: {task.intent}",
                 f"{task.intent} My name is [Your Name]."):
        assert out_of_role(text) is not None
        assert asyncio.run(llm_intent(Says(text), task, seed=0)) is None
