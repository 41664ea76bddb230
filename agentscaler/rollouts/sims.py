"""Many concurrent episodes, one simulator pool: each episode awaits its own tool call, and the calls
that pile up while one batch is on the actors go out together as the next batch.

Episodes spend most of their time waiting on a model, so their tool calls arrive one by one; sent
one by one, each would pay a remote call. The batcher keeps at most one batch per kind in flight
and coalesces everything that arrives meanwhile, so batches grow with load and the event loop never
blocks on the actors (``SimulatorPool.step_async``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Hashable

from agentscaler.sim.hosting import EpisodesLost, SimulatorPool, StepResult


class EpisodeBatcher:
    def __init__(self, pool: SimulatorPool):
        self.pool = pool
        self._queue: list[tuple[Hashable, Any, asyncio.Future]] = []
        self._flushing: asyncio.Task | None = None
        self.batches = 0
        self.calls = 0

    async def start(self, episode_id: Hashable, domain_id: int, state: int) -> str:
        """Start an episode; returns its initial hash. (Starts are rare next to steps: not batched.)"""
        return (await self.pool.start_async([(episode_id, domain_id, state)]))[0]

    def close(self, episode_id: Hashable) -> None:
        self.pool.close([episode_id])

    async def step(self, episode_id: Hashable, call: Any) -> StepResult:
        """Run one call of one episode; calls of one episode run in the order they were awaited."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append((episode_id, call, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            self.batches += 1
            self.calls += len(batch)
            try:
                results = await self.pool.step_async([(eid, call) for eid, call, _ in batch])
            except EpisodesLost as e:
                lost = set(e.episode_ids)
                for (eid, _, future), result in zip(batch, e.results or [None] * len(batch)):
                    if eid in lost or result is None:
                        future.set_exception(EpisodesLost([eid]))
                    else:
                        future.set_result(result)
                continue
            except Exception as e:  # noqa: BLE001 - handed to every waiting episode, which retries
                for _, _, future in batch:
                    future.set_exception(e)
                continue
            for (_, _, future), result in zip(batch, results):
                future.set_result(result)
