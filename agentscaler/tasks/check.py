"""The task checker: a task is kept only if its gold run is reproducible and fits its outcome, and the user
(intent and scenario) can say every value the gold calls need.

Peer benchmarks shipped gold tasks that did not replay, and write tasks that a do-nothing agent
passed; both are caught here, on a simulator of their own, before any rollout is spent on them. Per
outcome (``contracts.OUTCOMES``), the gold run must be:

- ``complete`` / ``clarify``: every call succeeds and ends in the gold state (changed, when it writes);
  a clarify task withholds at least one value a call uses, and its intent does not say it;
- ``refuse``: every call (the lookups) succeeds, nothing changes, and the scenario names a rule of the
  domain's policy;
- ``irrelevant``: no call at all;
- ``recover``: exactly one call fails, one using a value of the scenario's ``first_attempt``, and the
  same tool is called again later (the recovery); the run still ends in the gold state.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentscaler.contracts import Task
from agentscaler.envs import DomainSimulator, is_json_patch
from agentscaler.failures import Failure
from agentscaler.tasks.plan import scalars
from agentscaler.toolspec import SchemaCheck, value_text

_TEXT_FIELDS = ("reason", "behaviour")
AGENT_PHRASES = re.compile(
    r"how (can|may) i (help|assist)|i can help you|i('d| would) be (happy|glad) to (help|assist)|"
    r"is there anything else|as an ai|assist you|i'm here to help|let me (check|look)|thank you for contacting",
    re.IGNORECASE)
"""What a support agent says and a customer does not: a rewrite or a user turn that says it has swapped roles."""
ROLE_LABEL = re.compile(r"^\s*\**(user|agent|assistant|customer|support)\**\s*:", re.IGNORECASE | re.MULTILINE)
PLACEHOLDER = re.compile(r"\[[A-Z][A-Za-z ]*\]")  # "[Name]", "[Your Order Number]": a form, not a person


def out_of_role(text: str) -> str | None:
    """Why ``text`` is not a customer speaking (None when it is): a small model asked to write the user's
    words often answers as the agent, labels the speaker, or leaves a form's blanks."""
    for why, pattern in (("speaks as the agent", AGENT_PHRASES), ("labels the speaker", ROLE_LABEL),
                         ("leaves a placeholder", PLACEHOLDER)):
        found = pattern.search(text or "")
        if found:
            return f"{why}: {found.group(0).strip()!r}"
    return None
_VALUE_FIELDS = ("known", "withheld", "first_attempt")


def show(v: Any) -> str:
    """A value as JSON text (strings in double quotes)."""
    return json.dumps(v, ensure_ascii=False)


def _declared(tools: list[dict]) -> list[tuple[str, str, Any]]:
    """(tool, parameter, schema) of every parameter the tools declare."""
    return [(t["function"]["name"], p, schema) for t in tools
            for p, schema in (t["function"].get("parameters") or {}).get("properties", {}).items()]


def constants(tools: list[dict]) -> set[tuple[str, str]]:
    """(tool, parameter) pairs whose schema allows one value only: the schema tells the agent, not the user."""
    return {(t, p) for t, p, schema in _declared(tools)
            if isinstance(schema, dict) and isinstance(schema.get("enum"), list) and len(schema["enum"]) == 1}


def _arguments(call: dict, patches: set[tuple[str, str]]) -> list[tuple[str, Any]]:
    """(parameter, value) of a call, a JSON Patch list's operations as (path, value): their ops and paths are
    the agent's to write, their values the user's to say."""
    out = []
    for param, v in call["arguments"].items():
        if (call["name"], param) in patches and isinstance(v, list):
            out += [(str(o.get("path")), o["value"]) for o in v if isinstance(o, dict) and "value" in o]
        else:
            out.append((param, v))
    return out


def needed_values(calls: list[dict], observations: list[str], tools: list[dict] = ()) -> list[tuple[int, str, Any]]:
    """(call index, parameter, value) of every argument that no earlier observation returned and no
    schema fixes: the user must be able to say those."""
    needed, seen, fixed = [], set(), constants(list(tools))
    patches = {(t, p) for t, p, schema in _declared(list(tools)) if is_json_patch(schema)}
    for i, call in enumerate(calls):
        for param, v in _arguments(call, patches):
            if (call["name"], param) not in fixed and not scalars(v) <= seen:
                needed.append((i, param, v))
        try:
            seen |= scalars(json.loads(observations[i]))
        except (IndexError, json.JSONDecodeError):
            pass
    return needed


def missing_values(intent: str, calls: list[dict], observations: list[str], tools: list[dict] = (),
                   scenario: dict | None = None) -> list[tuple[int, str, Any]]:
    """Needed values that neither the intent (by their text or as JSON) nor the scenario's values state."""
    stated = set().union(*(scalars(v) for field in _VALUE_FIELDS for v in ((scenario or {}).get(field) or {}).values()))
    return [(i, p, v) for i, p, v in needed_values(calls, observations, tools)
            if not scalars(v) <= stated and show(v) not in intent and not (isinstance(v, str) and v in intent)]


def said(text: str | None, value: Any) -> bool:
    """Whether ``value`` appears in ``text`` as a whole word or number (3 is not said by 33 or 3.5), case aside
    (the task checker, the teacher, the template user and the outcome filter all ask it this way)."""
    shown = re.escape(value_text(value).strip())
    found = isinstance(text, str) and re.search(rf"(?<!\w)(?<!\d\.){shown}(?!\w)(?!\.\d)", text, re.IGNORECASE)
    return bool(found)


