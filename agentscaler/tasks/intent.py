"""The user: what they ask for in their own words (the intent) and what they know (the scenario).

The intent states a goal and its constraints as a person would, never a tool name and seldom a value:
the values the agent needs from the user go into the scenario's ``known`` (label -> value), which the
simulated user says when asked (or up front, as its persona decides). A phrasing family (the sentence
the request is put in) and a persona (terse, chatty, unsure, changes their mind once) are drawn from the
task's seeded rng. The scenario has tau2-bench's shape: ``reason``, ``known``, ``unknown``, ``withheld``,
``behaviour``, ``persona``, plus ``phrasing``, ``rule`` (refuse), ``first_attempt`` (recover: label ->
the wrong value the user gives first) and ``changes`` (label -> the value the user asks for before
changing their mind). An LLM, when one is configured, rewrites the intent; the task checker's text
checks decide whether the rewrite stands.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, replace
from typing import Any

from agentscaler.contracts import Task
from agentscaler.envs import (CALCULATORS, COMPUTE_FIELDS, FILTER_ROLES, FLAG_VERBS, STATUS_VERBS, VERBS, Binding,
                              CompiledTool, EnvSpec, Table, everyday, meaning, plural, singular, spoken, tokens)
from agentscaler.tasks.check import check_text
from agentscaler.tasks.plan import PAGING_ROLES, Goal, Plan, Step
from agentscaler.toolspec import value_text

_DEFAULT_VERB = {"create": "create", "update": "change", "delete": "remove", "read": "look up"}
_READ_VERBS = {"get": "look up", "fetch": "look up", "retrieve": "look up", "read": "look up", "query": "look up",
               "lookup": "look up", "search": "search for", "show": "show me", "view": "see", "list": "list",
               "random": "look up", "randomize": "look up", "test": "check"}  # "random my crypto", "test my user"
_HTTP_VERBS = {"get", "post", "put", "patch"}  # names built from method + path say nothing a user would
_BOUND = {"ge": "minimum", "le": "maximum"}
_PAGING = {"limit": "number of results", "offset": "number of results to skip", "page": "page number"}
_ORDINAL = ["first", "second", "third", "fourth", "fifth"]

PERSONAS = {
    "terse": ("You write short, plain messages with no greetings or small talk. You give a detail when the agent "
              "asks for it.", [""], [""]),
    "chatty": ("You are friendly and talkative, and you offer the details you know right away.",
               ["Hi there! I hope your day is going well.", "Hello! Thanks for taking the time to help me.",
                "Good morning!"],
               ["Thanks so much, I really appreciate it!", "Thank you, you're a star.", "Many thanks in advance!"]),
    "unsure": ("You are not sure how any of this works, so you hedge and apologise a little, but you answer the "
               "agent's questions with the details you know.",
               ["Hi, sorry, I'm not entirely sure how this works, but", "Hello, I hope I'm in the right place:",
                "Um, hi, I'm new to this, so please bear with me."],
               ["Does that make sense?", "I hope that's possible.", ""]),
    "changes_mind": ("You change your mind once: you first ask for one thing (see 'changes') and then, before the "
                     "agent makes the change, you correct yourself and ask for what you really want.",
                     ["Hello.", "Hi."], [""]),
}
"""persona -> (how the user behaves, openers, closers)."""

FAMILIES = {
    "want": lambda goals: f"I'd like to {goals}.",
    "ask": lambda goals: f"Could you {goals}?",
    "need": lambda goals: f"I need to {goals}.",
    "story": lambda goals: f"Here's my situation: I have to {goals}, and I'm hoping you can help with that.",
    "direct": lambda goals: f"{goals[:1].upper()}{goals[1:]}, please.",
}
"""phrasing family -> the sentence a request is put in."""


words = spoken  # an identifier in a person's words


# --- what the user says ---------------------------------------------------------------------------

@dataclass
class Said:
    """A value the user gives: an argument no earlier call returned, or what tells a row apart."""

    label: str
    value: Any
    step: int  # the index of the step that takes it (the refused action's: ``len(plan.steps)``)
    param: str | None  # None: a value no call takes (it tells the user's row from the others a lookup returns)
    role: str


def _bindings(step: Step) -> dict[str, Binding]:
    """The step's parameters, less constants (a one-value enum, such as AWS's ``Action``): the agent reads
    those off the tool's schema, so the user never says them."""
    return {b.param: b for b in step.tool.operation.bindings if not (b.enum and len(b.enum) == 1)}


