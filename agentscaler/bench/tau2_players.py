"""The agents and users ``bench tau2`` puts into τ²-bench's own orchestrator.

τ²'s ``LLMAgent`` and ``UserSimulator`` reach their model through litellm. ``BackendAgent`` and
``BackendUser`` keep τ²'s prompts, states and message handling and only swap that one call for a
project backend (``llm.make_backend``: transformers, vLLM, any OpenAI-compatible server), so the
benchmark is played as τ² plays it, by whatever the project serves.

``OracleAgent`` and ``ScriptedUser`` need no model. The oracle replays the task's gold actions in
order: its own as tool calls, a user-side action as a request that names the call, then says what
the task expects communicated. The scripted user opens with its scenario, performs a user-side gold
action when the agent names it, and answers anything else with "go ahead" until its patience runs
out, then ends the conversation. Together they are the harness's own check: a task they fail is a
task whose gold actions do not satisfy its checks.

This module imports ``tau2``; ``bench.tau2`` imports it only when a benchmark runs.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Optional

from tau2.agent.base import LocalAgent
from tau2.agent.llm_agent import LLMAgent
from tau2.data_model.message import (AssistantMessage, Message, MultiToolMessage, ToolCall, ToolMessage,
                                     UserMessage)
from tau2.data_model.tasks import Task
from tau2.environment.tool import Tool
from tau2.user.base import STOP, BaseUser
from tau2.user.user_simulator import UserSimulator
from tau2.utils.llm_utils import to_litellm_messages

from agentscaler.llm import ChatBackend

GO_AHEAD = "Yes, please go ahead with what I asked."


@dataclass
class Voice:
    """A backend as τ²'s synchronous orchestrator needs it: conversations run in threads, and each turn hands the
    backend's coroutine to the benchmark's one event loop and waits for it (a client bound to a loop stays on it;
    turns of concurrent conversations reach the backend together, as a server or a batching backend wants)."""

    backend: ChatBackend
    loop: asyncio.AbstractEventLoop
    max_tokens: int = 512
    temperature: float = 0.0

    def say(self, messages: list[Message], tools: Optional[list[Tool]], seed: int) -> AssistantMessage:
        """The backend's reply to τ² messages, as a τ² assistant message (calls with bad JSON arguments raise)."""
        wire = [{k: v for k, v in m.items() if v is not None or k == "content"} for m in to_litellm_messages(messages)]
        schemas = [tool.openai_schema for tool in tools] if tools else None
        completion = asyncio.run_coroutine_threadsafe(self.backend.chat(
            wire, schemas, seed=seed, max_tokens=self.max_tokens, temperature=self.temperature), self.loop).result()
        calls = [ToolCall(id=call["id"], name=call["function"]["name"],
                          arguments=json.loads(call["function"]["arguments"] or "{}"))
                 for call in completion.message.get("tool_calls") or []]
        return AssistantMessage(role="assistant", content=completion.message.get("content"), tool_calls=calls or None,
                                cost=0.0, usage={"prompt_tokens": completion.prompt_tokens,
                                                 "completion_tokens": completion.completion_tokens})


def _receive(message: Message, state) -> None:
    """τ²'s bookkeeping of an incoming message: tool results are kept one by one."""
    state.messages.extend(message.tool_messages if isinstance(message, MultiToolMessage) else [message])


class BackendAgent(LLMAgent):
    """τ²'s LLM agent (its system prompt: instructions and the domain's policy), answered by a project backend."""

    def __init__(self, tools: list[Tool], domain_policy: str, voice: Voice):
        super().__init__(tools=tools, domain_policy=domain_policy, llm=voice.backend.name)
        self.voice, self.seed = voice, 0

    def set_seed(self, seed: int) -> None:
        self.seed = seed

    def generate_next_message(self, message, state):
        _receive(message, state)
        reply = self.voice.say(state.system_messages + state.messages, self.tools, self.seed)
        state.messages.append(reply)
        return reply, state


