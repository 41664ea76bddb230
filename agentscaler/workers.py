"""Per-domain jobs in a process pool: the stages whose domains are independent and CPU-bound
(environments, tasks) fan out the same way, with results back in job order."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Sequence


def map_jobs(function: Callable[..., Any], jobs: Sequence[tuple], workers: int | None = None,
             description: str | None = None) -> list[Any]:
    """``[function(*job) for job in jobs]``, over ``workers`` processes (default: one per CPU); with a
    ``description``, a progress bar counts jobs as they finish."""
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(jobs) < 2:
        return [function(*job) for job in jobs]
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(function, *job) for job in jobs]
        done = as_completed(futures)
        if description:
            from rich.progress import track

            done = track(done, total=len(futures), description=description)
        for _ in done:
            pass
        return [f.result() for f in futures]