def _base(spec: EnvSpec, step: Step, column: str) -> str:
    """A value's name as a person says it: the entity's word and the column's (``order quantity``); a
    reference by its own words (``user id``, not ``order user id``)."""
    table = spec.table(step.tool.table)
    entity, said = words(table.entity), field_words(table, column)
    if said.startswith(entity) or entity in said.split() or any(fk.column == column for fk in table.foreign_keys):
        return said
    return f"{entity} {said}"


_NOT_NOUNS = {"this", "if", "whether", "optional", "use", "keep", "limits", "returns", "adds", "specifies"}
"""First words of a description that is no name of the value ("Optional parameter", "Use location ...")."""
_DESCRIBED = re.compile(r"(?:the |an? )?([a-z][a-z '-]*[a-z])\.?", re.I)


def _described(tool: CompiledTool, param: str) -> str | None:
    """A computation's input as its spec describes it, where that is a short noun phrase ("The base of the
    triangle." -> base of the triangle; not "This parameter represents ..." or one with a format or default)."""
    prop = tool.openai_schema.get("function", {}).get("parameters", {}).get("properties", {}).get(param) or {}
    first = re.split(r"(?<=\.)\s", str(prop.get("description") or "").strip())[0]
    found = _DESCRIBED.fullmatch(first)
    phrase = found.group(1).lower() if found else ""
    if not phrase or len(phrase.split()) > 7 or phrase.split()[0] in VERBS or phrase.split()[0] in _NOT_NOUNS:
        return None
    return phrase


def _label(spec: EnvSpec, step: Step, b: Binding) -> str:
    if b.role in PAGING_ROLES:
        return _PAGING[b.role]
    if step.tool.compute is not None:  # its inputs belong to no record: "the first number", not "gcd num1"
        return _described(step.tool, b.param) or words(b.param)
    base = _base(spec, step, b.column or b.param)
    if b.role == "value" and step.tool.kind == "update":
        return f"new {base}"
    if b.role == "in":  # the statuses, one or more
        return " ".join([*base.split()[:-1], plural(base.split()[-1])])
    return f"{_BOUND[b.role]} {base}" if b.role in _BOUND else base


def said_values(plan: Plan, spec: EnvSpec) -> list[Said]:
    """Everything the user must be able to say, one label per value, in the order the calls need them: the
    arguments no earlier call returned (the refused request's too) and what tells a looked-up row apart."""
    steps = plan.steps + ([plan.refused] if plan.refused else [])
    out: list[Said] = []
    labels: dict[str, str] = {}  # label -> the value it names, as JSON

    def add(label: str, value: Any, index: int, param: str | None, role: str, goal: int) -> None:
        key = json.dumps(value, sort_keys=True)
        if key in labels.values():
            return
        ordinal = [f"{label} for the {_ORDINAL[min(goal, 4)]} request"] if goal else []
        label = next(c for c in [label, *ordinal, f"other {label}", *(f"{label} {n}" for n in range(2, 999))]
                     if c not in labels)
        labels[label] = key
        out.append(Said(label, value, index, param, role))

    for index, step in enumerate(steps):
        if step.purpose == "attempt":
            continue
        bindings = _bindings(step)
        for param, v in step.arguments.items():
            if param in bindings and param not in step.found:
                add(_label(spec, step, bindings[param]), v, index, param, bindings[param].role, step.goal)
        for column, v in step.singles_out.items():
            add(_base(spec, step, column), v, index, None, "singles_out", step.goal)
    return out