class BackendUser(UserSimulator):
    """τ²'s user simulator (its guidelines and the task's scenario, roles flipped), answered by a project backend."""

    def __init__(self, tools: Optional[list[Tool]], instructions: str, voice: Voice):
        super().__init__(tools=tools, instructions=instructions, llm=voice.backend.name)
        self.voice, self.seed = voice, 0

    def set_seed(self, seed: int) -> None:
        self.seed = seed

    def _generate_next_message(self, message, state):
        _receive(message, state)
        said = self.voice.say(state.system_messages + state.flip_roles(), self.tools, self.seed)
        reply = UserMessage(role="user", content=said.content, usage=said.usage, cost=0.0, tool_calls=[
            call.model_copy(update={"requestor": "user"}) for call in said.tool_calls] if said.tool_calls else None)
        state.messages.append(reply)
        return reply, state


def gold_actions(task: Task) -> list:
    return list(task.evaluation_criteria.actions or []) if task.evaluation_criteria else []


def expected_communication(task: Task) -> list[str]:
    return list(task.evaluation_criteria.communicate_info or []) if task.evaluation_criteria else []


@dataclass
class OracleState:
    messages: list = field(default_factory=list)
    done: int = 0  # gold actions replayed so far


class OracleAgent(LocalAgent[OracleState]):
    """Replays the task's gold actions, then says what the task expects communicated."""

    def __init__(self, tools: list[Tool], domain_policy: str, task: Task):
        super().__init__(tools=tools, domain_policy=domain_policy)
        self.actions = gold_actions(task)
        said = expected_communication(task)
        self.closing = (f"Done. For your information: {'; '.join(said)}." if said else "Done: your request is handled.")

    def get_init_state(self, message_history: Optional[list[Message]] = None) -> OracleState:
        return OracleState(messages=list(message_history or []))

    def set_seed(self, seed: int) -> None:
        """Nothing to seed: the replay is the same every trial."""

    def generate_next_message(self, message, state: OracleState):
        _receive(message, state)
        if state.done < len(self.actions):
            action = self.actions[state.done]
            state.done += 1
            if action.requestor == "assistant":
                call = ToolCall(id=f"oracle_{state.done}", name=action.name, arguments=action.arguments)
                reply = AssistantMessage(role="assistant", tool_calls=[call], cost=0.0)
            else:
                reply = AssistantMessage(role="assistant", cost=0.0,
                                         content=f"Please do this on your side: {action.get_func_format()}")
        else:
            reply = AssistantMessage(role="assistant", content=self.closing, cost=0.0)
        state.messages.append(reply)
        return reply, state


@dataclass
class ScriptState:
    messages: list = field(default_factory=list)
    opened: bool = False
    performed: set = field(default_factory=set)  # indices of the user-side gold actions done
    plain_replies: int = 0


class ScriptedUser(BaseUser):
    """A user without a model: its scenario first, a user-side gold action when the agent names it, "go ahead" to
    anything else ``patience`` times, then τ²'s stop signal."""

    def __init__(self, task: Task, patience: int = 1):
        super().__init__(instructions=str(task.user_scenario.instructions))
        self.actions = [a for a in gold_actions(task) if a.requestor == "user"]
        self.patience = patience

    def get_init_state(self, message_history: Optional[list[Message]] = None) -> ScriptState:
        return ScriptState(messages=list(message_history or []))

    @classmethod
    def is_stop(cls, message: UserMessage) -> bool:
        return UserSimulator.is_stop(message)

    def set_seed(self, seed: int) -> None:
        """Nothing to seed: the script is the same every trial."""

    def generate_next_message(self, message, state: ScriptState):
        _receive(message, state)
        reply = self._next(message, state)
        state.messages.append(reply)
        return reply, state

    def _next(self, message, state: ScriptState) -> UserMessage:
        if isinstance(message, (ToolMessage, MultiToolMessage)):  # the result of an action it performed
            return UserMessage(role="user", content="Done, I did that.", cost=0.0)
        if not state.opened:
            state.opened = True
            return UserMessage(role="user", content=self.instructions, cost=0.0)
        asked = next((i for i, a in enumerate(self.actions)
                      if i not in state.performed and a.name in (message.content or "")), None)
        if asked is not None:
            state.performed.add(asked)
            action = self.actions[asked]
            call = ToolCall(id=f"user_{asked}", name=action.name, arguments=action.arguments, requestor="user")
            return UserMessage(role="user", tool_calls=[call], cost=0.0)
        state.plain_replies += 1
        return UserMessage(role="user", content=STOP if state.plain_replies > self.patience else GO_AHEAD, cost=0.0)
