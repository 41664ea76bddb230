"""Careless calls against every simulator of a run: how many raise out of ``DomainSimulator.step``.

A careless agent names the right tool and the right arguments but passes extreme values: integers
past 64 bits, infinities and NaN, lone surrogates, NUL bytes, huge strings, deep nesting, objects
whose keys are not strings. Each call starts from arguments the environment build would send (so
it reaches the SQL, not only the validation) and replaces some of them with such values, chosen
to match the parameter's JSON type more often than not. The target is 0 raised; every refused call
must also leave the state hash where it was, and every observation must be strict JSON.

    python benchmarks/bench_fuzz_calls.py [--run DIR] [--calls-per-tool 15] [--seed 0]

Without ``--run`` the embedded sample corpus goes through every stage into a temporary run
directory first (about a minute: the embedding dominates).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agentscaler.artifacts import RunDir
from agentscaler.envs import DomainSimulator, load_env
from agentscaler.envs.synth import sample_arguments


def _nested(depth: int, leaf: Any) -> list:
    value: Any = leaf
    for _ in range(depth):
        value = [value]
    return value


INTEGERS = [0, -1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, -(10**100), 2**1000]
FLOATS = [math.inf, -math.inf, math.nan, 1e308, -1e308, 5e-324, -0.0, 0.5, 1e300]
STRINGS = ["", "\x00", "a\x00b", "\ud800", "x\udfffy", "\U0001f642", "' OR 1=1 --", "%", "_", "x" * 100_000,
           "NaN", "1e999", "-1", "9" * 5000, "[/red]"]
ARRAYS = [[], [math.inf], [2**70], ["\ud800"], _nested(50, 1), _nested(5000, 1), [None, True, {"a": []}]]
OBJECTS = [{}, {"a": math.nan}, {1: "x", "b": 2}, {"\ud800": 1}, {"k": _nested(3000, "v")}, {"": None}]
BY_TYPE = {"integer": INTEGERS + [f for f in FLOATS if not math.isfinite(f) or f.is_integer()],
           "number": INTEGERS + FLOATS, "string": STRINGS, "boolean": [True, False, 0, 1, "true"],
           "array": ARRAYS, "object": OBJECTS}
ANY = INTEGERS + FLOATS + STRINGS + ARRAYS + OBJECTS + [None, True, False]


def careless(tool, table, state, rng: random.Random) -> dict:
    """A plausible call to ``tool`` with at least one argument swapped for an extreme value."""
    bindings = tool.operation.bindings
    args = sample_arguments(bindings, table, state, rng.randrange(1000), rng)
    swapped = [b for b in bindings if rng.random() < 0.35] or [rng.choice(bindings)]
    for b in swapped:
        pool = BY_TYPE.get(b.json_type, ANY) if rng.random() < 0.6 else ANY
        args[b.param] = rng.choice(pool)
    return args


def _strict(text: str) -> bool:
    """Whether ``text`` is JSON by the standard: Python writes NaN and Infinity, which it is not."""
    def refuse(constant: str) -> None:
        raise ValueError(constant)

    try:
        json.loads(text, parse_constant=refuse)
        return True
    except ValueError:
        return False


def fire(run: RunDir, calls_per_tool: int, seed: int) -> dict[str, Any]:
    """Fire the calls at every domain's simulator; count what happened."""
    outcome: Counter[str] = Counter()
    raised: Counter[str] = Counter()
    examples: dict[str, str] = {}
    problems: Counter[str] = Counter()
    for path in sorted((run.envs / "domains").glob("*.json"), key=lambda p: int(p.stem)):
        spec = load_env(run, int(path.stem))
        if not spec.states:
            continue
        sim = DomainSimulator(spec)
        for tool in spec.tools:
            if not tool.executable or not tool.operation.bindings:
                continue
            rng = random.Random(f"{seed}/{spec.domain_id}/{tool.name}")
            table = spec.table(tool.table)
            for _ in range(calls_per_tool):
                sim.reset(0)
                before = sim.state_hash()
                args = careless(tool, table, spec.states[0], rng)
                try:
                    obs = sim.step({"name": tool.name, "arguments": args})
                except Exception as e:  # what this benchmark counts: any exception is a failure
                    outcome["raised"] += 1
                    raised[type(e).__name__] += 1
                    examples.setdefault(type(e).__name__, f"{tool.name}: {str(e)[:120]}")
                    continue
                outcome["error" if obs.error else "ok"] += 1
                if not _strict(obs.observation):
                    problems["observation not strict JSON"] += 1
                if obs.error and sim.state_hash() != before:
                    problems["refused call changed the state hash"] += 1
                if not obs.error and sim.state_hash() != sim.recompute_hash():
                    problems["incremental hash != recomputed hash"] += 1
    return {"calls": sum(outcome.values()), **outcome, "raised_by_type": dict(raised.most_common()),
            "examples": examples, "problems": dict(problems)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="run directory with envs/ built (default: build the sample)")
    parser.add_argument("--calls-per-tool", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.run is None:
        from agentscaler.pipeline import run_pipeline

        args.run = Path(tempfile.mkdtemp(prefix="fuzz_run_"))
        started = time.perf_counter()
        run_pipeline(args.run)
        print(f"built the embedded sample's environments in {time.perf_counter() - started:.0f} s: {args.run}")
    started = time.perf_counter()
    report = fire(RunDir(args.run), args.calls_per_tool, args.seed)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2, ensure_ascii=True))
    print(f"raised: {report.get('raised', 0)} of {report['calls']} calls (target 0)")


if __name__ == "__main__":
    main()
