"""The user's intent: what a person would ask for, carrying every value the agent cannot look up.

The template names each value exactly (strings in double quotes) and never a tool name, so the
task checker can prove that the intent holds what the gold calls need. An LLM, when one is
configured, rewrites the same facts as a person would say them; a rewrite that drops a value or
names a tool fails the same check and the template stands instead.
"""

from __future__ import annotations

import json
from typing import Any

from agentscaler.envs import FLAG_VERBS, STATUS_VERBS, VERBS, Binding, EnvSpec, tokens
from agentscaler.tasks.plan import PAGING_ROLES, Plan, Step

_DEFAULT_VERB = {"create": "create", "update": "update", "delete": "remove", "read": "look up"}
_COMPARE = {"eq": "is", "like": "contains", "ge": "is at least", "le": "is at most"}


def show(v: Any) -> str:
    """A value as the intent writes it: strings in double quotes, everything else as JSON."""
    return json.dumps(v, ensure_ascii=False)


def words(identifier: str) -> str:
    return " ".join(tokens(identifier)) or identifier


_HTTP_VERBS = {"get", "post", "put", "patch"}  # names built from method + path say nothing a user would


def _verb(step: Step) -> str:
    """The tool's own verb where it has one (``cancel`` the order, whether cancelling deletes it or changes
    its status), else a plain verb for its kind."""
    def fits(word: str) -> bool:
        if step.tool.kind == "read":
            return VERBS.get(word) == "read"
        return VERBS.get(word, "read") != "read" or word in STATUS_VERBS or word in FLAG_VERBS

    found = next((w for w in tokens(step.tool.name) if w not in _HTTP_VERBS and fits(w)), None)
    return found or _DEFAULT_VERB[step.tool.kind]


def _bindings(step: Step) -> dict[str, Binding]:
    """The step's parameters, less constants (a one-value enum, such as AWS's ``Action``): the agent reads
    those off the tool's schema, so the user never says them."""
    return {b.param: b for b in step.tool.operation.bindings if not (b.enum and len(b.enum) == 1)}


def _paging(step: Step) -> list[str]:
    said = {"limit": "show at most {}", "offset": "skip the first {}", "page": "give me page {}"}
    return [said[b.role].format(show(step.arguments[p])) for p, b in _bindings(step).items()
            if p in step.arguments and b.role in PAGING_ROLES]


def _conditions(step: Step) -> list[str]:
    bindings = _bindings(step)
    return [f"{words(p)} {_COMPARE[b.role]} {show(v)}" for p, v in step.arguments.items()
            for b in (bindings.get(p),) if b and p not in step.looked_up and b.role in _COMPARE]


def _values(step: Step, joiner: str) -> list[str]:
    bindings = _bindings(step)
    return [f"{words(p)}{joiner}{show(v)}" for p, v in step.arguments.items()
            if p in bindings and p not in step.looked_up and bindings[p].role == "value"]


def _found_by(plan: Plan, spec: EnvSpec, step: Step) -> list[str]:
    """How the user names what a lookup finds: by the values the lookup is called with, and by what tells
    the row apart from the others it returns."""
    phrases = []
    for param, index in step.looked_up.items():
        lookup = plan.steps[index]
        if lookup.purpose != "lookup":
            continue
        said = [f"whose {words(p)} is {show(v)}" for p, v in lookup.arguments.items()
                if p in _bindings(lookup) and _bindings(lookup)[p].role not in PAGING_ROLES]
        said += [f"whose {words(c)} is {show(v)}" for c, v in lookup.singles_out.items()]
        owner = spec.table(lookup.tool.table)
        if owner.name == plan.table.name and step.tool.operation and any(
                b.param == param and b.column == plan.table.primary_key for b in step.tool.operation.bindings):
            phrases.append(" and ".join(said))
        else:
            phrases.append(f"for the {words(owner.entity)} " + " and ".join(said))
    return phrases


