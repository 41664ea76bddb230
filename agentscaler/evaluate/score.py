"""Scoring one trajectory, and pass^k over repeated trials.

A trajectory passes on the same evidence the filters demand of training data, so what counts as
"solved" is defined once: its calls, re-executed on a fresh simulator from the task's initial state,
reach the task's ``gold_hash`` (the hash the episode recorded is never trusted), and a read-only
task, whose state cannot tell right from wrong, also calls exactly the gold calls.

pass^k (tau-bench) asks for reliability, not luck: the chance that k trials of a task *all* pass,
estimated without bias from n trials with c passes as C(c, k) / C(n, k), averaged over tasks.
"""

from __future__ import annotations

import os
from math import comb

from agentscaler.artifacts import RunDir
from agentscaler.filters import ExactMatch, StateAlignment


def judge(run: str | os.PathLike | RunDir, row: dict) -> str | None:
    """None when the rollout row passes its task; otherwise the reason (a ``failures.Failure`` as text,
    ``"<code>: <detail>"``). The calls are replayed as the filters replay them (``DomainSimulator.replay``)."""
    aligned = StateAlignment(run).check(row)
    if aligned.reason:
        return aligned.reason
    return ExactMatch(run).check({**row, **aligned.columns}).reason


def pass_hat_k(trials: list[tuple[int, int]], k: int) -> float:
    """Mean over tasks of C(c, k) / C(n, k), for (n trials, c passes) per task; every n must be >= k."""
    if not trials:
        return 0.0
    if any(n < k for n, _ in trials):
        raise ValueError(f"pass^{k} needs at least {k} trials of every task")
    return sum(comb(c, k) / comb(n, k) for n, c in trials) / len(trials)
