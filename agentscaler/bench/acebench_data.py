"""ACEBench English's test items as the harness plays them: categories, items with their possible answers,
the tools in OpenAI form, the system prompt each kind of category gets, and the gold calls as call lists.

The data is ACEBench's own release (``data_all/data_en/data_<category>.json`` and
``possible_answer/data_<category>.json``, one JSON object a line, MIT licence). A normal category's
answer is a mapping of function name to arguments (a name may carry ``_1``, ``_2`` when a function is
called twice; an answer may also be a list of alternatives); a special category's names what the
agent must point out; an agent category's holds the final state of ACEBench's simulated phone or
travel system and its ``mile_stone`` calls (written in ACEBench's ``[Api(key='value')]`` syntax).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NORMAL = ("normal_single_turn_single_function", "normal_single_turn_parallel_function",
          "normal_multi_turn_user_adjust", "normal_multi_turn_user_switch", "normal_similar_api",
          "normal_preference", "normal_atom_bool", "normal_atom_enum", "normal_atom_number", "normal_atom_list",
          "normal_atom_object_deep", "normal_atom_object_short")
SPECIAL = ("special_incomplete", "special_error_param", "special_irrelevant")
AGENT = ("agent_multi_step", "agent_multi_turn")
CATEGORIES = NORMAL + SPECIAL + AGENT
# ACEBench's own groups, accepted by --category as well as single names.
GROUPS = {"normal": NORMAL, "special": SPECIAL, "agent": AGENT, "all": CATEGORIES,
          "atom": tuple(c for c in NORMAL if "_atom_" in c), "multi_turn": tuple(c for c in NORMAL if "multi_turn" in c)}

# The phrases ACEBench's special checker looks for: the agent must say them, so its prompt names them.
MISSING, INCORRECT, BEYOND = ("Missing necessary parameters", "There is incorrect value",
                              "the limitations of the function")

_NORMAL_PROMPT = """You are an assistant that answers a conversation by calling the tools it is given.
Read the conversation so far and make the tool call(s) the assistant should make next; when several calls
are needed at once, make them all. Include only the parameters the conversation gives values for (or
required ones); use the user's own wording for a value whose format the tool does not specify.
{context}"""

_SPECIAL_PROMPT = """You are an assistant that answers a conversation by calling the tools it is given.
If the request is clear and a tool can serve it, make the tool call(s). Otherwise answer in text, checking
in this order:
1. A value the user gave does not fit the parameter's type or format: reply
   "There is incorrect value (VALUE) for the parameters (KEY) in the conversation history."
2. Values a tool requires are missing: reply
   "Missing necessary parameters (KEY1, KEY2) for the api (TOOL_NAME)"
3. No tool can do what is asked: reply
   "Due to the limitations of the function, I cannot solve this problem."
{context}"""

_AGENT_PROMPT = """You are a {role}. {time} Use the tools to carry out the user's request step by step,
one kind of call per turn; do not ask the user for what the request already says. When the task is done,
reply "finish conversation"."""
_ROLES = {"Travel": ("airline agent who books, changes and cancels flight reservations", "It is 2024-07-15 08:00."),
          "phone": ("mobile phone assistant who sends messages, adds reminders and orders food delivery",
                    "It is 2024-06-11 16:00.")}


@dataclass
class Item:
    """One ACEBench test item: its conversation, its tools and its possible answer."""

    id: str
    category: str
    question: str
    functions: list[dict[str, Any]]
    answer: Any
    context: str = ""  # the item's date line or user profile, when it has one
    milestones: list[list[str]] = field(default_factory=list)  # agent categories: alternative call sequences
    classes: tuple[str, ...] = ()  # agent categories: ACEBench's simulated systems involved

    @property
    def unit(self) -> str:
        """What the category counts: a multi-turn conversation (all its turns right), else the item itself."""
        return self.id.rsplit("_", 1)[0] if "multi_turn_user" in self.category else self.id

    def tools(self) -> list[dict[str, Any]]:
        """The item's functions as OpenAI tools."""
        return [{"type": "function", "function": {"name": f["name"], "description": f.get("description", ""),
                                                   "parameters": f.get("parameters") or {}}}
                for f in self.functions]

    def messages(self) -> list[dict[str, Any]]:
        """The conversation the agent answers: ACEBench hands the whole history over as one user turn."""
        if self.category in AGENT:
            role, time = _ROLES["Travel" if "Travel" in self.classes else "phone"]
            return [{"role": "system", "content": _AGENT_PROMPT.format(role=role, time=time)},
                    {"role": "user", "content": self.question}]
        prompt = _SPECIAL_PROMPT if self.category in SPECIAL else _NORMAL_PROMPT
        return [{"role": "system", "content": prompt.format(context=self.context).strip()},
                {"role": "user", "content": "Conversation so far:\n" + self.question.strip()}]


def resolve_categories(names: list[str] | None) -> list[str]:
    """Category names from single names or ACEBench's groups (normal, special, agent, atom, multi_turn, all)."""
    out: list[str] = []
    for name in names or ["all"]:
        name = name.removeprefix("data_")
        if name not in GROUPS and name not in CATEGORIES:
            raise ValueError(f"unknown ACEBench category {name!r}: one of {sorted(GROUPS)} or {list(CATEGORIES)}")
        out += [c for c in GROUPS.get(name, (name,)) if c not in out]
    return out


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_items(data: str | Path, category: str) -> list[Item]:
    """A category's items in file order, each with its possible answer (matched by id)."""
    root = Path(data)
    root = root / "data_all" / "data_en" if (root / "data_all").is_dir() else root
    answers = {a["id"]: a for a in _lines(root / "possible_answer" / f"data_{category}.json")}
    items = []
    for row in _lines(root / f"data_{category}.json"):
        answer = answers[row["id"]]
        context = f"User profile: {row['profile']}" if row.get("profile") else row.get("time") or ""
        items.append(Item(row["id"], category, row["question"], row["function"], answer["ground_truth"], context,
                          _alternatives(answer.get("mile_stone")), tuple(row.get("involved_classes") or ())))
    return items


def _alternatives(milestones: list | None) -> list[list[str]]:
    if not milestones:
        return []
    return milestones if isinstance(milestones[0], list) else [milestones]


def answer_calls(answer: dict[str, Any], functions: list[dict[str, Any]]) -> list[tuple[str, dict]]:
    """A normal answer's calls in order, the ``_N`` that tells repeated calls apart taken off the names."""
    known = {f["name"] for f in functions}
    calls = []
    for name, arguments in answer.items():
        base = re.sub(r"_\d+$", "", name)
        calls.append((base if name not in known and base in known else name, arguments))
    return calls


# ACEBench writes milestones in Python call syntax but leaves apostrophes inside single-quoted strings
# unescaped ('Domino's'): a quote closes a string only where the syntax can go on after it.
_CLOSES = re.compile(r"\s*[,)\]}:]")
_DOUBLE_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _requote(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == '"' and (string := _DOUBLE_QUOTED.match(text, i)):
            out.append(string.group())
            i = string.end()
        elif text[i] == "'":
            end = i + 1
            while end < len(text) and not (text[end] == "'" and _CLOSES.match(text, end + 1)):
                end += 1
            out.append(json.dumps(text[i + 1 : end]))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_calls(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``[Api(key='value', ...), ...]`` (ACEBench's call syntax) as (name, arguments) pairs."""
    tree = ast.parse(_requote(text.strip()), mode="eval").body
    calls = tree.elts if isinstance(tree, ast.List) else [tree]
    return [(ast.unparse(c.func), {k.arg: ast.literal_eval(k.value) for k in c.keywords}) for c in calls]

