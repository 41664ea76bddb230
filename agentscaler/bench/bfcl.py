"""``bench bfcl``: BFCL's multi-turn categories played by an agent on any backend, judged by BFCL's own checker.

BFCL's package (``bfcl-eval``) supplies everything but the model: the entries and their ground truth,
the function docs of its Python API classes (file system, messaging, trading, travel, vehicle, ...),
the executable backend that runs each call against those classes (``execute_multi_turn_func_call``)
and the checker that compares the reached state and the results with the ground truth's, turn by
turn (``multi_turn_checker``). Here the agent plays BFCL's function-calling loop: each user turn, it
calls tools step by step, seeing each result, until it answers without a call (at most 20 steps, as
BFCL forces a quit). ``oracle`` answers each turn with its ground-truth calls: the harness's own check.

    agentscaler bench bfcl --category multi_turn_base --agent oracle --out runs/bfcl_oracle
    agentscaler bench bfcl --category multi_turn_base --agent http://127.0.0.1:8000/v1 --out runs/bfcl

bfcl-eval pins numpy==1.26.4, networkx==3.3, faiss-cpu==1.11.0 and filelock==3.20.0, which would
downgrade the project's own; its multi-turn checker needs none of them, so it is installed without
its dependencies: ``pip install --no-deps bfcl-eval``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Literal, Optional

import typer
from pydantic import Field

from agentscaler.artifacts import write_json, write_jsonl
from agentscaler.bench.trials import Trials, pass_hat_k_block
from agentscaler.llm import make_backend
from agentscaler.options import config_command

FORCED_QUIT = "multi_turn:force_quit"
BACKEND_ERROR = "backend_error"


class BfclConfig(Trials):
    agent: str = Field(description="oracle (the ground truth), a model directory, or an OpenAI-compatible URL.")
    category: Literal["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
                      "multi_turn_long_context"] = Field("multi_turn_base", description="BFCL's multi-turn category.")
    limit: Optional[int] = Field(None, ge=1, description="The first N entries.")
    max_steps: int = Field(20, ge=1, description="Model steps per user turn before BFCL's forced quit.")
    max_tokens: int = Field(512, ge=1, description="Tokens per model step.")
    temperature: float = Field(0.0, ge=0.0, description="Sampling temperature.")
    concurrency: int = Field(8, ge=1, description="Entries in flight at once.")


def load_entries(category: str, limit: int | None) -> tuple[list[dict], dict[str, list]]:
    """BFCL's entries of a category, with their function docs attached as BFCL attaches them, and the ground truth."""
    from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH
    from bfcl_eval.utils import load_file, populate_test_cases_with_predefined_functions

    name = f"BFCL_v4_{category}.json"
    entries = populate_test_cases_with_predefined_functions(load_file(PROMPT_PATH / name))[:limit]
    truth = {row["id"]: row["ground_truth"] for row in load_file(POSSIBLE_ANSWER_PATH / name)}
    return entries, truth


def openai_tool(doc: dict) -> dict:
    """A BFCL function doc as an OpenAI tool: its Python-flavoured types (dict, float, tuple, any) in JSON Schema."""
    from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI

    def schema(node: dict) -> dict:
        node = {**node, "type": GORILLA_TO_OPENAPI.get(node.get("type", "string"), "string")}
        if "properties" in node:
            node["properties"] = {key: schema(value) for key, value in node["properties"].items()}
        if isinstance(node.get("items"), dict):
            node["items"] = schema(node["items"])
        return node

    return {"type": "function", "function": {"name": doc["name"], "description": doc["description"],
                                             "parameters": schema(doc["parameters"])}}


def call_text(name: str, arguments: dict) -> str:
    """A call as BFCL's executable backend reads it: ``name(key=repr(value), ...)``."""
    return f"{name}({','.join(f'{key}={value!r}' for key, value in arguments.items())})"


