"""Per-domain jobs as Ray tasks: the stages whose domains are independent and CPU-bound (environments,
tasks) fan out over every node of the cluster the same way, with results back in job order and the node
each job ran on (a stage's summary records them, ``nodes``)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, NamedTuple, Sequence

from agentscaler.console import init_ray, on_terminal


class Mapped(NamedTuple):
    results: list[Any]  # in job order
    nodes: list[str]  # per job, the Ray node id it ran on ("" when it ran in this process without Ray)


def current_node() -> str:
    """This process's Ray node id, or "" when it is no Ray driver or worker."""
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""


def node_ids(nodes: Sequence[str]) -> list[str]:
    """The distinct Ray node ids among ``nodes``, sorted: what a summary records."""
    return sorted(set(nodes) - {""})


def _on_a_node(function: Callable[..., Any], job: tuple) -> tuple[Any, str]:
    return function(*job), current_node()


def map_jobs(function: Callable[..., Any], jobs: Sequence[tuple], workers: int | None = None,
             description: str | None = None) -> Mapped:
    """``[function(*job) for job in jobs]`` as Ray tasks of one CPU each, spread over the cluster's nodes (a
    local Ray is started when none runs), at most ``workers`` at once (default: as many as the cluster's CPUs
    take); ``workers=1`` runs them here, in order, without Ray. With a ``description``, a progress line on a
    terminal counts jobs as they finish."""
    if workers == 1:
        return Mapped([function(*job) for job in jobs], [current_node()] * len(jobs))
    import ray

    init_ray()
    remote = ray.remote(_on_a_node).options(num_cpus=1, scheduling_strategy="SPREAD")
    refs, running = [], []
    with progress_line(description, len(jobs)) as advance:
        for job in jobs:
            if workers and len(running) >= workers:
                done, running = ray.wait(running, num_returns=1)
                advance(len(done))
            refs.append(remote.remote(function, job))
            running.append(refs[-1])
        while running:
            done, running = ray.wait(running, num_returns=1)
            advance(len(done))
    pairs = ray.get(refs)
    return Mapped([result for result, _ in pairs], [node for _, node in pairs])


@contextmanager
def progress_line(description: str | None, total: int) -> Iterator[Callable[[int], None]]:
    """``advance(n)``: one rich progress line on a terminal; nothing when piped or without a description."""
    if not description or not on_terminal():
        yield lambda n: None
        return
    from rich.progress import Progress

    with Progress() as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
