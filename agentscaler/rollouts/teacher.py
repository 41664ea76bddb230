"""The programmatic teacher and the template user: the offline baseline, with no model at all.

The teacher plays the good agent each outcome asks for, driven by the task alone (its outcome, gold
calls, scenario and the domain's policy), never by guessing what the user's words mean:

- ``complete``, ``recover``, ``clarify``: the gold calls in order (``recover``'s start with the natural
  attempt that fails). Before a call it asks, by their labels, for the scenario's values the call
  uses that the user has not said (``clarify``'s withheld values, the out-of-date value a ``recover``
  user gives first, known values the user left out unless a tool already showed them), then waits for
  the answer; after a failed call it says so. Before a write a confirmation
  rule of the policy covers, it says what it will do and waits for a yes (``envs.says_yes``, the one
  reading of the user's words it makes, the one the filters judge by); without one it makes no more calls.
- ``refuse``: the lookups (its gold calls), then a refusal quoting the rule the request breaks.
- ``irrelevant``: no call; it says that no tool it has can do that.

Its last turn says in words what the calls did (the rows created, changed, removed or found, by
entity and key), never a raw JSON dump. Its trajectories are labelled ``teacher`` wherever they go:
they prove the machinery, not a model.

The template user answers from the scenario (see ``TemplateUser``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentscaler.contracts import Task
from agentscaler.envs import (CompiledTool, EnvSpec, asks_confirmation, key_text, names_a_row, says_yes, singular,
                              spoken, unpacked)
from agentscaler.llm import Completion
from agentscaler.rollouts.protocol import STOP
from agentscaler.rollouts.scenario import leaves, said, uses
from agentscaler.tasks import action, field_words, listed, observed_rows
from agentscaler.toolspec import value_text

NO_TOOL = "I'm sorry, but none of the tools I have can do that, so I can't help with this request."
DECLINED = "Understood, I have not made that change."
_SHOWN_FIELDS = 4  # fields of a row a summary names besides its key
ASKED_AT_ONCE = 3  # missing values one question asks for
_SENTENCE = re.compile(r"(?<=[.!?])\s+")  # between sentences (a dot inside a value, a@b.com, is not)


def _text(m: dict) -> str:
    return m.get("content") if isinstance(m.get("content"), str) else ""


def _said_by(messages: list[dict], role: str, value: Any) -> bool:
    return any(m["role"] == role and said(_text(m), value) for m in messages)


def _label(name: str) -> str:
    return spoken(name)


def _quoted(v: Any) -> str:
    """A value in a sentence: text of several words in quotes, so that where it ends is plain; else as is."""
    text = value_text(v)
    return f'"{text}"' if isinstance(v, str) and " " in text.strip() else text


def _telling(v: Any) -> bool:
    """A value that names one row rather than a shared setting: not a flag, not a small number."""
    return isinstance(v, str) and len(v) >= 2 or isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) > 9


def _error(m: dict) -> str | None:
    """The error a tool message reports, or None."""
    obs = json.loads(m["content"])
    return obs["error"] if isinstance(obs, dict) and "error" in obs else None


def _name_column(row: dict, key: str | None) -> str | None:
    """The column a person names the row by (its title, name, email...), if it has one."""
    return next((c for c in row if c != key and names_a_row(c) and isinstance(row[c], str) and row[c].strip()), None)


def _arguments(function: dict) -> dict:
    """A call's arguments as a dict (they travel as JSON text)."""
    args = function.get("arguments") or {}
    try:
        args = json.loads(args) if isinstance(args, str) else args
    except ValueError:
        return {}
    return args if isinstance(args, dict) else {}


def _calls(messages: list[dict]) -> dict[str, dict]:
    """Each call's function (name and arguments) by its call id."""
    return {c["id"]: c["function"] for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or []}


