"""The learning loop in miniature: teacher rollouts -> filters -> export -> two-stage SFT -> eval.

A tiny Qwen3 with random weights (wider and deeper than ``agentscaler tiny-model``'s, still random
init, CPU) learns from verified teacher trajectories of shop-like domains and is evaluated on tasks it
never saw: held-out tasks of the trained domains (new users, items, orders and quantities) and a
whole held-out domain. Every value an agent must send is in the user's words or a tool's result, so
a model that memorized training calls fails; only one that copies values passes. Two-stage training
(general domains, then the vertical domain from those weights) is compared with one-stage training
on the same rows, on the vertical domain's held-out tasks. The two-stage checkpoint is also served
with ``agentscaler serve`` and evaluated through its URL.

    python benchmarks/bench_learning_loop.py [--per-domain 400] [--hidden 256] [--layers 2] [--epochs 10] [--plans two,one]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from envs_helpers import make_run, shop_tools  # noqa: E402
from learning_loop import base_model, eval_tasks, play, preset, start_ray, teacher_data, train  # noqa: E402

from agentscaler.artifacts import RunDir  # noqa: E402
from agentscaler.envs import build_envs  # noqa: E402
from agentscaler.envs.synth import rng_for  # noqa: E402
from agentscaler.rollouts import RolloutConfig  # noqa: E402
from agentscaler.tasks import TaskConfig, build_tasks  # noqa: E402

# Shop-like domains: the same tables, different tool sets (so each domain's prompt and plans differ).
DOMAIN_TOOLS = [slice(None), slice(0, 4), slice(1, None), slice(1, 5), slice(0, 5)]
EVAL = RolloutConfig(max_turns=5, turn_tokens=64, concurrency=64)
BASE_EVAL = EVAL.model_copy(update={"max_turns": 2})  # random weights emit noise: two turns of it are enough


def build_run(path: Path, per_domain: int, states: int, rows: int, heldout_domains: int) -> tuple[Path, int]:
    """Domains, environments and tasks; returns the run and the TaskConfig seed used. The seed is the first
    whose held-out-domain draw holds out exactly ``heldout_domains`` domains (the draw is seeded per domain)."""
    shutil.rmtree(path, ignore_errors=True)
    run = make_run(path, [shop_tools()[s] for s in DOMAIN_TOOLS])
    build_envs(run, states=states, rows=rows, workers=1)
    share = 0.2
    seed = next(s for s in range(1000) if sum(
        rng_for(s, "heldout", d).random() < share for d in range(len(DOMAIN_TOOLS))) == heldout_domains)
    build_tasks(run, TaskConfig(per_domain=per_domain, seed=seed, heldout_domains=share, heldout_tasks=0.15,
                                read_only_share=0.3), workers=1)
    return run.path, seed


@contextlib.contextmanager
def served(model: Path, log: Path):
    """``agentscaler serve`` on a free localhost port; yields its /v1 URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with log.open("w") as handle:
        process = subprocess.Popen([sys.executable, "-m", "agentscaler.cli", "serve", "--model", str(model),
                                    "--port", str(port), "--max-batch", "16"], stdout=handle, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 120
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                assert process.poll() is None and time.time() < deadline, f"server did not start: {log}"
                time.sleep(0.5)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            process.terminate()
            process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/agentscaler-bench-loop"))
    parser.add_argument("--per-domain", type=int, default=400, help="Tasks per domain.")
    parser.add_argument("--states", type=int, default=40, help="Initial states per domain (new values per task).")
    parser.add_argument("--rows", type=int, default=60, help="Rows per table and state: with few, a model can get by "
                                                           "guessing among the few ids it saw instead of copying.")
    parser.add_argument("--samples", type=int, default=1, help="Teacher rollouts per training task (the teacher is "
                                                               "deterministic: more are duplicates).")
    parser.add_argument("--eval-samples", type=int, default=1, help="Episodes per held-out task (K of pass^k; "
                                                                        "decoding is greedy, so K > 1 repeats it).")
    parser.add_argument("--unseen-domain-tasks", type=int, default=30, help="Held-out-domain tasks evaluated.")
    parser.add_argument("--near-duplicate-threshold", type=float, default=0.95,
                        help="The filters' default (0.8) drops most tasks that differ only in their values.")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--plans", default="two,one", help="Training plans to run, in order (comma-separated). "
                        "The data are seeded, so plans run apart in one --workdir train on the same rows.")
    args = parser.parse_args()
    plans = args.plans.split(",")
    if not set(plans) <= {"two", "one"}:  # before minutes of data building, not after
        parser.error(f"--plans takes 'two' and/or 'one', not {args.plans!r}")

    start_ray()
    figures: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    run, seed = build_run(work / "run", args.per_domain, args.states, args.rows, heldout_domains=1)
    tasks = RunDir(run).read_tasks()
    figures["tasks"] = {s: sum(t.split == s for t in tasks) for s in ("train", "heldout_task", "heldout_domain")}
    rows, figures["data"] = teacher_data(run, work / "train.parquet", args.samples, args.near_duplicate_threshold)
    vertical = figures["data"]["vertical_domain"]
    print(json.dumps(figures), flush=True)
    base = base_model(work / "base", args.hidden, args.layers)
    chosen = preset(args.epochs, args.lr, args.seq_len)
    tasks = eval_tasks(run, args.unseen_domain_tasks)
    figures["eval_tasks"] = {"heldout_task": sum(t.split == "heldout_task" for t in tasks),
                             "heldout_domain": sum(t.split == "heldout_domain" for t in tasks),
                             "vertical_heldout": sum(t.domain_id == vertical for t in tasks)}
    results = {"before": play(run, base, "base", BASE_EVAL, tasks, vertical)[1]}
    print(json.dumps({"before": results["before"]}), flush=True)
    checkpoints = {}
    for plan in plans:
        checkpoint, trained = train(rows, base, chosen, work, plan)
        checkpoints[plan] = checkpoint
        results[plan] = {**trained, **play(run, checkpoint, f"after-{plan}", EVAL, tasks, vertical,
                                           args.eval_samples)[1]}
        print(json.dumps({plan: results[plan]}), flush=True)
    if "two" in plans:
        with served(checkpoints["two"], work / "serve.log") as url:
            vertical_tasks = [t for t in tasks if t.domain_id == vertical]
            via_url = play(run, url, "served-two", EVAL, vertical_tasks)[1]
            results["served"] = {"tasks": len(vertical_tasks), "url_pass_rate": via_url["pass_rate"],
                                 "direct_pass_rate": results["two"]["vertical_domain"]}
        print(json.dumps({"served": results["served"]}), flush=True)
    figures["results"] = results
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
