"""One vocabulary of failure reasons, shared by every stage that judges something.

A failure is a ``code`` (a stable snake_case word that reports count by) and a ``detail`` (free
text for people). It travels as text, ``"<code>: <detail>"``, in Parquet columns and reports; it is
split apart here and nowhere else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

CODES: dict[str, str] = {
    # replaying calls on a simulator (task check, state alignment, environment build, evaluation)
    "initial_state_mismatch": "the replay's starting state does not hash to the recorded initial hash",
    "call_failed": "a call got an error observation on replay",
    "state_mismatch": "the replayed calls end in another state than the gold one",
    "gold_not_reproducible": "the task's gold calls no longer reach its gold hash",
    "no_change": "a task with writes whose gold calls change nothing",
    # task check
    "intent_lacks_values": "the intent does not state a value the gold calls need",
    "intent_names_tools": "the intent names a tool",
    "intent_not_the_users": "the intent is not in the user's voice (the agent's phrases, a speaker label, a blank)",
    "intent_states_withheld": "a clarify task's intent says the value the user was to give only when asked",
    "outcome_unsound": "the gold run does not fit the task's outcome (the rules are in tasks.check)",
    # environment build (a compiled tool kept with executable=False)
    "not_compilable": "the compiler found no sound statement for the tool",
    "schema_rejected": "SQLite refused the domain's DDL",
    "failed_when_executed": "the tool failed on every row its check tried",
    # the domain's process rules (envs.process_violations)
    "unidentified_write": "a write on a person's or account's rows before a lookup identified them",
    "unconfirmed_destructive_write": "a destructive write without a confirmation question and the user's yes",
    # filters: validity
    "malformed": "messages or tools that do not parse",
    "turn_order": "messages out of the order a conversation takes",
    "orphan_tool_message": "a tool message that answers no call",
    "unanswered_call": "a call whose result never comes",
    "repetition": "a repetition loop (calls, sentences or n-grams)",
    "rollout_error": "the rollout ended in error",
    "unknown_tool": "a call names a tool the row does not offer",
    "bad_arguments": "a call's arguments are not a JSON object",
    "schema_invalid": "a call's arguments break the tool's JSON Schema",
    "budget": "a trajectory over a length budget",
    "no_final_answer": "the last message is not the agent's answer",
    # filters: judged against the task
    "unknown_task": "a trajectory of a task the run does not have",
    "read_only_mismatch": "a read-only task whose successful calls are not the gold calls",
    # filters: the task's outcome (judged from calls and messages)
    "wrote_on_refuse": "a refuse task's trajectory makes a write call (even one the simulator refused)",
    "called_on_irrelevant": "an irrelevant task's trajectory makes a tool call",
    "guessed_withheld_value": "a clarify task's call uses a withheld value before the user said it",
    "not_declined": "a refuse or irrelevant task's last answer does not say it cannot be done (and, to refuse, why)",
    # filters: dedup
    "exact_duplicate": "the same dialogue and calls were kept before",
    "near_duplicate": "a nearly identical dialogue was kept before",
    # evaluation
    "lost_episode": "an episode that was never written (its actor or engine kept failing)",
}


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code

    @classmethod
    def parse(cls, text: str) -> "Failure":
        """The failure a reason string spells (``"<code>: <detail>"``)."""
        code, _, detail = text.partition(":")
        return cls(code.strip(), detail.strip())


def code_of(reason: str | Failure | None) -> str | None:
    """The code of a reason (None for None): what reports count by."""
    if reason is None:
        return None
    return reason.code if isinstance(reason, Failure) else Failure.parse(reason).code


def count_codes(reasons: Iterable[str | Failure | None]) -> Counter[str]:
    """How many reasons of each code; None (no failure) is not counted."""
    return Counter(code for code in map(code_of, reasons) if code is not None)
