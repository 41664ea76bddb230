"""``bench acebench``: ACEBench English played by an agent on any backend, scored by ACEBench's own rules.

Each item's conversation goes to the agent as one user turn (ACEBench's framing), its functions as
tools; the agent's tool calls (the project's Qwen3 rendering and parsing, or the server's) are its
answer. Normal and special categories are scored as ACEBench scores them (``acebench_score``); a
multi-turn category counts a conversation right only when every turn is (its end accuracy, with the
per-turn share as process accuracy). The agent categories need ACEBench's stateful Python phone and
travel systems (and, for multi_turn, its LLM user simulator): neither is simulated here, so each
call is answered with a note saying so, the agent plays on open-loop from the user's request, and
only the process accuracy (gold milestone calls found in order) is scored; their end-to-end accuracy
(the final system state) is reported as not scorable.

``oracle`` answers every item with its first possible answer (the milestones, for agent categories)
through the same loop and checks: it is the harness's own check and scores 1.0 wherever it is right.

    agentscaler bench acebench --agent oracle --out runs/ace_oracle
    agentscaler bench acebench --agent http://127.0.0.1:8000/v1 --out runs/ace --category atom --limit 20
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

import typer
from pydantic import Field

from agentscaler.artifacts import write_json, write_jsonl
from agentscaler.bench.acebench_data import (AGENT, BEYOND, INCORRECT, MISSING, SPECIAL, Item, answer_calls,
                                             load_items, parse_calls, resolve_categories)
from agentscaler.bench.acebench_score import Calls, check_normal, check_special, process_score
from agentscaler.configs import StrictConfig
from agentscaler.llm import Completion, make_backend
from agentscaler.options import config_command

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "acebench"
NOT_SIMULATED = json.dumps({"note": "ACEBench's environment is not simulated here; continue with the next step."})
# ACEBench's overall score: its groups' unweighted means, weighted by their share of the benchmark.
GROUP_WEIGHTS = {"normal": 0.578, "special": 0.2676, "agent": 0.1545}
END_TO_END_UNSCORABLE = ("end-to-end accuracy compares the final state of ACEBench's stateful Python systems "
                         "(phone: messages, reminders, food platform; travel), which are not simulated here")


class AceBenchConfig(StrictConfig):
    agent: str = Field(description="oracle (the possible answers), a model directory, or an OpenAI-compatible URL.")
    data: Path = Field(DEFAULT_DATA, description="ACEBench's release: the folder holding data_all/data_en.")
    category: list[str] = Field(["all"], description="Categories or ACEBench's groups (normal, special, agent, "
                                                     "atom, multi_turn, all).")
    limit: Optional[int] = Field(None, ge=1, description="The first N items (conversations) of each category.")
    concurrency: int = Field(8, ge=1, description="Items in flight at once.")
    max_tokens: int = Field(512, ge=1, description="Tokens per agent turn.")
    max_steps: int = Field(12, ge=1, description="Agent turns per item in the agent categories.")
    strict_scalars: bool = Field(False, description="Also compare numbers and booleans (ACEBench checks only "
                                                    "their type).")
    seed: int = Field(0, description="Sampling seed passed to the backend.")


class Oracle:
    """A scripted agent: one item's possible answer, turn by turn, as assistant messages."""

    name = "oracle"

    def __init__(self, item: Item):
        self.turns = iter(oracle_turns(item))

    async def chat(self, messages, tools=None, **_: Any) -> Completion:
        return Completion(next(self.turns, {"role": "assistant", "content": "finish conversation"}))


def oracle_turns(item: Item) -> list[dict[str, Any]]:
    """The assistant messages that give ``item``'s first possible answer."""
    if item.category in AGENT:
        return [_calls_message(parse_calls(stone)) for stone in item.milestones[0]]
    if item.category == "special_irrelevant":
        return [_text(item.answer if BEYOND in str(item.answer) else f"Due to {BEYOND}, I cannot solve this problem.")]
    if item.category == "special_incomplete":
        return [_text("; ".join(f"{MISSING} ({', '.join(v.strip() for v in values)}) for the api ({name})"
                                for name, values in item.answer.items()))]
    if item.category == "special_error_param":
        return [_text(" ".join(f"{INCORRECT} ({', '.join(map(str, values))}) for the parameters ({name}) in the "
                               "conversation history." for name, values in item.answer.items()))]
    answer = item.answer[0] if isinstance(item.answer, list) else item.answer
    return [_calls_message(answer_calls(answer, item.functions))]


