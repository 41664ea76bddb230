"""What the learning-loop benchmarks share: teacher data, a random-weight base model, a short SFT, eval.

``bench_learning_loop.py`` runs the loop on the hand-written shop domains and
``bench_learning_loop_real.py`` on domains built from the real API corpora; both go
teacher rollouts -> filters -> export -> SFT -> ``agentscaler eval`` on held-out tasks through these
functions, so the two measure the same thing and differ only in the domains.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from pathlib import Path

from agentscaler.artifacts import RunDir, read_rows
from agentscaler.contracts import Task
from agentscaler.evaluate import EvalConfig, evaluate
from agentscaler.filters import ExportConfig, FilterConfig, export_training_set, run_filters
from agentscaler.rollouts import RolloutConfig, run_rollouts
from agentscaler.train import load_preset, train_stages


def start_ray(cpus: int = 2) -> None:
    """A Ray of this process's own (``address="local"``: not a cluster someone started with ``ray start`` on this
    machine); on a loaded machine the raylet may miss Ray's fixed 30 s startup window, so try thrice."""
    import ray

    for attempt in range(3):
        try:
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False)
            return
        except Exception:  # noqa: BLE001
            ray.shutdown()
            if attempt == 2:
                raise


def teacher_data(run: Path, out: Path, samples: int, near_duplicate_threshold: float) -> tuple[list[dict], dict]:
    """Teacher rollouts of the training tasks, filtered and exported to ``out``; the rows and what each step kept."""
    started = time.perf_counter()
    run_rollouts(run, config=RolloutConfig(samples=samples, actors=1))
    report = run_filters(run, config=FilterConfig(near_duplicate_threshold=near_duplicate_threshold))
    export = export_training_set(run, out, ExportConfig())
    figures = {"filters_kept": report.get("kept"), "export": {k: export[k] for k in ("rows", "general", "vertical")},
               "vertical_domain": export["vertical_domains"][0], "seconds": round(time.perf_counter() - started, 1)}
    return read_rows(out), figures


def base_model(out: Path, hidden: int, layers: int) -> Path:
    """A random-weight Qwen3 of the given width and depth, with the tiny model's tokenizer and chat template."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    from agentscaler.llm.tiny import build_tokenizer, model_config

    tokenizer = build_tokenizer()
    config = model_config(tokenizer, moe=False)
    config.update({"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": hidden // 32,
                   "num_key_value_heads": hidden // 64, "head_dim": 32, "intermediate_size": 3 * hidden,
                   "layer_types": ["full_attention"] * layers})
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(eos_token_id=[tokenizer.eos_token_id, tokenizer.pad_token_id],
                                               pad_token_id=tokenizer.pad_token_id)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def pretrained_base(source: Path, out: Path) -> Path:
    """A pretrained causal LM (a transformers directory) with Qwen3's chat template on its tokenizer: the format
    the rollouts render prompts in, parse tool calls from and build the loss mask by. The weights are as they
    are; a ChatML tokenizer (``<|im_start|>``/``<|im_end|>``, e.g. SmolLM2's) renders the template unchanged."""
    from transformers import AutoTokenizer

    from agentscaler.llm.tiny import chat_template

    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(source, out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    tokenizer.chat_template = chat_template()
    (out / "chat_template.jinja").unlink(missing_ok=True)  # the source's own template, replaced
    tokenizer.save_pretrained(out)
    return out


def preset(epochs: int, lr: float, seq_len: int):
    """The tiny preset with this benchmark's epochs, learning rate and row length (both stages)."""
    chosen = load_preset("tiny")
    for name, stage in chosen.stages.items():
        chosen.stages[name] = stage.model_copy(update={
            "epochs": epochs, "lr": lr if name == "general" else lr / 2, "seq_len": seq_len, "warmup_ratio": 0.05})
    return chosen.model_copy(update={"gradient_checkpointing": False, "checkpoint_every": 10_000})


def losses(stage_dir: Path) -> tuple[float, float, int]:
    """A stage's first loss, the mean of its last five, and its number of steps."""
    rows = [json.loads(line) for line in (stage_dir / "metrics.jsonl").read_text().splitlines()]
    return rows[0]["loss"], sum(r["loss"] for r in rows[-5:]) / len(rows[-5:]), len(rows)


def train(rows: list[dict], base: Path, chosen, work: Path, plan: str) -> tuple[Path, dict]:
    """Train ``plan`` ("two" or "one") from ``base``; the checkpoint and the training figures. The checkpoint's
    name is new for every plan, preset and training set: the eval's LLM cache keys on the agent's path, and a
    rerun with other settings must not be answered with the replies of the last one's weights."""
    settings = json.dumps([plan, chosen.model_dump(), len(rows), str(base)], sort_keys=True)
    out = work / f"train-{plan}"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    final = train_stages(rows, base, chosen, out, plan)
    seconds = time.perf_counter() - started
    checkpoint = work / f"agent-{plan}-{hashlib.sha256(settings.encode()).hexdigest()[:8]}"
    shutil.rmtree(checkpoint, ignore_errors=True)
    shutil.copytree(final, checkpoint)
    stages = {d.name: losses(d) for d in sorted(out.iterdir()) if (d / "metrics.jsonl").exists()}
    return checkpoint, {"train_seconds": round(seconds, 1), "losses_first_last5_steps": stages}


def eval_tasks(run: Path, unseen_domain_tasks: int) -> list[Task]:
    """Every held-out task of the trained domains, and a seeded sample of the held-out domains'."""
    unseen = RunDir(run).read_tasks("heldout_domain")
    return RunDir(run).read_tasks("heldout_task") + random.Random(0).sample(unseen, min(unseen_domain_tasks,
                                                                                        len(unseen)))


def eval_config(agent: str, name: str, rollouts: RolloutConfig, samples: int = 1) -> EvalConfig:
    return EvalConfig(agent=agent, split="heldout", samples=samples, name=name, concurrency=rollouts.concurrency,
                      rollouts=rollouts)


def summary(report: dict, domain: int | None = None) -> dict:
    """The eval report's pass rates: overall, per split, per outcome kind, writes and reads, the vertical domain's."""
    figures = {"pass_rate": report["pass_rate"], "pass_hat_k": report["pass_hat_k"],
               "splits": {s: b["pass_rate"] for s, b in report["splits"].items()},
               "by_outcome": {o: b["pass_rate"] for o, b in report["by_outcome"].items()},
               "writes": report["writes"]["pass_rate"], "read_only": report["read_only"]["pass_rate"],
               "outcomes": report["outcomes"]}
    if domain is not None:
        figures["vertical_domain"] = report["domains"].get(str(domain), {}).get("pass_rate")
    return figures


def play(run: Path, agent: str | Path, name: str, rollouts: RolloutConfig, tasks: list[Task], domain: int | None = None,
         samples: int = 1) -> tuple[dict, dict]:
    """``agentscaler eval`` of ``agent`` on ``tasks``: the full report and its ``summary``."""
    report = evaluate(run, eval_config(str(agent), name, rollouts, samples), tasks=tasks)
    return report, summary(report, domain)
