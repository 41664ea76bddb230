"""Training throughput: the tiny Qwen3 on Ray Train (CPU), or one Qwen3-shaped model on one GPU.

CPU mode (default) runs the real stage: synthetic tool-use trajectories of varied length are
rendered with the tiny model's chat template, packed, and trained by ``train_stage`` with the
``tiny`` preset (2 workers, gloo). It prints tokens/s over the timed steps (the first is warm-up)
and the padding waste of the packing.

GPU mode (``--model-shape qwen3-4b --random-weights``) needs no Ray and no checkpoint: a model of
Qwen3-4B's shape with random bf16 weights trains a few steps on random tokens (seq 4096, gradient
checkpointing, fused AdamW, sdpa), and it prints tokens/s, MFU = 6·N·tokens/s / peak, and peak
GPU memory. Weights and AdamW state are bf16 (8 bytes a parameter, so a 4B model fits one 80 GB
GPU); a real run keeps fp32 master weights sharded by FSDP2 across 8 GPUs, at the same FLOPs a token.

    python benchmarks/bench_train.py [--sequences 96] [--epochs 1]
    python benchmarks/bench_train.py --model-shape qwen3-4b --random-weights [--steps 8] [--seq-len 4096]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch

SHAPES = {
    # Qwen3-4B / 8B config.json values
    "qwen3-4b": dict(hidden_size=2560, intermediate_size=9728, num_hidden_layers=36, num_attention_heads=32,
                     num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=True),
    "qwen3-8b": dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36, num_attention_heads=32,
                     num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=False),
}
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # dense bf16 tensor-core FLOP/s


def synthetic_rows(count: int, seed: int = 0) -> list[dict]:
    """Exported-format rows: a user asks about 1-6 orders, the agent looks each up, then answers."""
    rng = random.Random(seed)
    tools = [{"type": "function", "function": {
        "name": "get_order", "description": "Look up an order by id.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}]
    rows = []
    for index in range(count):
        orders = [f"A{rng.randrange(10_000)}" for _ in range(rng.randint(1, 6))]
        messages = [{"role": "system", "content": "You are a shop assistant."},
                    {"role": "user", "content": f"Where are my orders {', '.join(orders)}?"}]
        for number, order in enumerate(orders):
            call_id = f"c{number}"
            messages.append({"role": "assistant", "content": "", "tool_calls": [{
                "id": call_id, "type": "function",
                "function": {"name": "get_order", "arguments": json.dumps({"order_id": order})}}]})
            messages.append({"role": "tool", "tool_call_id": call_id, "name": "get_order",
                             "content": json.dumps({"order_id": order, "status": rng.choice(["shipped", "late"])})})
        messages.append({"role": "assistant", "content": "All orders are accounted for."})
        rows.append({"rollout_id": f"b{index}", "split": "general", "messages": json.dumps(messages),
                     "tools": json.dumps(tools)})
    return rows


def packing_waste(model: Path, sequences: int) -> dict:
    """Padding waste of packing alone (no training) on more sequences, at two row lengths."""
    from transformers import AutoTokenizer

    from agentscaler.train import pack, tokenize_rows

    tokenized = list(tokenize_rows(synthetic_rows(sequences, seed=1), AutoTokenizer.from_pretrained(model)))
    return {f"seq_len_{seq_len}": round(pack(tokenized, seq_len)[1].padding_waste, 4) for seq_len in (2048, 4096)}


def bench_cpu(args) -> None:
    import ray

    from agentscaler.llm.tiny import build_tiny_model
    from agentscaler.train import load_preset, train_stage

    ray.init(num_cpus=2, include_dashboard=False)
    with tempfile.TemporaryDirectory() as work:
        model = build_tiny_model(Path(work) / "tiny")
        preset = load_preset("tiny")
        stage = preset.stages["general"].model_copy(update={"epochs": args.epochs})
        started = time.perf_counter()
        train_stage(synthetic_rows(args.sequences), model, Path(work) / "run", preset, stage)
        wall = time.perf_counter() - started
        steps = [json.loads(line) for line in (Path(work) / "run" / "metrics.jsonl").read_text().splitlines()]
        packing = json.loads((Path(work) / "run" / "packing.json").read_text())
        larger = packing_waste(model, args.pack_sequences)
    timed = steps[1:] or steps
    tokens, seconds = sum(s["tokens"] for s in timed), sum(s["seconds"] for s in timed)
    print(json.dumps({"mode": "cpu, tiny Qwen3, 2 Ray Train workers (gloo)", "steps": len(steps),
                      "tokens_per_s": round(tokens / seconds, 1), "seconds_per_step": round(seconds / len(timed), 3),
                      "padding_waste": round(packing["padding_waste"], 4), "packed_rows": packing["rows"],
                      "sequences": packing["sequences"], "wall_s_with_ray_start": round(wall, 1),
                      "loss_first_last": [round(steps[0]["loss"], 3), round(steps[-1]["loss"], 3)],
                      f"padding_waste_packing_only_{args.pack_sequences}_sequences": larger}, indent=2))


def bench_gpu(args) -> None:
    from transformers import AutoModelForCausalLM, Qwen3Config

    device = torch.device("cuda")
    config = Qwen3Config(**SHAPES[args.model_shape], max_position_embeddings=max(args.seq_len, 4096))
    torch.manual_seed(0)
    with device:
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
    model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    model.train()
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    tokens = args.micro_batch * args.seq_len
    times = []
    for step in range(args.steps):
        ids = torch.randint(0, config.vocab_size, (args.micro_batch, args.seq_len), device=device)
        torch.cuda.synchronize()
        started = time.perf_counter()
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    timed = times[args.warmup:]
    rate = tokens * len(timed) / sum(timed)
    name = torch.cuda.get_device_name()
    peak = args.peak_flops or next((v for k, v in PEAK_BF16.items() if k in name), None)
    print(json.dumps({"mode": f"gpu, {args.model_shape} shape, random bf16 weights", "device": name,
                      "parameters": parameters, "seq_len": args.seq_len, "micro_batch": args.micro_batch,
                      "timed_steps": len(timed), "tokens_per_s": round(rate, 1),
                      "mfu": round(6 * parameters * rate / peak, 4) if peak else None,
                      "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=96, help="CPU: synthetic trajectories to train on.")
    parser.add_argument("--epochs", type=int, default=1, help="CPU: passes over them.")
    parser.add_argument("--pack-sequences", type=int, default=1024, help="CPU: sequences for the packing-only figure.")
    parser.add_argument("--model-shape", choices=sorted(SHAPES), help="GPU mode: the model shape to build.")
    parser.add_argument("--random-weights", action="store_true",
                        help="GPU mode: random weights (required with --model-shape).")
    parser.add_argument("--steps", type=int, default=8, help="GPU: optimizer steps.")
    parser.add_argument("--warmup", type=int, default=3, help="GPU: untimed first steps.")
    parser.add_argument("--seq-len", type=int, default=4096, help="GPU: tokens a sequence.")
    parser.add_argument("--micro-batch", type=int, default=1, help="GPU: sequences a step.")
    parser.add_argument("--peak-flops", type=float, help="GPU: peak bf16 FLOP/s (default: from the device name).")
    args = parser.parse_args()
    if args.model_shape:
        if not args.random_weights:
            parser.error("--model-shape trains random weights: pass --random-weights")
        bench_gpu(args)
    else:
        bench_cpu(args)


if __name__ == "__main__":
    main()
