"""Filter 2, outcome: the trajectory behaves as its task's outcome asks and keeps the domain's process rules.

Judged from the calls, the messages and the calls' replayed observations (never the recorded ones);
state alignment, next, judges the state the calls reach, so the code here names what the agent did
wrong even when the state is wrong too:

- ``refuse``: no write call at all [``wrote_on_refuse``]: a write the simulator refused is still a write
  the agent should not have tried; and the last answer declines and says why: a word of the broken rule's
  sentence, or "policy" / "rule" [``not_declined``];
- ``irrelevant``: no call at all [``called_on_irrelevant``], and the last answer declines [``not_declined``]
  (making no call is what an empty or garbled answer does too, so the calls alone cannot tell);
- ``clarify``: each withheld value is said in a user message before the first call that uses it
  (``rollouts.scenario`` says when a value is said and when a call uses it); a call that uses it
  earlier guessed it [``guessed_withheld_value``];
- ``complete`` and ``recover``: nothing here; state alignment and exact match judge them;
- every outcome: no process rule of the domain's policy is broken (an identity check before a write on
  a user's rows, a confirmation before a destructive write) [``unidentified_write``,
  ``unconfirmed_destructive_write``: ``envs.process_violations``, which counts successful writes only].
"""

from __future__ import annotations

import re

from agentscaler.envs import process_violations
from agentscaler.filters.gold import TaskStage, replayed, simulator
from agentscaler.filters.stage import Verdict, reject
from agentscaler.rollouts import rule_text, said, uses

# An answer that declines, in the phrasings agents use (English; the tasks' language).
DECLINES = re.compile(r"\b(can ?not|can'?t|unable|not able|not allowed|not permitted|not possible|won'?t|will not|"
                      r"do not have|don'?t have|no tool|sorry|refuse|decline)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z]{4,}")


def declined(answer: str, rule: str | None = None) -> bool:
    """Whether ``answer`` says the request cannot be done, and with a ``rule`` sentence, also why (one of its
    words of four letters or more, or "policy" / "rule")."""
    if not DECLINES.search(answer):
        return False
    if rule is None:
        return True
    reasons = set(_WORD.findall(rule.lower())) | {"policy", "rule", "rules"}
    return bool(reasons & set(_WORD.findall(answer.lower())))


def last_answer(messages: list[dict]) -> str:
    """The text of the agent's last message ("" when it has none)."""
    last = next((m for m in reversed(messages) if m.get("role") == "assistant"), {})
    return last.get("content") if isinstance(last.get("content"), str) else ""


class OutcomeCheck(TaskStage):
    """Filter 2 (see the module docstring); needs the run's tasks and envs/."""

    name = "outcome"
    reads = ("task_id", "messages")

    def check(self, row: dict) -> Verdict:
        found = self.task_and_trajectory(row)
        if isinstance(found, Verdict):
            return found
        task, trajectory = found
        sim, tools = simulator(self.run, task.domain_id)
        calls = trajectory.calls
        if task.outcome == "irrelevant" and calls:
            return reject("called_on_irrelevant", f"no tool serves task {task.task_id}, yet call 0 is "
                                                  f"{calls[0].name}")
        writes = [n for n, c in enumerate(calls) if c.name in tools and tools[c.name].kind != "read"]
        if task.outcome == "refuse" and writes:
            return reject("wrote_on_refuse", f"task {task.task_id} must be refused, yet call {writes[0]} "
                                             f"({calls[writes[0]].name}) writes")
        if task.outcome in ("refuse", "irrelevant"):
            rule = rule_text(task.policy, task.user_scenario.get("rule")) if task.outcome == "refuse" else None
            if not declined(last_answer(trajectory.messages), rule):
                return reject("not_declined", f"task {task.task_id} ({task.outcome}): the last answer "
                                              f"{last_answer(trajectory.messages)[:80]!r} does not decline"
                                              + (" citing the rule" if rule else ""))
        if task.outcome == "clarify":
            messages = trajectory.messages
            for label, value in (task.user_scenario.get("withheld") or {}).items():
                first = next((n for n, c in enumerate(calls) if uses(c.arguments, value)), None)
                if first is not None and not any(m.get("role") == "user" and said(m.get("content"), value)
                                                 for m in messages[:calls[first].message]):
                    return reject("guessed_withheld_value", f"call {first} ({calls[first].name}) uses the "
                                                            f"{label} before the user said it")
        replay = replayed(self.run, task.task_id, row["messages"])
        if replay.first("initial_state_mismatch"):
            return Verdict()  # no replay to judge by: state alignment says why
        violations = process_violations(sim.spec, trajectory.messages, [o.observation for o in replay.observations])
        return Verdict(str(violations[0])) if violations else Verdict()