def _asked(since: list[dict], question: str) -> int | None:
    """Where in ``since`` the teacher asked ``question`` (after whatever it said first), if it did."""
    return next((i for i, m in enumerate(since) if m["role"] == "assistant" and _text(m).endswith(question)), None)


def rule_text(policy: str | None, rule_id: str | None) -> str | None:
    """The sentence of rule ``rule_id`` in the policy's numbered text (``R2. ...``: the line that starts with it)."""
    found = rule_id and re.search(rf"^\W*{re.escape(rule_id)}\b\W*(.+)$", policy or "", re.MULTILINE)
    return found.group(1).strip() if found else None


class TeacherAgent:
    """The good agent of the task's outcome (see the module docstring); ``spec`` is the task's environment."""

    name = "teacher"

    def __init__(self, task: Task, spec: EnvSpec):
        self.task, self.spec = task, spec
        self.gold = task.calls  # irrelevant: none
        self.tools = {t.name: t for t in spec.tools}
        self.confirm = spec.policy.tools_of("confirmation") if spec.policy else set()

    async def chat(self, messages: list[dict], tools: list[dict] | None = None, *, seed: int = 0,
                   max_tokens: int = 512, temperature: float = 0.0) -> Completion:
        return Completion(self.next_message(messages))

    def next_message(self, messages: list[dict]) -> dict:
        made = sum(len(m.get("tool_calls") or []) for m in messages if m["role"] == "assistant")
        if made >= len(self.gold):
            return self._say(self._final_answer(messages))
        call = self.gold[made]
        last_call = max((i for i, m in enumerate(messages) if m["role"] == "tool"), default=0)
        since = messages[last_call + 1:]  # the conversation since the last call's result
        error = _error(messages[-1]) if messages[-1]["role"] == "tool" else None
        lead = f"That did not work: {error}. " if error else ""  # said right after a failed call
        missing = self._missing(call, messages)
        if missing and _asked(since, self._ask(missing)) is None:
            return self._say(lead + self._ask(missing))
        if call["name"] in self.confirm:
            question = self._confirmation(call, messages)
            asked = _asked(since, question)
            if asked is None:
                return self._say(lead + question)
            answer = next((_text(m) for m in since[asked + 1:] if m["role"] == "user"), "")
            if not says_yes(answer):
                return self._say(DECLINED)
        return {"role": "assistant", "content": f"{lead}I'll {self._describe(call, messages)}.", "tool_calls": [{
            "id": f"call_{made}", "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["arguments"], ensure_ascii=False)}}]}

    # --- what the teacher says ------------------------------------------------------------------------------
    @staticmethod
    def _say(text: str) -> dict:
        return {"role": "assistant", "content": text}

    def _describe(self, call: dict, messages: list[dict]) -> str:
        """The call in words: what it does ("list the tasks", never the tool's name), the rows it names, a key
        said as the name of its row where a tool showed that row (the list "Work", not ed013e69-…; the row it
        acts on right after its verb: "look up the list "Work""), then what a create or update sets ("setting
        title to "Buy milk"")."""
        tool = self.tools.get(call["name"])
        operation = tool.operation if tool else None
        what = action(tool, self.spec) if operation else spoken(call["name"])
        refers = self._references(tool) if operation else {}
        sets = {b.param: b.column for b in operation.bindings if b.role == "value" and b.param not in refers} if (
            operation and tool.kind in ("create", "update")) else {}
        names = self._row_names(messages)
        table = self.spec.table(tool.table) if operation and tool.table else None
        columns = {b.param: b.column for b in operation.bindings} if operation else {}
        shown, setting, named = [], [], None
        for param, v in (unpacked(operation.bindings, call["arguments"]) if operation else call["arguments"]).items():
            if v is None:
                continue
            entity, column = refers.get(param), sets.get(param)
            name = names.get((entity, key_text(v))) if entity else None
            if column is not None:
                setting.append(f"{_label(column)} to {_quoted(v)}" if tool.kind == "update"
                               else f"{_label(column)} {_quoted(v)}")
                continue
            its_key = table is not None and columns.get(param) == table.primary_key
            part = f"{_label(param)} {_quoted(v)}"
            if name:  # another row of the table itself by what it is to this one: the parent task "Buy milk"
                other = not its_key and table is not None and entity == table.entity
                part = f'{field_words(table, columns[param]) if other else spoken(entity)} "{name}"'
                named = part if its_key else named
            if part not in shown:
                shown.append(part)
        own = spoken(table.entity) if table is not None else None
        if named and what.endswith(f"the {own}"):  # "change the task "Buy milk"", not "change the task (task ...)"
            what = f"{what} {named[len(own) + 1:]}"
            shown.remove(named)
        text = f"{what} ({', '.join(shown)})" if shown else what
        if setting:
            text += (", setting " if tool.kind == "update" else " with ") + listed(setting)
        return text

    def _references(self, tool: CompiledTool) -> dict[str, str]:
        """Parameter -> the entity whose key it takes (its table's own, or a parent's)."""
        table = self.spec.table(tool.table)
        entities = {t.name: t.entity for t in self.spec.tables}
        parents = {fk.column: entities[fk.table] for fk in table.foreign_keys if fk.table in entities}
        return {b.param: table.entity if b.column == table.primary_key else parents[b.column]
                for b in tool.operation.bindings if b.column == table.primary_key or b.column in parents}

    def _row_names(self, messages: list[dict]) -> dict[tuple[str, str], str]:
        """(entity, key) -> the name of each row a successful call showed."""
        calls = _calls(messages)
        names = {}
        for m in messages:
            call = calls.get(m.get("tool_call_id")) if m["role"] == "tool" else None
            tool = self.tools.get(call["name"]) if call else None
            if tool is None or not tool.table or _error(m) is not None:
                continue
            table = self.spec.table(tool.table)
            for row in observed_rows(m["content"]):
                name = _name_column(row, table.primary_key)
                if name and row.get(table.primary_key) is not None:
                    names[(table.entity, key_text(row[table.primary_key]))] = row[name]
        return names

    def _missing(self, call: dict, messages: list[dict]) -> list[str]:
        """Labels of the scenario's values the call uses that the user has not said yet: withheld values and the
        out-of-date value a ``recover`` user gives first must come from the user; a known value a tool showed
        is not missing, unless it is what tells the user's row from the others a lookup answered (their list's
        title): the agent asks for it before it takes that row's key, never picks a row the user did not name."""
        scenario = self.task.user_scenario
        needed = [(key, label, value) for key in ("withheld", "first_attempt", "known")
                  for label, value in (scenario.get(key) or {}).items() if uses(call["arguments"], value)]
        missing = [label for key, label, value in needed if not _said_by(messages, "user", value)
                   and (key != "known" or not _said_by(messages, "tool", value))]
        rows = [row for m in messages if m["role"] == "tool" for row in observed_rows(m["content"])]
        missing += [label for label, value in (scenario.get("known") or {}).items()
                    if not any(uses(c["arguments"], value) for c in self.gold)
                    and not _said_by(messages, "user", value)
                    and any(uses(row, value) and any(uses(row, v) for v in leaves(call["arguments"]) if _telling(v))
                            for row in rows)]
        return list(dict.fromkeys(missing))

    @staticmethod
    def _ask(labels: list[str]) -> str:
        """A question for the first few missing values (a person answers three at a time; the rest come next)."""
        return f"Could you tell me the {listed(labels[:ASKED_AT_ONCE])}?"

    def _confirmation(self, call: dict, messages: list[dict]) -> str:
        return f"Before I change anything: I am about to {self._describe(call, messages)}. Shall I go ahead?"

    def _final_answer(self, messages: list[dict]) -> str:
        outcome = self.task.outcome
        if outcome == "irrelevant":
            return NO_TOOL
        if outcome == "refuse":
            rule = rule_text(self.task.policy, self.task.user_scenario.get("rule"))
            reason = f"our policy says: {rule}" if rule else "it goes against our policy"
            return f"I'm sorry, but I can't do that: {reason} I have not changed anything."
        return self._summary(messages)

    def _summary(self, messages: list[dict]) -> str:
        """What the successful calls did, in words: every write, then the last read if it came after them."""
        calls = _calls(messages)
        results = [(self.tools.get(calls[m["tool_call_id"]]["name"]), json.loads(m["content"]),
                    _arguments(calls[m["tool_call_id"]])) for m in messages
                   if m["role"] == "tool" and _error(m) is None and m.get("tool_call_id") in calls]
        results = [(tool, obs, args) for tool, obs, args in results if tool]
        if not results:
            return "I could not find anything for that request."
        writes = [self._write_value_text(tool, obs, args) for tool, obs, args in results if tool.kind != "read"]
        last = [self._read_value_text(*results[-1][:2])] if results[-1][0].kind == "read" else []
        return " ".join((["All done."] if writes else []) + writes + last)

    def _row_value_text(self, tool: CompiledTool, row: dict) -> tuple[str, str]:
        """(entity and key, its other fields in words) of a row the tool returned."""
        table = self.spec.table(tool.table) if tool.table else None
        key = table.primary_key if table and table.primary_key in row else next(iter(row), None)
        entity = spoken(table.entity) if table else "record"
        name = _name_column(row, key)  # a person names a row by its name, not its key
        fields = [f"{_label(k)} {_quoted(v)}" for k, v in row.items() if k not in (key, name) and v is not None]
        head = entity if key is None else f'{entity} "{row[name]}"' if name else f"{entity} {value_text(row[key])}"
        return head, ", ".join(fields[:_SHOWN_FIELDS])

    def _write_value_text(self, tool: CompiledTool, obs: dict, args: dict) -> str:
        label, rows = next(iter(obs.items()))
        parts = []
        for row in rows:
            head, fields = self._row_value_text(tool, row)
            if label == "updated":  # what the call set, not every column it could have
                given = unpacked(tool.operation.bindings, args)
                changed = {b.column for b in tool.operation.bindings if b.role == "value" and b.param in given} | {
                    a.column for a in tool.operation.assign}
                fields = [f"{_label(c)} {_quoted(row[c])}" for c in row if c in changed]
                parts.append(f"The {head} now has {listed(fields)}." if fields else f"The {head} is updated.")
            else:
                parts.append(f"The {head} is {label}" + (f" ({fields})." if fields and label == "created" else "."))
        return " ".join(parts) or f"Nothing matched, so nothing was {label}."

    def _read_value_text(self, tool: CompiledTool, obs: Any) -> str:
        if isinstance(obs, list):
            if not obs:
                return "I looked, and nothing matches that."
            heads = [self._row_value_text(tool, row)[0] for row in obs if isinstance(row, dict)]
            more = f", and {len(heads) - 5} more" if len(heads) > 5 else ""
            return f"I found {len(obs)}: " + "; ".join(heads[:5]) + more + "."
        if isinstance(obs, dict):
            head, fields = self._row_value_text(tool, obs)
            return f"Here is the {head}: {fields}." if fields else f"Here is the {head}."
        return f"The result is {value_text(obs)}."


class TemplateUser:
    """Answers from the task's scenario, with no model:

    - opens with the intent; a ``chatty`` persona adds every known value the intent does not say
      (everyone else says a known value when asked for it);
    - a question (a sentence of the agent's last turn that ends with ``?``) naming the label of a known or
      withheld value, without any value the scenario gives that label, gets ``The <label> is <value>.`` (text
      of several words in quotes): for a ``recover`` task's ``first_attempt`` label, the out-of-date value the
      first time, the right one after; for a label in ``changes`` (a user who changes their
      mind), first the other value, then the right one, in the same turn;
    - any other question asking to confirm (``envs.asks_confirmation``) gets an explicit yes; one naming
      an unknown gets ``Sorry, I don't know the <label>.``;
    - a turn without a question is the agent's answer: the user thanks it and stops (``STOP``).
    """

    name = "template"

    async def reply(self, task: Task, messages: list[dict], seed: int = 0) -> Completion:
        return Completion({"role": "user", "content": self.answer(task, messages)})

    @staticmethod
    def answer(task: Task, messages: list[dict]) -> str:
        scenario = task.user_scenario
        users = [m for m in messages if m["role"] == "user"]
        labels = [*(scenario.get("known") or {}), *(scenario.get("withheld") or {}),
                  *(scenario.get("first_attempt") or {})]
        if not users:
            first = {label: _value(scenario, label, users) for label in scenario.get("known") or {}}
            extra = [f"my {label} is {_quoted(v)}" for label, v in first.items() if not said(task.intent, v)]
            chatty = scenario.get("persona") == "chatty" and extra
            return f"{task.intent} In case it helps, {', '.join(extra)}." if chatty else task.intent
        last = next((_text(m) for m in reversed(messages) if m["role"] == "assistant"), "")
        questions = " ".join(s for s in _SENTENCE.split(last) if s.rstrip().endswith("?"))
        if not questions:
            return f"Thank you, that is everything. {STOP}"
        answers = [_say_value(scenario, label, users) for label in _named(questions, labels)
                   if not any(said(questions, v) for v in _values_of(scenario, label))]
        if any(answers):
            return " ".join(a for a in answers if a)
        if asks_confirmation(questions):
            return "Yes, please go ahead."
        unknown = _named(questions, scenario.get("unknown") or [])
        if unknown:
            return " ".join(f"Sorry, I don't know the {label}." for label in unknown)
        return f"Thank you, that is everything. {STOP}"


def _values_of(scenario: dict, label: str) -> list[Any]:
    """Every value the scenario gives ``label``: a question that states one of them is not asking for it."""
    sources = [scenario.get(key) or {} for key in ("known", "withheld", "first_attempt", "changes")]
    return [values[label] for values in sources if label in values]


def _value(scenario: dict, label: str, users: list[dict]) -> Any:
    """The value the user gives for ``label`` now: an out-of-date first attempt until they have said it, else
    the value they know."""
    stale = (scenario.get("first_attempt") or {}).get(label)
    if stale is not None and not _said_by(users, "user", stale):
        return stale
    return {**(scenario.get("known") or {}), **(scenario.get("withheld") or {})}.get(label)


def _say_value(scenario: dict, label: str, users: list[dict]) -> str | None:
    value = _value(scenario, label, users)
    if value is None:
        return None
    first = (scenario.get("changes") or {}).get(label)
    if first is not None and not _said_by(users, "user", first):
        return (f"The {label} {_is(label)} {_quoted(first)}. Sorry, I changed my mind: the {label} {_is(label)} "
                f"{_quoted(value)}.")
    return f"The {label} {_is(label)} {_quoted(value)}."


def _is(label: str) -> str:
    """The verb a label takes: "the notes are", "the status is"."""
    last = (label.split() or [""])[-1]
    return "are" if singular(last) != last else "is"


def _named(text: str, labels: list[str]) -> list[str]:
    """The labels a text names, as whole words; a label inside a longer one named there does not count
    ("order item" in "order item for the third request")."""
    named = []
    for label in sorted(set(labels), key=len, reverse=True):
        pattern = rf"(?<!\w){re.escape(label)}(?!\w)"
        if re.search(pattern, text, re.IGNORECASE):
            named.append(label)
            text = re.sub(pattern, "|", text, flags=re.IGNORECASE)
    return [label for label in dict.fromkeys(labels) if label in named]