def key_label(spec: EnvSpec, step: Step, param: str) -> str:
    """The name of a key a call takes (``order id``)."""
    return _base(spec, step, next(b.column or param for b in step.tool.operation.bindings if b.param == param))


def unknown_labels(plan: Plan, spec: EnvSpec) -> list[str]:
    """What the user does not know: the keys the agent finds (by the name of the column that holds them)."""
    labels = [key_label(spec, step, param) for step in plan.steps + ([plan.refused] if plan.refused else [])
              for param in step.found]
    return list(dict.fromkeys(labels))


# --- the request in words -----------------------------------------------------------------------

def action_verb(tool: CompiledTool) -> str:
    """The tool's own verb where it has one (``cancel`` the order, whether cancelling deletes it or changes
    its status), else a plain verb for its kind."""
    def fits(word: str) -> bool:
        if tool.kind == "read":
            return VERBS.get(word) == "read"
        return VERBS.get(word, "read") != "read" or word in STATUS_VERBS or word in FLAG_VERBS

    found = next((w for w in tokens(tool.name) if w not in _HTTP_VERBS and fits(w)), None)
    if tool.kind == "read":
        return _READ_VERBS.get(found, found or _DEFAULT_VERB["read"])
    return found or _DEFAULT_VERB[tool.kind]


_WHEN = ("date", "time", "day", " at", " on", "stamp", "year", "month")


def field_words(table: Table, column: str) -> str:
    """A column as a person names what it holds: a moment named by a participle is its date ("the updated date",
    not "the updated"), a boolean its flag ("the deleted flag"), a reference to another row of the table that row
    ("the parent task", not "the parent id")."""
    said = words(column)
    if column.endswith("_id") and any(fk.column == column and fk.table == table.name for fk in table.foreign_keys):
        said = words(column[:-3])
        return said if words(table.entity) in said else f"{said} {words(table.entity)}"
    found = next((c for c in table.columns if c.name == column), None)
    if found is None or said.endswith(_WHEN) or said.split()[0] in ("is", "has", "can"):
        return said
    if found.json_type == "boolean":
        return said if "flag" in said.split() else f"{said} flag"
    return f"{said} date" if meaning(found, table.entity).kind == "moment" else said


_LATITUDES, _LONGITUDES = {"lat", "latitude"}, {"lon", "lng", "long", "longitude"}


def _located(said: list[str]) -> list[str]:
    """Filters as a person says them: a latitude and a longitude are one location ("by language and location",
    not "by language, lat and lon")."""
    if _LATITUDES.isdisjoint(said) or _LONGITUDES.isdisjoint(said):
        return said
    at = min(i for i, w in enumerate(said) if w in _LATITUDES | _LONGITUDES)
    rest = [w for w in said if w not in _LATITUDES | _LONGITUDES]
    return [*rest[:at], "location", *rest[at:]]