async def play_entry(entry: dict, truth: list[list[str]], backend, config: BfclConfig, player: str,
                     seed: int) -> tuple[list[list[list[str]]], str | None]:
    """The calls of every step of every turn (BFCL's model result), and why the entry was cut short (or None)."""
    from bfcl_eval.constants.default_prompts import DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call

    if backend is None:
        return [[turn] if turn else [] for turn in truth], None
    docs, held_out = list(entry["function"]), entry.get("missed_function", {})
    messages: list[dict] = []
    turns: list[list[list[str]]] = []
    for index, turn in enumerate(entry["question"]):
        if str(index) in held_out:  # BFCL's miss_func: the withheld functions arrive with a note, not a question
            docs += held_out[str(index)]
            turn = [{"role": "user", "content": DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC}]
        messages += turn
        tools, steps = [openai_tool(d) for d in docs], []
        for _ in range(config.max_steps):
            reply = await backend.chat(messages, tools, seed=seed, max_tokens=config.max_tokens,
                                       temperature=config.temperature)
            messages.append(reply.message)
            calls = reply.message.get("tool_calls") or []
            try:
                texts = [call_text(c["function"]["name"], json.loads(c["function"]["arguments"] or "{}"))
                         for c in calls]
            except (json.JSONDecodeError, AttributeError):
                texts = []  # BFCL moves on to the next turn when a reply cannot be decoded
            if not texts:
                break
            results, _ = execute_multi_turn_func_call(
                texts, entry["initial_config"], entry["involved_classes"], player, entry["id"],
                long_context="long_context" in config.category)
            messages += [{"role": "tool", "tool_call_id": c["id"], "content": r} for c, r in zip(calls, results)]
            steps.append(texts)
        else:
            turns.append(steps)
            return turns, FORCED_QUIT
        turns.append(steps)
    return turns, None


def run_bfcl(config: BfclConfig, out: str | os.PathLike) -> dict[str, Any]:
    """Play every entry once per seed, judge each with BFCL's multi-turn checker, write and return the report."""
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

    seeds = config.trial_seeds()
    entries, truth = load_entries(config.category, config.limit)
    backend = None if config.agent == "oracle" else make_backend(config.agent)
    run_id = uuid.uuid4().hex[:8]  # BFCL keeps each player's API instances in module globals, by name

    async def judged(entry: dict, trial: int, seed: int, gate: asyncio.Semaphore) -> dict[str, Any]:
        player = f"agentscaler_{run_id}_{trial}"
        async with gate:
            try:
                turns, cut = await play_entry(entry, truth[entry["id"]], backend, config, player, seed)
                verdict = {"valid": False, "error_type": cut, "error_message": f"over {config.max_steps} steps"}
            except Exception as error:  # the backend refused (a prompt past its context, a server error): failed
                turns, cut = [], BACKEND_ERROR
                verdict = {"valid": False, "error_type": cut, "error_message": f"{type(error).__name__}: {error}"}
        if not cut:
            verdict = multi_turn_checker(turns, truth[entry["id"]], copy.deepcopy(entry), config.category, player)
        return {"id": entry["id"], "trial": trial, "seed": seed, "valid": bool(verdict["valid"]),
                "error_type": verdict.get("error_type"), "error": verdict.get("error_message"), "calls": turns}

    async def play_all() -> list[dict[str, Any]]:
        gate = asyncio.Semaphore(config.concurrency)
        return await asyncio.gather(*(judged(e, trial, seed, gate)
                                      for trial, seed in enumerate(seeds) for e in entries))

    started = time.perf_counter()
    try:
        rows = asyncio.run(play_all())
    finally:
        if hasattr(backend, "close"):
            backend.close()
    passes = {e["id"]: sum(r["valid"] for r in rows if r["id"] == e["id"]) for e in entries}
    report = {
        "benchmark": "bfcl", "bfcl_eval_version": _version(), "category": config.category, "agent": config.agent,
        "seeds": seeds, "entries": len(entries), **pass_hat_k_block(passes, len(seeds)),
        "accuracy": round(sum(r["valid"] for r in rows) / max(len(rows), 1), 4),
        "valid": {e["id"]: [r["valid"] for r in rows if r["id"] == e["id"]] for e in entries},
        "errors": dict(Counter(r["error_type"] for r in rows if not r["valid"]).most_common()),
        "seconds": round(time.perf_counter() - started, 2),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(rows, out / "results.jsonl")
    write_json(report, out / "report.json")
    return report


def _version() -> str:
    from importlib.metadata import version

    return version("bfcl-eval")


@config_command(BfclConfig)
def bfcl_command(config: BfclConfig,
                 out: Path = typer.Option(..., "--out", help="Directory for report.json and results.jsonl.")) -> None:
    """Play BFCL's multi-turn categories with an agent on any backend, judged by BFCL's own checker: accuracy and
    pass^k with 95% intervals."""
    report = run_bfcl(config, out)
    typer.echo(json.dumps({k: v for k, v in report.items() if k != "valid"}, indent=2))
    typer.echo(f"report: {out}/report.json")