def _text(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def _calls_message(calls: Calls) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(calls)]}


def _calls(message: dict[str, Any]) -> Calls:
    """The message's tool calls as (name, arguments); arguments that are not a JSON object raise ValueError."""
    calls = []
    for call in message.get("tool_calls") or []:
        args = json.loads(call["function"].get("arguments") or "{}")
        if not isinstance(args, dict):
            raise ValueError(f"arguments of {call['function']['name']} are not an object")
        calls.append((call["function"]["name"], args))
    return calls


async def play(item: Item, backend: Any, config: AceBenchConfig) -> dict[str, Any]:
    """One item played and scored: its row of ``items.jsonl``."""
    messages, tools = item.messages(), item.tools()
    steps: list[Calls] = []
    text, problem = "", None
    try:
        for _ in range(config.max_steps if item.category in AGENT else 1):
            reply = await backend.chat(messages, tools, seed=config.seed, max_tokens=config.max_tokens)
            text = reply.message.get("content") or ""
            try:
                if reply.parse_errors:
                    raise ValueError(reply.parse_errors[0][:200])
                calls = _calls(reply.message)
            except ValueError as error:  # ACEBench fails an answer it cannot decode
                problem = f"malformed tool call: {error}"
                break
            if not calls:
                break
            steps.append(calls)
            messages += [reply.message, *({"role": "tool", "tool_call_id": c["id"], "name": c["function"]["name"],
                                           "content": NOT_SIMULATED} for c in reply.message["tool_calls"])]
    except Exception as error:  # a refused or failed request fails this item, and is counted in the report
        problem = f"backend error: {type(error).__name__}: {str(error)[:300]}"
    row = {"id": item.id, "category": item.category, "unit": item.unit, "calls": steps, "text": text,
           "backend_error": bool(problem and problem.startswith("backend error"))}
    return {**row, **_score(item, steps, text, problem, config.strict_scalars)}


def _score(item: Item, steps: list[Calls], text: str, problem: str | None, strict: bool) -> dict[str, Any]:
    if item.category in AGENT:
        found, total = process_score(item.milestones, steps)
        return {"passed": found == total, "found": found, "milestones": total,
                "reason": problem or (None if found == total else f"{found} of {total} milestones")}
    if problem:
        return {"passed": False, "reason": problem}
    if item.category in SPECIAL:
        reason = check_special(item.category, item.answer, text)
    elif not steps:
        reason = "no tool call"
    else:
        alternatives = item.answer if isinstance(item.answer, list) else [item.answer]
        reasons = [check_normal(item.functions, steps[0], a, strict) for a in alternatives]
        reason = None if None in reasons else reasons[0]
    return {"passed": reason is None, "reason": reason}


def select_items(config: AceBenchConfig) -> list[Item]:
    """The items of the chosen categories, the first ``limit`` units (conversations) of each."""
    chosen = []
    for category in resolve_categories(config.category):
        units: list[str] = []
        for item in load_items(config.data, category):
            if item.unit not in units:
                units.append(item.unit)
            if config.limit is None or len(units) <= config.limit:
                chosen.append(item)
    return chosen


async def _play_all(items: list[Item], config: AceBenchConfig) -> list[dict[str, Any]]:
    backend = None if config.agent == "oracle" else make_backend(config.agent)
    gate = asyncio.Semaphore(config.concurrency)

    async def one(item: Item) -> dict[str, Any]:
        async with gate:
            return await play(item, Oracle(item) if backend is None else backend, config)

    return await asyncio.gather(*map(one, items))