def goal_phrase(plan: Plan, spec: EnvSpec, goal: Goal, previous: Goal | None) -> str:
    """One sub-goal as a verb phrase, in the first person, naming what it acts on by how it relates to the
    sub-goal before it and never by a value ("cancel one of its orders", "change the quantity of my order")."""
    step = plan.action(goal)
    tool, table = step.tool, goal.table
    entity = row_noun(tool, table)
    many = entity if table.singleton else words(table.name)
    before = words(previous.table.entity) if previous else ""
    found_mine = bool(step.found) or any(s.goal == step.goal and s.purpose == "lookup" for s in plan.steps)
    shared = [words(b.column) for b in step.tool.operation.bindings if b.param in step.found and b.role == "eq"]
    refs = {
        "same": f"that same {entity}" if entity == before else f"that {entity}",
        "child": f"one of its {many}", "new child": f"a new {entity} for it",
        "parent": f"the {entity} it belongs to",
        "shared": f"the {entity} with the same {shared[0]}" if shared else f"a matching {entity}",
    }
    if tool.compute is not None:
        phrase = _computation(tool, entity)
        return f"{phrase} with that result" if goal.relation == "result" else phrase
    verb = action_verb(tool)
    if tool.kind == "create":
        ref = refs["new child"] if goal.relation == "new child" else f"a new {entity}"
        return f"{verb} {ref}"
    ref = refs.get(goal.relation) or (f"my {entity}" if found_mine or tool.kind != "read" else
                                      f"the {entity}" if tool.operation.single_row else many)
    if tool.kind == "read":
        said = [field_words(table, b.column) if b.column else words(b.param) for b in _bindings(step).values()
                if b.param in step.arguments and b.param not in step.found and b.role in FILTER_ROLES]
        if said and goal.relation == "first" and not found_mine:
            return f"{verb} {ref} by {listed(_located(list(dict.fromkeys(said)))[:3])}"
        return f"{verb} {ref}"
    changed = [field_words(table, b.column) for b in tool.operation.bindings
               if b.role == "value" and b.param in step.arguments]
    if tool.kind == "update" and changed and verb not in STATUS_VERBS and verb not in FLAG_VERBS:
        changed = list(dict.fromkeys(changed))  # every field the user changes is asked for, the fifth on as a count
        if len(changed) == 1 and {singular(w) for w in changed[0].split()} <= {singular(w) for w in entity.split()}:
            return f"{verb} {ref}"  # set_volume(level): "set my volume", not "set the volume of my volume"
        said = changed if len(changed) <= 4 else [*changed[:3], f"{len(changed) - 3} other details"]
        return f"{verb} the {listed(said)} of {ref}"
    return f"{verb} {ref}"


_COMPUTING = {"calculate": "calculate", "calc": "calculate", "compute": "calculate", "convert": "convert",
              "estimate": "estimate", "solve": "solve", "measure": "measure", "evaluate": "evaluate"}
_SUBJECTS = {"finance", "corporate", "thermo"}  # a computation's field, as names open with it (finance_loan_...)


def action(tool: CompiledTool, spec: EnvSpec) -> str:
    """What a call of ``tool`` does, as an agent says it ("list the tasks", "move the task", "work out the gcd")."""
    table = spec.table(tool.table) if tool.table else None
    entity = row_noun(tool, table) if table else "record"
    if tool.compute is not None:
        return _computation(tool, entity)
    verb = action_verb(tool)
    if tool.kind == "create":
        return f"{verb} a new {entity}"
    many = tool.kind == "read" and not tool.operation.single_row and table is not None and not table.singleton
    return f"{verb} the {words(table.name) if many else entity}"


def row_noun(tool: CompiledTool, table: Table) -> str:
    """How a person names the row a tool acts on: its table's entity; for the one row of settings, what the tool's
    name is about (``pause_heartbeats``: "heartbeats", ``rename_server``: "server"), not "my setting"."""
    noun = list(dict.fromkeys((_noun(tool.name) or "").split())) if table.singleton else []
    return " ".join([*map(singular, noun[:-1]), noun[-1]]) if noun else words(table.entity)  # my user presence


def _computation(tool: CompiledTool, entity: str) -> str:
    """What a computing tool works out, as a person asks for it: "work out the gcd" (not "look up the math gcd"),
    "check the email format" (a validator), "convert the currency"; the field, the calculator and the provider
    are no part of what is asked."""
    def plain(words: list[str]) -> list[str]:
        return [w for w in words if w.isalpha() and len(w) > 1 and w not in _COMPUTING and w not in CALCULATORS
                and w not in VERBS and w not in _SUBJECTS and singular(w) not in COMPUTE_FIELDS]

    named = tokens(tool.name)
    said = spoken(tool.name).split()
    what = " ".join(plain((_noun(tool.name) or "").split()) or plain(said[said.index("for") + 1:] if "for" in said
                                                                     else []) or [entity])
    if any(w.startswith(("valid", "verif")) for w in named):
        return f"check the {what}"
    verb = next((_COMPUTING[w] for w in named if w in _COMPUTING), None) or (
        "convert" if any(w.startswith("conver") for w in named) else "work out")
    return f"{verb} the {what}"


