"""Tokens/s of the transformers backend: episodes one after another vs many in flight, micro-batched.

    python benchmarks/bench_llm.py [--model DIR] [--moe] [--episodes 1,4,8,16] [--turns 2] [--max-tokens 64]
        [--max-batch 16] [--device cpu]

Without ``--model`` a tiny random-weight Qwen3 is built into ``--workdir`` (reruns reuse it). An
episode is ``--turns`` chat calls in sequence (each turn appends the previous reply), with the
weather tool in the prompt, sampled at temperature 1 with the episode's seed. For each episode
count N the same N episodes run twice: one by one (every generate run has batch 1), then all N as
concurrent asyncio tasks, which the backend batches into shared left-padded generate runs.
Completion tokens are identical in both modes (per-row seeded sampling), so tokens/s compare.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from agentscaler.llm.tiny import build_tiny_model
from agentscaler.llm.transformers_backend import TransformersBackend

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


async def episode(backend: TransformersBackend, index: int, turns: int, max_tokens: int) -> int:
    """One conversation of ``turns`` calls; returns the completion tokens it generated."""
    messages = [{"role": "system", "content": "You answer weather questions with the tool."},
                {"role": "user", "content": f"What is the weather in city number {index}?"}]
    tokens = 0
    for turn in range(turns):
        reply = await backend.chat(messages, TOOLS, seed=index * 100 + turn, max_tokens=max_tokens, temperature=1.0)
        tokens += reply.completion_tokens
        messages += [{"role": "assistant", "content": reply.message["content"] or ""},
                     {"role": "user", "content": "And tomorrow?"}]
    return tokens


async def one_by_one(backend: TransformersBackend, episodes: int, turns: int, max_tokens: int) -> int:
    return sum([await episode(backend, i, turns, max_tokens) for i in range(episodes)])


async def concurrent(backend: TransformersBackend, episodes: int, turns: int, max_tokens: int) -> int:
    return sum(await asyncio.gather(*(episode(backend, i, turns, max_tokens) for i in range(episodes))))


def measure(backend: TransformersBackend, runner, episodes: int, turns: int, max_tokens: int) -> dict:
    runs_before = len(backend.batch_sizes)
    start = time.perf_counter()
    tokens = asyncio.run(runner(backend, episodes, turns, max_tokens))
    wall = time.perf_counter() - start
    batches = backend.batch_sizes[runs_before:]
    return {"tokens": tokens, "wall": wall, "tok_s": tokens / wall, "mean_batch": sum(batches) / len(batches)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="Local model directory (default: a tiny Qwen3 built here).")
    parser.add_argument("--moe", action="store_true", help="Build the tiny Qwen3-MoE instead of the dense one.")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/agentscaler-bench-llm"))
    parser.add_argument("--episodes", default="1,4,8,16", help="Comma-separated episode counts.")
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    model = args.model
    if model is None:
        model = args.workdir / ("tiny-qwen3-moe" if args.moe else "tiny-qwen3")
        if not (model / "config.json").exists():
            build_tiny_model(model, moe=args.moe)
    backend = TransformersBackend(model, device=args.device, max_batch=args.max_batch)
    measure(backend, concurrent, 2, 1, 8)  # warm-up: first generate runs pay for lazy initialisation

    print(f"model {model} on {args.device}, {args.turns} turns an episode, max_tokens {args.max_tokens}, "
          f"max_batch {args.max_batch}", flush=True)
    print(f"{'episodes':>8} {'mode':<14} {'tokens':>7} {'wall s':>8} {'tokens/s':>9} {'mean batch':>10} "
          f"{'speed-up':>8}")
    for episodes in (int(n) for n in args.episodes.split(",")):
        serial = measure(backend, one_by_one, episodes, args.turns, args.max_tokens)
        batched = measure(backend, concurrent, episodes, args.turns, args.max_tokens)
        assert serial["tokens"] == batched["tokens"], "batching changed the generations"
        for mode, row in (("one by one", serial), ("micro-batched", batched)):
            print(f"{episodes:>8} {mode:<14} {row['tokens']:>7} {row['wall']:>8.2f} {row['tok_s']:>9.0f} "
                  f"{row['mean_batch']:>10.1f} {row['tok_s'] / serial['tok_s']:>7.1f}x", flush=True)
    backend.close()


if __name__ == "__main__":
    main()