def summarize(rows: list[dict[str, Any]], agent: str, strict_scalars: bool = False) -> dict[str, Any]:
    """report.json: per-category accuracy with its 95% interval, ACEBench's group means and overall score."""
    by_category: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_category[row["category"]].append(row)
    categories = {c: _category(c, r) for c, r in by_category.items()}
    scores = {c: [found / n for n, found in _trials(c, r)] for c, r in by_category.items()}
    groups = {g: round(sum(v["accuracy"] for v in vs) / len(vs), 4)
              for g in GROUP_WEIGHTS if (vs := [v for c, v in categories.items() if c.startswith(g)])}
    return {
        "benchmark": "ACEBench (English)", "agent": agent, "strict_scalars": strict_scalars,
        "items": len(rows), "backend_errors": sum(r["backend_error"] for r in rows),
        "categories": categories, "groups": groups, "overall": round(_overall(scores), 4),
        "overall_ci95": _overall_interval(scores),
        "overall_rule": "ACEBench's summary: unweighted mean of the categories in each group, groups weighted "
                        f"{GROUP_WEIGHTS} (renormalized over the groups played); the agent group counts process "
                        "accuracy, as end-to-end accuracy is not scorable here",
        "not_scorable": {c: END_TO_END_UNSCORABLE + (" and the LLM user simulator that plays the user's side" if
                                                     c == "agent_multi_turn" else "")
                         for c in categories if c in AGENT},
    }


def _trials(category: str, rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Per unit (item, or conversation), (n, c) whose c / n is its score: pass^1's input."""
    if category in AGENT:
        return [(r["milestones"], r["found"]) for r in rows]
    units: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        units[r["unit"]].append(r["passed"])
    return [(1, int(all(passed))) for passed in units.values()]


def _category(category: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from agentscaler.evaluate import pass_hat_k_interval  # the seeded bootstrap; evaluate takes seconds to import

    trials = _trials(category, rows)
    accuracy = sum(c / n for n, c in trials) / len(trials)
    block = {"items": len(rows), "units": len(trials), "correct": sum(r["passed"] for r in rows),
             "accuracy": round(accuracy, 4), "ci95": [round(x, 4) for x in pass_hat_k_interval(trials, 1)],
             "backend_errors": sum(r["backend_error"] for r in rows)}
    if category in AGENT:
        block |= {"metric": "process accuracy (milestones found in order)", "end_to_end_accuracy": None}
    elif "multi_turn" in category:
        units: dict[str, list[bool]] = defaultdict(list)
        for r in rows:
            units[r["unit"]].append(r["passed"])
        block |= {"metric": "end accuracy (every turn of a conversation right)",
                  "process_accuracy": round(sum(sum(u) / len(u) for u in units.values()) / len(units), 4)}
    else:
        block["metric"] = "accuracy"
    return block


def _overall_interval(scores: dict[str, list[float]], resamples: int = 2000, seed: int = 0) -> list[float]:
    """95% interval of the overall score: each category's unit scores resampled with replacement (seeded
    percentile bootstrap, stratified by category), the overall recomputed each time."""
    rng = random.Random(seed)
    draws = sorted(_overall({c: rng.choices(s, k=len(s)) for c, s in scores.items()}) for _ in range(resamples))
    return [round(draws[int(0.025 * (resamples - 1))], 4), round(draws[int(round(0.975 * (resamples - 1)))], 4)]


def _overall(scores: dict[str, list[float]]) -> float:
    """ACEBench's summary from unit scores: the group means of category means, groups weighted."""
    groups: dict[str, list[float]] = defaultdict(list)
    for category, values in scores.items():
        groups[category.split("_")[0]].append(sum(values) / len(values))
    weight = sum(GROUP_WEIGHTS[g] for g in groups)
    return sum(GROUP_WEIGHTS[g] * sum(v) / len(v) for g, v in groups.items()) / weight if groups else 0.0


def run_acebench(config: AceBenchConfig, out: str | Path) -> dict[str, Any]:
    """Play and score the chosen items; write ``out/items.jsonl`` and ``out/report.json``; return the report."""
    items = select_items(config)
    rows = asyncio.run(_play_all(items, config))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(rows, out / "items.jsonl")
    report = summarize(rows, config.agent, config.strict_scalars)
    write_json(report, out / "report.json")
    return report


@config_command(AceBenchConfig)
def acebench_command(config: AceBenchConfig,
                     out: Path = typer.Option(..., "--out", help="Folder for report.json and items.jsonl.")) -> None:
    """Score an agent on ACEBench English (normal, special and agent categories) by ACEBench's own rules."""
    report = run_acebench(config, out)
    for name, block in report["categories"].items():
        typer.echo(f"{name:40s} {block['accuracy']:.3f}  {block['ci95']}  ({block['units']} units)")
    typer.echo(f"overall {report['overall']:.3f} {report['overall_ci95']}   report: {out}/report.json")
