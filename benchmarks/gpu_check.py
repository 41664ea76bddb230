"""The GPU path, checked on one machine with a GPU (issue 17 §8); run through ``benchmarks/gpu_check.sh``.

Parts, each run in its own process (so each starts with the GPU's memory free) and each printing one
JSON line that starts with ``{"part": ...``:

- ``vllm``: the vLLM backend (``make_backend("vllm:PATH")``, Ray actors holding vLLM engines) on a small
  random-weight Qwen3: concurrent chat requests with tools, generated tokens/s, every reply parsed.
- ``eval``: ``agentscaler eval`` with ``--agent vllm:PATH`` on held-out tasks of the embedded sample's run
  (the rollout stage's own path: simulator actors, template user, the vLLM engine).
- ``trainer``: one SFT stage through Ray Train (``train_stage``) with the ``qwen3-4b`` preset's FSDP2,
  bf16 and gradient checkpointing, on a Qwen3-4B-wide model cut to two layers (its checkpoint, weights
  and AdamW moments written twice by Ray Train, must fit the disk), on the sample run's teacher data.
- ``dense``: a Qwen3-4B-shaped model (36 layers, 4.0e9 parameters) for a few optimizer steps through the
  trainer's own model loading (FSDP2 per decoder layer, bf16 compute over fp32 weights, activation
  checkpointing) and step (``_accumulate``), in this process: tokens/s, MFU and peak memory. Not through
  Ray Train: its final checkpoint (16 GB of weights and 32 GB of AdamW moments, copied into Ray's
  storage) would not fit a 64 GB disk; ``trainer`` covers that path.
- ``moe``: the ``qwen3-30b-a3b`` preset's model shape (128 experts, 8 active, router aux loss) with its
  48 layers cut to ``--moe-layers``, forward and backward the same way.

Weights are random and the tokenizer is the tiny model's (``agentscaler.llm.tiny``): nothing is
downloaded. The vocabulary is Qwen3's 151,936 rows wide in ``dense``, ``moe`` and ``trainer`` (the
tokenizer uses the first few thousand), so the logits cost what they cost in the real models.

    python benchmarks/gpu_check.py PART [--workdir /tmp/agentscaler-gpu-check] [--steps 4] [--moe-layers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import socket
import sys
import time
from pathlib import Path

PARTS = ("vllm", "eval", "trainer", "dense", "moe")
# Dense bf16 peak, TFLOP/s, by the name torch reports (SXM parts; PCIe ones are lower: give --peak-tflops).
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "H800": 989.0, "GH200": 989.0, "B200": 2250.0, "A100": 312.0,
                    "A800": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0}
QWEN3_VOCAB = 151_936
QWEN3_4B = dict(hidden_size=2560, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                intermediate_size=9728, tie_word_embeddings=True)
QWEN3_30B_A3B = dict(hidden_size=2048, num_attention_heads=32, num_key_value_heads=4, head_dim=128,
                     intermediate_size=6144, moe_intermediate_size=768, num_experts=128, num_experts_per_tok=8,
                     norm_topk_prob=True, tie_word_embeddings=False, output_router_logits=True,
                     router_aux_loss_coef=0.001)
SMALL = dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=128,
             intermediate_size=1536)  # head_dim 128: every vLLM attention backend takes it


def require_gpu() -> None:
    """Stop at once, with the reason, where there is no CUDA GPU for torch."""
    import torch

    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        sys.exit(f"gpu_check: no CUDA GPU visible to torch {torch.__version__} ({build}); "
                 "run this on a machine with an NVIDIA GPU and a CUDA build of torch")


def emit(part: str, **figures) -> None:
    print(json.dumps({"part": part, **figures}), flush=True)


# ---------------------------------------------------------------- models and data (random, offline)

def tokenizer_dir(work: Path) -> Path:
    """The tiny model's tokenizer (trained in seconds on the embedded sample, Qwen3's template), saved once."""
    out = work / "tokenizer"
    if not (out / "tokenizer.json").exists():
        from agentscaler.llm.tiny import build_tokenizer

        build_tokenizer().save_pretrained(out)
    return out


def random_model(out: Path, work: Path, shape: dict, *, moe: bool = False, vocab: int | None = None) -> Path:
    """A Qwen3 (or Qwen3-MoE) of ``shape`` with random weights, saved in bf16 with the tiny tokenizer."""
    if (out / "config.json").exists():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    from agentscaler.llm.tiny import model_config

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir(work))
    config = model_config(tokenizer, moe=moe)
    config.update({**shape, "vocab_size": vocab or len(tokenizer),
                   "layer_types": ["full_attention"] * shape["num_hidden_layers"]})
    torch.manual_seed(0)
    with torch.device("cuda"):  # initializing billions of weights on the GPU takes seconds, on a CPU minutes
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.generation_config = GenerationConfig(eos_token_id=[tokenizer.eos_token_id, tokenizer.pad_token_id],
                                               pad_token_id=tokenizer.pad_token_id)
    model.to("cpu").save_pretrained(out)
    tokenizer.save_pretrained(out)
    del model
    torch.cuda.empty_cache()
    return out


def sample_run(work: Path) -> Path:
    """The embedded sample corpus through every stage to the training set (CPU, a minute or two)."""
    from agentscaler.pipeline import PipelineConfig, run_pipeline

    run = work / "run"
    run_pipeline(run, None, PipelineConfig.model_validate({"tasks": {"per_domain": 8}}), until="export")
    return run


def packed_rows(tokenizer_path: Path, seq_len: int, count: int, seed: int = 0) -> list[dict]:
    """``count`` packed rows of random sequences (an eighth to a half of a row long, the first half of each
    masked as prompt), through the trainer's own packing."""
    from transformers import AutoTokenizer

    from agentscaler.train import pack

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    rng = random.Random(seed)
    sequences = []
    while sum(len(s["input_ids"]) for s in sequences) < count * seq_len * 0.9:
        length = rng.randint(seq_len // 8, seq_len // 2)
        ids = [rng.randrange(3, len(tokenizer)) for _ in range(length)]
        sequences.append({"input_ids": ids, "labels": [-100] * (length // 2) + ids[length // 2:]})
    rows, _ = pack(sequences, seq_len, pad_token_id=tokenizer.pad_token_id, seed=seed)
    return rows[:count]


# ---------------------------------------------------------------- FLOPs and MFU

def matmul_params(config) -> float:
    """Parameters a token's forward pass multiplies by (MoE: the active experts only), the output head included."""
    hidden, layers = config.hidden_size, config.num_hidden_layers
    attention = hidden * config.head_dim * (2 * config.num_attention_heads + 2 * config.num_key_value_heads)
    if getattr(config, "num_experts", None):
        mlp = config.num_experts_per_tok * 3 * hidden * config.moe_intermediate_size + hidden * config.num_experts
    else:
        mlp = 3 * hidden * config.intermediate_size
    return layers * (attention + mlp) + config.vocab_size * hidden


def train_flops_per_token(config, mean_sequence: float) -> float:
    """Model FLOPs of one trained token, forward and backward (6 per weight), with causal attention over its
    own sequence (recomputation under activation checkpointing is not counted: this is MFU, not HFU)."""
    attention = 6 * config.num_hidden_layers * config.num_attention_heads * config.head_dim * mean_sequence
    return 6 * matmul_params(config) + attention


def peak_tflops(name: str, given: float | None) -> float | None:
    return given or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name.split() or k in name), None)


# ---------------------------------------------------------------- parts

def check_vllm(args: argparse.Namespace) -> None:
    import ray

    from agentscaler.llm import make_backend

    model = random_model(args.workdir / "small", args.workdir, SMALL)
    ray.init(include_dashboard=False, log_to_driver=True)
    started = time.perf_counter()
    backend = make_backend(f"vllm:{model}", dtype="bfloat16", gpu_memory_utilization=0.5, max_model_len=4096)
    tools = [{"type": "function", "function": {
        "name": "get_order", "description": "Look up an order by its number.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}]

    async def chats():
        first = await backend.chat([{"role": "user", "content": "Where is order #W1?"}], tools, max_tokens=8)
        ready = time.perf_counter()
        replies = await asyncio.gather(*(backend.chat([{"role": "user", "content": f"Where is order #W{i}?"}],
                                                      tools, seed=i, max_tokens=args.max_tokens)
                                         for i in range(args.requests)))
        again = await backend.chat([{"role": "user", "content": "Where is order #W0?"}], tools, seed=0,
                                   max_tokens=args.max_tokens)
        return first, ready, replies, again

    first, ready, replies, again = asyncio.run(chats())
    seconds = time.perf_counter() - ready
    generated = sum(r.completion_tokens for r in replies)
    assert first.message["role"] == "assistant" and first.token_ids, f"no reply from the engine: {first}"
    assert all(r.message["role"] == "assistant" and r.token_ids is not None for r in replies), "a reply is malformed"
    emit("vllm", ok=True, engine_start_seconds=round(ready - started, 1), requests=len(replies),
         generated_tokens=generated, tokens_per_second=round(generated / seconds, 1),
         finish_reasons=sorted({r.finish_reason for r in replies}),
         # greedy, but alone versus in a batch of 64: kernels may round differently, so a figure, not a check
         repeat_identical=again.message == replies[0].message)


def check_eval(args: argparse.Namespace) -> None:
    import ray

    from agentscaler.artifacts import RunDir
    from agentscaler.evaluate import EvalConfig, evaluate
    from agentscaler.rollouts import RolloutConfig

    model = random_model(args.workdir / "small", args.workdir, SMALL)
    run = sample_run(args.workdir)
    ray.init(include_dashboard=False, ignore_reinit_error=True)
    tasks = RunDir(run).read_tasks("heldout")[: args.eval_tasks]
    report = evaluate(run, EvalConfig(agent=f"vllm:{model}", split="heldout", name="vllm",
                                      rollouts=RolloutConfig(max_turns=3, turn_tokens=128)), tasks=tasks)
    episodes = RunDir(run).read_rollouts(directory=RunDir(run).eval_rollouts("vllm"))
    generated = sum(e["completion_tokens"] for e in episodes)
    assert len(episodes) == len(tasks) and report["outcomes"].get("lost_episode", 0) == 0, report["outcomes"]
    assert {e["agent"] for e in episodes} == {f"vllm:{model}"}, {e["agent"] for e in episodes}
    emit("eval", ok=True, tasks=len(tasks), pass_rate=report["pass_rate"], outcomes=report["outcomes"],
         generated_tokens=generated, seconds=report["seconds"],
         tokens_per_second=round(generated / max(report["seconds"], 1e-9), 1))


def check_trainer(args: argparse.Namespace) -> None:
    import ray
    import torch
    from transformers import AutoModelForCausalLM

    from agentscaler.artifacts import RunDir, read_rows
    from agentscaler.train import load_preset, train_stage

    run = sample_run(args.workdir)
    base = random_model(args.workdir / "qwen3-4b-2layers", args.workdir, {**QWEN3_4B, "num_hidden_layers": 2},
                        vocab=QWEN3_VOCAB)
    preset = load_preset("qwen3-4b")
    preset = preset.model_copy(update={"workers": torch.cuda.device_count()})
    stage = preset.stages["general"].model_copy(update={"seq_len": args.seq_len, "grad_accum": 1, "epochs": 1})
    ray.init(include_dashboard=False, ignore_reinit_error=True)
    out = args.workdir / "trainer"
    started = time.perf_counter()
    weights = train_stage(read_rows(RunDir(run).export), base, out, preset, stage, stop_after_steps=args.steps)
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(steps) == args.steps and all(math.isfinite(s["loss"]) for s in steps), steps
    AutoModelForCausalLM.from_pretrained(weights)  # the checkpoint loads as a Hugging Face model
    timed = steps[1:] or steps
    emit("trainer", ok=True, workers=preset.workers, steps=len(steps), losses=[round(s["loss"], 4) for s in steps],
         tokens_per_second=round(sum(s["tokens"] for s in timed) / sum(s["seconds"] for s in timed), 1),
         seconds=round(time.perf_counter() - started, 1))


def fsdp_steps(args: argparse.Namespace, part: str, model_dir: Path, preset_name: str) -> None:
    """A few optimizer steps of the trainer's FSDP2 model (one process, one GPU): tokens/s, MFU, peak memory."""
    import torch
    import torch.distributed as dist
    from transformers import AutoConfig

    from agentscaler.train import load_preset
    from agentscaler.train.trainer import _accumulate, _load_model  # the trainer's own wrapping and step

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(s.getsockname()[1]))
    torch.cuda.set_device(0)
    dist.init_process_group("nccl", rank=0, world_size=1)
    device = torch.device("cuda", 0)
    preset = load_preset(preset_name)
    stage = preset.stages["general"]
    torch.cuda.reset_peak_memory_stats()  # building the random model is not part of the step
    model, wrapped = _load_model(model_dir, preset, device)
    optimizer = torch.optim.AdamW(wrapped.parameters(), lr=stage.lr, weight_decay=stage.weight_decay, fused=True)
    rows = packed_rows(model_dir, args.seq_len, args.steps)
    config = AutoConfig.from_pretrained(model_dir)
    times, losses, aux, tokens = [], [], [], []
    wrapped.train()
    for row in rows:
        micro = [{key: torch.as_tensor([row[key]], dtype=torch.long) for key in ("input_ids", "labels", "position_ids")}
                 | {"tokens": torch.as_tensor([row["tokens"]])}]
        torch.cuda.synchronize()
        started = time.perf_counter()
        sums = _accumulate(wrapped, micro, device, contextlib.nullcontext(), sync_each=True)
        torch.nn.utils.clip_grad_norm_(wrapped.parameters(), stage.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
        losses.append(round(sums[0].item(), 4))
        aux.append(round(sums[1].item(), 6))
        tokens.append(row["tokens"])
    assert all(math.isfinite(x) for x in losses + aux), (losses, aux)
    timed = slice(1, None) if len(rows) > 1 else slice(None)  # the first step pays for allocation and autotuning
    rate = sum(tokens[timed]) / sum(times[timed])
    sequences = [sum(1 for p in r["position_ids"] if p == 0) for r in rows]
    mean_sequence = sum(tokens) / max(sum(sequences), 1)
    name = torch.cuda.get_device_name(0)
    peak = peak_tflops(name, args.peak_tflops)
    flops = train_flops_per_token(config, mean_sequence)
    emit(part, ok=True, gpu=name, parameters=sum(p.numel() for p in model.parameters()),
         layers=config.num_hidden_layers, seq_len=args.seq_len, steps=len(rows), losses=losses,
         aux_losses=aux if part == "moe" else None, step_seconds=[round(t, 2) for t in times],
         tokens_per_second=round(rate, 1), model_tflops_per_second=round(rate * flops / 1e12, 1),
         mfu=round(rate * flops / (peak * 1e12), 4) if peak else None, peak_bf16_tflops=peak,
         peak_memory_allocated_gb=round(torch.cuda.max_memory_allocated() / 2**30, 1),
         peak_memory_reserved_gb=round(torch.cuda.max_memory_reserved() / 2**30, 1))
    dist.destroy_process_group()


def check_dense(args: argparse.Namespace) -> None:
    model = random_model(args.workdir / "qwen3-4b", args.workdir, QWEN3_4B, vocab=QWEN3_VOCAB)
    fsdp_steps(args, "dense", model, "qwen3-4b")


def check_moe(args: argparse.Namespace) -> None:
    shape = {**QWEN3_30B_A3B, "num_hidden_layers": args.moe_layers}
    model = random_model(args.workdir / f"qwen3-30b-a3b-{args.moe_layers}layers", args.workdir, shape, moe=True,
                         vocab=QWEN3_VOCAB)
    fsdp_steps(args, "moe", model, "qwen3-30b-a3b")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=PARTS)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/agentscaler-gpu-check"))
    parser.add_argument("--steps", type=int, default=4, help="Optimizer steps (dense, moe, trainer).")
    parser.add_argument("--seq-len", type=int, default=8192, help="Tokens per packed row (dense, moe, trainer).")
    parser.add_argument("--moe-layers", type=int, default=4, help="Layers of the 30B-A3B shape kept (of 48).")
    parser.add_argument("--requests", type=int, default=64, help="Concurrent chat requests (vllm).")
    parser.add_argument("--max-tokens", type=int, default=256, help="Tokens per reply (vllm).")
    parser.add_argument("--eval-tasks", type=int, default=24, help="Held-out tasks played (eval).")
    parser.add_argument("--peak-tflops", type=float, default=None, help="The GPU's dense bf16 peak, for MFU, "
                                                                         "where its name is not in the table.")
    args = parser.parse_args()
    require_gpu()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    {"vllm": check_vllm, "eval": check_eval, "trainer": check_trainer, "dense": check_dense,
     "moe": check_moe}[args.part](args)


if __name__ == "__main__":
    main()
