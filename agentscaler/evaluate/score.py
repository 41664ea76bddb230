"""Scoring one trajectory, and pass^k over repeated trials.

A trajectory passes on the same evidence the filters demand of training data, through the same
judging filters (``filters.judges``), so what counts as "solved" is defined once: it behaves as the
task's outcome asks and keeps the policy's process rules (the outcome filter: no write on a ``refuse``
task, no call on an ``irrelevant`` one, a ``clarify`` task's withheld values asked for before use),
its calls, re-executed on a fresh simulator from the task's initial state, reach the task's
``gold_hash`` (the hash the episode recorded is never trusted), and a read-only task whose answer is
its plan, whose state cannot tell right from wrong, also calls exactly the gold calls.

pass^k (tau-bench) asks for reliability, not luck: the chance that k trials of a task *all* pass,
estimated without bias from n trials with c passes as C(c, k) / C(n, k), averaged over tasks.
"""

from __future__ import annotations

import os
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