def check_text(task: Task) -> list[Failure]:
    """What the intent and scenario get wrong (empty when nothing): ``intent_not_the_users``,
    ``intent_lacks_values``, ``intent_states_withheld``, ``intent_names_tools``; in that order."""
    scenario = task.user_scenario
    problems = []
    role = out_of_role(task.intent)
    if role:
        problems.append(Failure("intent_not_the_users", role))
    missing = missing_values(task.intent, task.calls, task.observations, task.tool_schemas, scenario)
    if missing:
        problems.append(Failure("intent_lacks_values",
                                ", ".join(f"{p}={show(v)} (call {i})" for i, p, v in missing[:5])))
    spoken = [label for label, v in (scenario.get("withheld") or {}).items() if said(task.intent, v)]
    if spoken:
        problems.append(Failure("intent_states_withheld", f"the intent says the {spoken[0]}"))
    text = " ".join([task.intent, *(str(scenario.get(f) or "") for f in _TEXT_FIELDS), *scenario.get("unknown", []),
                     *(label for f in _VALUE_FIELDS + ("changes",) for label in scenario.get(f) or {})])
    named = [name for t in task.tool_schemas for name in (t["function"]["name"],)
             if _identifier_like(name) and name in text]
    if named:
        problems.append(Failure("intent_names_tools", f"{named[:5]}"))
    return problems


def check_task(sim: DomainSimulator, task: Task) -> list[Failure]:
    """Why the task is broken (empty when it is sound); ``sim`` must be the task's domain.

    Codes (``failures.CODES``): ``initial_state_mismatch``, ``call_failed`` (one per failing gold call but a
    recover task's first attempt), ``state_mismatch``, ``schema_invalid`` (a gold call its tool's own JSON Schema
    refuses: the simulator checks what it binds, the validity filter the whole schema), ``no_change``,
    ``outcome_unsound``, then those of ``check_text``; in that order."""
    replay = sim.replay(int(task.state_index), task.calls, initial_hash=task.initial_hash, final_hash=task.gold_hash)
    failed = [i for i, error in enumerate(replay.errors) if error]
    problems = list(replay.failures) + _schema_errors(task)
    outcome, scenario = task.outcome, task.user_scenario
    if outcome == "recover" and _recovers(task, failed):
        problems = [p for p in problems if p.code != "call_failed"]
    changed = task.gold_hash != task.initial_hash
    if task.writes and not changed and outcome in ("complete", "clarify", "recover"):
        problems.append(Failure("no_change", "the writes change nothing (final state = initial state)"))
    rules = {r.id for r in sim.spec.policy.rules} if sim.spec.policy else set()
    unsound = _unsound(task, scenario, failed, changed, rules)
    if unsound:
        problems.append(Failure("outcome_unsound", unsound))
    return problems + check_text(task)


def _schema_errors(task: Task) -> list[Failure]:
    """Gold calls whose arguments their tool's JSON Schema refuses (an AWS ``Tags`` list of words where it wants
    ``{Key, Value}`` objects, or a schema that cannot be used): the validity filter would reject every rollout."""
    called = {call["name"] for call in task.calls}
    checks = {t["function"]["name"]: SchemaCheck(t["function"].get("parameters") or {}) for t in task.tool_schemas
              if t["function"]["name"] in called}  # compiled for the tools the plan calls, not the domain's all
    problems = []
    for i, call in enumerate(task.calls):
        error = checks[call["name"]].error(call.get("arguments") or {}) if call["name"] in checks else None
        if error is not None:
            problems.append(Failure("schema_invalid", f"call {i} ({call['name']}): {error}"))
    return problems


def _recovers(task: Task, failed: list[int]) -> bool:
    """A recover task's gold run: one failing call, using a first-attempt value, and the same tool later."""
    if len(failed) != 1:
        return False
    attempt = task.calls[failed[0]]
    stale = set().union(*map(scalars, (task.user_scenario.get("first_attempt") or {}).values()))
    return bool(scalars(attempt["arguments"]) & stale) and any(
        c["name"] == attempt["name"] for c in task.calls[failed[0] + 1:])


def _unsound(task: Task, scenario: dict, failed: list[int], changed: bool, rules: set[str]) -> str | None:
    """Why the gold run does not fit the task's outcome (None when it does); ``rules``: the policy's rule ids."""
    outcome = task.outcome
    if outcome == "refuse" and (changed or task.writes or scenario.get("rule") not in rules):
        return "a refusal must change nothing and name the rule of the domain's policy the request breaks"
    if outcome == "irrelevant" and (task.calls or changed):
        return "no tool serves an irrelevant request: it has no gold call"
    if outcome == "recover" and not _recovers(task, failed):
        return f"a recovery needs exactly one failing first attempt, retried later (failing calls: {failed})"
    if outcome == "clarify":
        withheld = list((scenario.get("withheld") or {}).values())
        if not withheld or not all(any(scalars(v) <= scalars(c["arguments"]) for c in task.calls) for v in withheld):
            return "a clarify task withholds a value some gold call uses"
    return None


def _identifier_like(name: str) -> bool:
    """A name no sentence contains by chance (``get_user``, ``getUser``); ``weather`` may be a plain word."""
    return "_" in name or any(c.isdigit() for c in name) or any(c.isupper() for c in name[1:])
