"""Many concurrent episodes, one simulator pool: each episode awaits its own start, tool call or close,
and what piles up while one batch is on the actors goes out together as the next batch.

Episodes spend most of their time waiting on a model, so their requests arrive one by one; sent one
by one, each would pay a remote call. The batcher keeps at most one batch per kind of request in
flight and coalesces everything that arrives meanwhile, so batches grow with load and the event loop
never blocks on the actors (the pool's ``*_async`` methods).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Hashable

from agentscaler.sim import EpisodesLost, SimulatorPool, StepResult


class _Coalescer:
    """Items in, one ``send(items)`` per batch, each item's answer (or its episode's loss) back out."""

    def __init__(self, send: Callable[[list], Awaitable[list | None]], episode_of: Callable[[Any], Hashable]):
        self.send, self.episode_of = send, episode_of
        self.queue: list[tuple[Any, asyncio.Future]] = []
        self.flushing: asyncio.Task | None = None
        self.batches = self.items = 0

    async def __call__(self, item: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self.queue.append((item, future))
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self.queue:
            batch, self.queue = self.queue, []
            self.batches += 1
            self.items += len(batch)
            try:
                answers = await self.send([item for item, _ in batch]) or [None] * len(batch)
            except EpisodesLost as e:
                lost = set(e.episode_ids)
                for (item, future), answer in zip(batch, e.results or [None] * len(batch)):
                    if self.episode_of(item) in lost or answer is None:
                        future.set_exception(EpisodesLost([self.episode_of(item)]))
                    else:
                        future.set_result(answer)
                continue
            except Exception as e:  # noqa: BLE001 - handed to every waiting episode, which retries
                for _, future in batch:
                    future.set_exception(e)
                continue
            for (_, future), answer in zip(batch, answers):
                future.set_result(answer)


class EpisodeBatcher:
    def __init__(self, pool: SimulatorPool):
        self.pool = pool
        self._start = _Coalescer(pool.start_async, lambda e: e[0])
        self._step = _Coalescer(pool.step_async, lambda c: c[0])
        self._close = _Coalescer(pool.close_async, lambda eid: eid)

    @property
    def batches(self) -> int:
        return self._step.batches

    @property
    def calls(self) -> int:
        return self._step.items

    async def start(self, episode_id: Hashable, domain_id: int, state: int) -> str:
        """Start an episode; returns its initial state hash."""
        return await self._start((episode_id, domain_id, state))

    async def step(self, episode_id: Hashable, call: Any) -> StepResult:
        """Run one call of one episode; calls of one episode run in the order they were awaited."""
        return await self._step((episode_id, call))

    async def close(self, episode_id: Hashable) -> None:
        await self._close(episode_id)
