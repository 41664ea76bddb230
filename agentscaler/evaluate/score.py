"""Scoring one trajectory, and pass^k over repeated trials.

A trajectory passes on the same evidence the filters demand of training data, through the same
judging filters (``filters.judges``), so what counts as "solved" is defined once: it behaves as the
task's outcome asks and keeps the policy's process rules (the outcome filter: no write on a ``refuse``
task, no call on an ``irrelevant`` one, a ``clarify`` task's withheld values asked for before use),
its calls, re-executed on a fresh simulator from the task's initial state, reach the task's
``gold_hash`` (the hash the episode recorded is never trusted), and a read-only task whose answer is
its plan, whose state cannot tell right from wrong, also calls exactly the gold calls.

pass^k (tau-bench) asks for reliability, not luck: the chance that k trials of a task *all* pass,
estimated without bias from n trials with c passes as C(c, k) / C(n, k), averaged over tasks. Its
confidence interval comes from resampling the tasks (a percentile bootstrap): the tasks are the sample a
benchmark draws, and with a few dozen of them that is where most of the uncertainty lies.
"""

from __future__ import annotations

import os
import random
from math import comb

from agentscaler.artifacts import RunDir
from agentscaler.filters import judges


def judge(run: str | os.PathLike | RunDir, row: dict) -> str | None:
    """None when the rollout row passes its task; otherwise the reason (a ``failures.Failure`` as text,
    ``"<code>: <detail>"``). The calls are replayed as the filters replay them (``DomainSimulator.replay``)."""
    for stage in judges(run):
        verdict = stage.check(row)
        if verdict.reason:
            return verdict.reason
        row = {**row, **verdict.columns}
    return None


def pass_hat_k(trials: list[tuple[int, int]], k: int) -> float:
    """Mean over tasks of C(c, k) / C(n, k), for (n trials, c passes) per task; every n must be >= k."""
    if not trials:
        return 0.0
    if any(n < k for n, _ in trials):
        raise ValueError(f"pass^{k} needs at least {k} trials of every task")
    return sum(comb(c, k) / comb(n, k) for n, c in trials) / len(trials)


def pass_hat_k_interval(trials: list[tuple[int, int]], k: int, confidence: float = 0.95, resamples: int = 2000,
                        seed: int = 0) -> tuple[float, float]:
    """A ``confidence`` interval of ``pass_hat_k``: percentiles of it over ``resamples`` draws of the tasks
    with replacement (seeded: the same trials give the same interval)."""
    pass_hat_k(trials, k)  # the same checks
    if not trials:
        return 0.0, 0.0
    per_task = [comb(c, k) / comb(n, k) for n, c in trials]
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(per_task, k=len(per_task))) / len(per_task) for _ in range(resamples))
    tail = (1 - confidence) / 2
    return means[int(tail * (resamples - 1))], means[int(round((1 - tail) * (resamples - 1)))]