def template_intent(plan: Plan, spec: EnvSpec) -> str:
    """The intent in plain words from the plan's target (and follow-up) steps."""
    sentences = []
    for step in plan.steps:
        if step.purpose == "lookup":
            continue
        entity = words(spec.table(step.tool.table).entity)
        if step.purpose == "follow-up":
            change = _values(step, " to ")
            sentence = f"Then {_verb(step)} that new {entity}" + (f": set {', '.join(change)}" if change else "")
        else:
            which = " and ".join(_found_by(plan, spec, step) + [f"whose {c}" for c in _conditions(step)])
            article = "a new" if step.tool.kind == "create" else "the"
            noun = f"{entity} records" if step.tool.kind == "read" else entity
            sentence = f"Please {_verb(step)} {article} {noun}" + (f" {which}" if which else "")
            if step.tool.kind == "create" and (values := _values(step, " ")):
                sentence += f"{',' if which else ''} with {', '.join(values)}"
            elif step.tool.kind == "update" and (values := _values(step, " to ")):
                sentence += f": set {', '.join(values)}"
            elif step.tool.kind == "read":
                sentence += ", and tell me what you find"
        sentences.append(sentence + "".join(f"; {p}" for p in _paging(step)) + ".")
    return " ".join(sentences)


def _scalars(value: Any) -> set[str]:
    """Every scalar inside a JSON value, as canonical JSON text."""
    if isinstance(value, dict):
        return set().union(*map(_scalars, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(_scalars, value)) if value else set()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 9.0 sent, 9 stored: the same number
    return {json.dumps(value)}


def constants(tools: list[dict]) -> set[tuple[str, str]]:
    """(tool, parameter) pairs whose schema allows one value only: the schema tells the agent, not the user."""
    return {(t["function"]["name"], p) for t in tools
            for p, schema in (t["function"].get("parameters") or {}).get("properties", {}).items()
            if isinstance(schema, dict) and isinstance(schema.get("enum"), list) and len(schema["enum"]) == 1}


def needed_values(calls: list[dict], observations: list[str], tools: list[dict] = ()) -> list[tuple[int, str, Any]]:
    """(call index, parameter, value) of every argument that no earlier observation returned and no
    schema fixes: the intent must state those."""
    needed, seen, fixed = [], set(), constants(list(tools))
    for i, call in enumerate(calls):
        for param, v in call["arguments"].items():
            if (call["name"], param) not in fixed and not _scalars(v) <= seen:
                needed.append((i, param, v))
        try:
            seen |= _scalars(json.loads(observations[i]))
        except (IndexError, json.JSONDecodeError):
            pass
    return needed


def missing_values(intent: str, calls: list[dict], observations: list[str],
                   tools: list[dict] = ()) -> list[tuple[int, str, Any]]:
    """Needed values the intent does not state (by their text or as JSON)."""
    return [(i, p, v) for i, p, v in needed_values(calls, observations, tools)
            if show(v) not in intent and not (isinstance(v, str) and v in intent)]


LLM_PROMPT = """Rewrite this request as the customer would write it to a support agent, in one short \
paragraph, first person. Keep every quoted value exactly as written (same spelling and case, you may \
drop the quotes) and every number exactly. Do not mention any function, API or tool names. Reply with \
the request only.

Request: {intent}"""


async def llm_intent(backend, template: str, tools: list[dict], calls: list[dict], observations: list[str],
                     seed: int) -> str | None:
    """The template rewritten by an LLM, or None when the rewrite drops a value or names a tool."""
    reply = await backend.chat([{"role": "user", "content": LLM_PROMPT.format(intent=template)}], None,
                               seed=seed, max_tokens=256)
    text = (reply.message.get("content") or "").strip()
    names = [t["function"]["name"] for t in tools]
    if not text or any(name in text for name in names) or missing_values(text, calls, observations, tools):
        return None
    return text
