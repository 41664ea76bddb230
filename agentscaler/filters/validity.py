"""Filter 1, validity: is the trajectory a well-formed, bounded conversation whose calls the tools accept?

Checked in this order, the first failure being the reason (codes in brackets):

- the rollout did not end in error [``rollout_error``], messages parse [``malformed``];
- turn order [``turn_order``]: an optional system message first, then a user message; every assistant
  message has content or tool calls; every tool call has an id, and the tool messages right after it
  answer each id exactly once [``unanswered_call``]; a tool message answering no pending call is an
  orphan [``orphan_tool_message``];
- every call names a tool of the row's ``tools`` [``unknown_tool``], with arguments that are a JSON
  object [``bad_arguments``] valid against that tool's JSON Schema [``schema_invalid``];
- budgets on messages, calls and characters [``budget``];
- repetition loops [``repetition``]: the same normalized call more than ``max_call_repeats`` times;
  an assistant sentence (``min_sentence_words``+ words) more than ``max_sentence_repeats`` times
  over the trajectory; a word ``ngram_size``-gram more than ``max_ngram_repeats`` times inside one
  assistant message (degenerate generation without punctuation);
- a final answer [``no_final_answer``]: the last message is the assistant's, with text, no calls.

JSON Schema validators are compiled once per distinct tool list per worker (unchecked: a broken tool
schema is reported when a call first meets it, which costs nothing for the tools never called).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from agentscaler.filters.config import FilterConfig
from agentscaler.filters.stage import Stage, Verdict, reject
from agentscaler.filters.trajectory import ROLES, UNPARSABLE, parse, tool_schemas
from agentscaler.toolspec import SchemaCheck

_SENTENCE_END = re.compile(r"[.!?\n]+")
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=4096)
def tool_checks(tools_text: str | None) -> dict[str, SchemaCheck]:
    """Tool name -> its schema check, compiled once per distinct tool list per worker."""
    return {name: SchemaCheck(schema) for name, schema in tool_schemas(tools_text).items()}


def _turn_order(messages: list[dict]) -> Verdict | None:
    start = 1 if messages and messages[0].get("role") == "system" else 0
    if len(messages) <= start or messages[start].get("role") != "user":
        return reject("turn_order", f"message {start} must be the user's, after an optional system message")
    pending: set[str] = set()
    seen_ids: set[str] = set()
    for i, m in enumerate(messages):
        role = m.get("role")
        if role not in ROLES:
            return reject("turn_order", f"message {i} has role {role!r}")
        if role == "system" and i:
            return reject("turn_order", f"message {i} is a system message after the conversation began")
        if role == "tool":
            call_id = m.get("tool_call_id")
            if call_id not in pending:
                return reject("orphan_tool_message", f"message {i} answers tool_call_id {call_id!r}, "
                                                     "which no pending call has")
            pending.discard(call_id)
            continue
        if pending:
            return reject("unanswered_call", f"message {i} ({role}) comes before the tool results of "
                                             f"{sorted(pending)}")
        if role != "assistant":
            continue
        calls = m.get("tool_calls") or []
        content = m.get("content")
        if not calls and not (isinstance(content, str) and content.strip()):
            return reject("turn_order", f"message {i} is an assistant message with neither content nor calls")
        for call in calls:
            call_id = call.get("id") if isinstance(call, dict) else None
            if not isinstance(call_id, str) or not call_id or call_id in seen_ids:
                return reject("turn_order", f"message {i} has a tool call with a missing or repeated id {call_id!r}")
            seen_ids.add(call_id)
            pending.add(call_id)
    if pending:
        return reject("unanswered_call", f"the trajectory ends before the tool results of {sorted(pending)}")
    return None


def _text(content) -> str:
    return content if isinstance(content, str) else ""


def _repetition(messages: list[dict], keys: list[str], config: FilterConfig) -> Verdict | None:
    repeats = Counter(keys)
    if repeats:
        key, n = repeats.most_common(1)[0]
        if n > config.max_call_repeats:
            return reject("repetition", f"the call {key} is made {n} times (at most {config.max_call_repeats})")
    sentences: Counter[str] = Counter()
    for i, m in enumerate(messages):
        if m.get("role") != "assistant":
            continue
        text = _text(m.get("content")).lower()
        for sentence in _SENTENCE_END.split(text):
            words = _WORD.findall(sentence)
            if len(words) >= config.min_sentence_words:
                sentences[" ".join(words)] += 1
        words = _WORD.findall(text)
        n = config.ngram_size
        if len(words) >= n * (config.max_ngram_repeats + 1):
            grams = Counter(tuple(words[j:j + n]) for j in range(len(words) - n + 1))
            gram, times = grams.most_common(1)[0]
            if times > config.max_ngram_repeats:
                return reject("repetition", f"message {i} repeats {' '.join(gram)!r} {times} times "
                                            f"(at most {config.max_ngram_repeats})")
    if sentences:
        sentence, n = sentences.most_common(1)[0]
        if n > config.max_sentence_repeats:
            return reject("repetition", f"the assistant says {sentence!r} {n} times "
                                        f"(at most {config.max_sentence_repeats})")
    return None


class Validity(Stage):
    """Filter 1 (see the module docstring); needs only the row itself."""

    name = "validity"
    reads = ("status", "error", "messages", "tools")

    def __init__(self, config: FilterConfig | None = None):
        self.config = config or FilterConfig()

    def check(self, row: dict) -> Verdict:
        config = self.config
        if row.get("status") == "error":
            return reject("rollout_error", str(row.get("error") or "the rollout ended in error"))
        try:
            trajectory = parse(row.get("messages"))
        except ValueError as e:
            return reject("malformed", str(e))
        messages, calls = trajectory.messages, trajectory.calls
        bad = _turn_order(messages)
        if bad:
            return bad
        try:
            schemas = tool_checks(row.get("tools"))
        except (ValueError, TypeError) as e:
            return reject("malformed", f"tools are not an OpenAI tool list: {e}")
        for n, call in enumerate(calls):
            if call.name not in schemas:
                return reject("unknown_tool", f"call {n} names {call.name!r}, not one of the row's tools")
            if call.arguments is UNPARSABLE or not isinstance(call.arguments, dict):
                return reject("bad_arguments", f"call {n} ({call.name}): arguments are not a JSON object")
            error = schemas[call.name].error(call.arguments)
            if error:
                return reject("schema_invalid", f"call {n} ({call.name}): {error}")
        chars = sum(len(_text(m.get("content"))) for m in messages) + sum(len(k) for k in trajectory.keys)
        longest = max(len(_text(m.get("content"))) for m in messages)
        for what, value, limit in (("messages", len(messages), config.max_messages),
                                   ("tool calls", len(calls), config.max_tool_calls),
                                   ("characters", chars, config.max_chars),
                                   ("characters in one message", longest, config.max_message_chars)):
            if value > limit:
                return reject("budget", f"{value} {what} (at most {limit})")
        bad = _repetition(messages, trajectory.keys, config)
        if bad:
            return bad
        last = messages[-1]
        if last.get("role") != "assistant" or last.get("tool_calls") or not _text(last.get("content")).strip():
            return reject("no_final_answer", f"the last message ({last.get('role')}) is not an assistant answer")
        return Verdict()