def listed(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: the agent's questions and summaries say lists this way too."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def join_goals(phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    middle = [f"then {p}" for p in phrases[1:-1]]
    return ", ".join([phrases[0], *middle]) + f", and {'finally ' if len(phrases) > 2 else 'then '}{phrases[-1]}"


def request(phrases: list[str], persona: str, family: str, rng: random.Random) -> str:
    """The opening message: the goals in the family's sentence, with the persona's opener and closer."""
    _, openers, closers = PERSONAS[persona]
    sentence = FAMILIES[family](join_goals(phrases))
    opener, closer = rng.choice(openers), rng.choice(closers)
    if opener.endswith((",", ":", "but")):
        sentence = sentence[:1].lower() + sentence[1:] if not sentence.startswith("I") else sentence
    return " ".join(part for part in (opener, sentence, closer) if part)


def template_intent(plan: Plan, spec: EnvSpec, persona: str, family: str, rng: random.Random) -> tuple[str, str]:
    """(the intent, the scenario's reason) for the plan's sub-goals."""
    phrases = [goal_phrase(plan, spec, g, plan.goals[i - 1] if i else None) for i, g in enumerate(plan.goals)]
    return request(phrases, persona, family, rng), reason(phrases)


def reason(phrases: list[str]) -> str:
    """Why the user gets in touch, in the second person (the scenario's ``reason``)."""
    return re.sub(r"\bme\b", "you", re.sub(r"\bmy\b", "your", f"You want to {join_goals(phrases)}."))


# --- the scenario -------------------------------------------------------------------------------

def scenario(reason_text: str, persona: str, family: str, said: list[Said], unknown: list[str], *,
             withheld: set[str] = frozenset(), rule: str | None = None, first_attempt: dict[str, Any] | None = None,
             changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The user's scenario (see the module docstring); ``withheld``: the labels of ``said`` the user gives
    only when asked."""
    behaviour = [PERSONAS[persona][0]]
    if withheld:
        behaviour.append(f"You do not mention the {listed(sorted(withheld))} until the agent asks for it.")
    for label, value in (first_attempt or {}).items():
        behaviour.append(f"At first you give the {label} you remember, {value_text(value)}, which is out of date; "
                         f"when the agent says it does not work, you give " +
                         ("the right one." if label in {s.label for s in said} else "what else you know."))
    for label, value in (changes or {}).items():
        behaviour.append(f"You first ask for {value_text(value)} as the {label}, then change your mind.")
    if rule:
        behaviour.append("If the agent explains why it cannot do what you ask, you accept that.")
    stated = {s.label for s in said} | set(first_attempt or {})  # what they say is not what they do not know
    return {
        "reason": reason_text,
        "known": {s.label: s.value for s in said if s.label not in withheld},
        "unknown": [label for label in unknown if label not in stated],
        "withheld": {s.label: s.value for s in said if s.label in withheld},
        "behaviour": " ".join(behaviour),
        "persona": persona,
        "phrasing": family,
        "rule": rule,
        "first_attempt": first_attempt or {},
        "changes": changes or {},
    }


# --- a request no tool serves -------------------------------------------------------------------

_OFF_DOMAIN = [("read", "weather forecast"), ("create", "restaurant reservation"), ("read", "train timetable"),
               ("create", "birthday reminder"), ("update", "gym membership"), ("delete", "newsletter subscription"),
               ("read", "currency exchange rate"), ("create", "doctor appointment"), ("read", "movie showtimes"),
               ("create", "pizza delivery"), ("read", "football scores"), ("update", "flight seat")]
"""Everyday requests, for a domain whose run offers no other domain's tools to borrow one from."""
_OFF_PHRASES = {"read": ["find out the {noun} for me", "look up the {noun}", "check the {noun} for me"],
                "create": ["set up a new {noun}", "book {a} {noun} for me", "arrange {a} {noun}"],
                "update": ["change my {noun}", "update my {noun}"],
                "delete": ["cancel my {noun}", "get rid of my {noun}"]}


def _vocabulary(spec: EnvSpec) -> set[str]:
    """The words the domain's tools, tables and columns are named with (singular and plural alike)."""
    names = [t.name for t in spec.tools] + [t.name for t in spec.tables] + [t.entity for t in spec.tables] + [
        c.name for t in spec.tables for c in t.columns]
    found = {w for name in names for w in tokens(name)}
    return found | {w.rstrip("s") for w in found}


def _noun(name: str) -> str | None:
    """What a tool's name is about, without its verb and its provider (``get_forecast_weather_for_x``:
    ``forecast weather``); None when that leaves no plain words."""
    found = spoken(name).split()  # run-together words split (getcustomer: get customer; adjustment stays whole)
    found = found[: found.index("for")] if "for" in found else found
    nouns = [w for w in found if w not in VERBS and w not in _HTTP_VERBS]
    if not nouns or len(nouns) > 4 or not all(n.isalpha() and 3 <= len(n) <= 12 for n in nouns):
        return None
    return " ".join(nouns)


def request_noun(name: str) -> str | None:
    """What another domain's tool is about, as a request a user could bring here: two or three everyday words
    (``quarterly earnings``; not ``that phone``, ``ovo`` or ``whois``), none repeated, else None. One word alone
    is too often a bare field or an API's jargon (``echo``, ``input``, ``float``)."""
    words = (_noun(name) or "").split()
    plain = 2 <= len({singular(w) for w in words}) == len(words) <= 3 and all(everyday(w) for w in words)
    return " ".join(words) if plain else None


def off_domain_request(spec: EnvSpec, foreign: list[tuple[str, str]], rng: random.Random) -> str | None:
    """A verb phrase asking for something none of the domain's tools does: about another domain's tool
    (``foreign``: (name, kind) pairs) or, failing that, an everyday errand, sharing no word with the
    domain's names. None when every candidate shares one."""
    vocabulary = _vocabulary(spec)
    borrowed = [(kind, noun) for name, kind in foreign if (noun := request_noun(name))]
    for candidates in (borrowed, list(_OFF_DOMAIN)):
        rng.shuffle(candidates)
        for kind, noun in candidates:
            if not any(w in vocabulary or w.rstrip("s") in vocabulary for w in noun.split()):
                return rng.choice(_OFF_PHRASES[kind]).format(noun=noun, a="an" if noun[0] in "aeiou" else "a")
    return None


# --- the LLM rewrite ----------------------------------------------------------------------------

LLM_PROMPT = """Rewrite this customer's opening message to a support agent in your own words, as the same \
person would write it ({persona}). First person, one short paragraph. Keep what they want and every \
constraint; do not add any name, number, date, code or other detail that is not in the message, and do not \
mention any function, API or tool names. Reply with the message only.

Message: {intent}"""


async def llm_intent(backend, task: Task, seed: int) -> str | None:
    """The task's intent rewritten by an LLM, or None when the reply was cut off at the token cap (a small
    model rambles until it is) or fails the task checker's text checks (a value the calls need that nobody
    states, a withheld value said, a tool named)."""
    persona = task.user_scenario.get("persona", "terse")
    prompt = LLM_PROMPT.format(intent=task.intent, persona=PERSONAS.get(persona, PERSONAS["terse"])[0])
    reply = await backend.chat([{"role": "user", "content": prompt}], None, seed=seed, max_tokens=256)
    text = (reply.message.get("content") or "").strip()
    if not text or reply.finish_reason == "length" or check_text(replace(task, intent=text)):
        return None
    return text
