"""Simulators on Ray: a pool of actors, each an ``EpisodeHost``, driven in batches and routed by domain.

Why batches: a remote call costs far more than a tool call, so every method takes many episodes at
once and sends one remote call per actor, then puts the answers back in input order. Why route by
domain (a stable hash of its id): a domain's spec is then loaded by one actor only, and all its
episodes share that actor's working simulator.

Actors spread over the cluster's nodes (``SPREAD``); ``nodes()`` says which ones they ran on. An actor that
dies (alone, or with its node) takes its episodes with it. The pool replaces it at once (a fresh actor for
the same domains, on a node that is alive; specs reload lazily; when the cluster has no CPU left for it, as
after losing a node, it shares a surviving node's CPUs rather than wait for a node that may never come)
and every call naming one of the lost episodes raises
``EpisodesLost`` with their ids, so that the rollout stage restarts exactly those. Episodes on other
actors go on as if nothing happened; the calls they were sent in the same batch have run, and their
results ride on the exception.

    pool = SimulatorPool(run_dir)
    pool.start([("ep-1", 7, 0), ("ep-2", 12, 1)])             # (episode id, domain id, state index)
    pool.step([("ep-1", {"name": "get_user", "arguments": {"user_id": "user_1"}}), ...])
    pool.close(["ep-1", "ep-2"])
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any, Hashable, Iterable, Sequence

import ray
from ray.exceptions import RayActorError

from agentscaler.sim.hosting_host import EpisodeHost

_Host = ray.remote(EpisodeHost)


@dataclass(frozen=True, slots=True)
class StepResult:
    observation: str  # JSON text: the result, or {"error": message}
    error: bool
    state_hash: str  # after the call


class EpisodesLost(RuntimeError):
    """Episodes whose simulator actor died: start them again. ``results`` holds, in input order, what
    the call returned for the episodes that were not lost (None for the lost ones)."""

    def __init__(self, episode_ids: Iterable[Hashable], results: list | None = None):
        self.episode_ids = sorted(episode_ids, key=str)
        self.results = results
        shown = ", ".join(map(repr, self.episode_ids[:20])) + (" ..." if len(self.episode_ids) > 20 else "")
        super().__init__(f"{len(self.episode_ids)} episode(s) lost with their simulator actor: {shown}")


def domain_slot(domain_id: int, slots: int) -> int:
    """The actor a domain lives on: a stable hash, the same in every process and run."""
    return int.from_bytes(blake2b(str(domain_id).encode(), digest_size=8).digest(), "big") % slots


class SimulatorPool:
    """Actors hosting the domain simulators of the run dir's ``envs/`` and the episodes played on them."""

    def __init__(self, run_dir: str | os.PathLike, num_actors: int | None = None, actor_cpus: float = 1.0):
        self.run_dir = str(Path(run_dir).resolve())  # actors may run elsewhere: they get the path, not the specs
        self._cpus = actor_cpus
        n = num_actors or max(int(ray.cluster_resources().get("CPU", 1) // actor_cpus), 1)
        self._placed: list[ray.ObjectRef] = []  # each actor's node id, asked when it is made
        self._actors = [self._spawn(slot, actor_cpus) for slot in range(n)]
        self._episodes: dict[Hashable, int] = {}  # episode id -> actor slot
        self._lost: set[Hashable] = set()
        self.replaced = 0  # actors that died and were replaced

    def _spawn(self, slot: int, cpus: float):
        actor = _Host.options(num_cpus=cpus, max_restarts=0, scheduling_strategy="SPREAD").remote(
            self.run_dir, f"sim-host-{slot}", True)
        self._placed.append(actor.node.remote())
        return actor

    @property
    def num_actors(self) -> int:
        return len(self._actors)

    def actor_for(self, domain_id: int):
        """The actor handle hosting a domain."""
        return self._actors[domain_slot(domain_id, len(self._actors))]

    # --- episodes ------------------------------------------------------------------------------
    def start(self, episodes: Sequence[tuple[Hashable, int, int]]) -> list[str]:
        """Start (episode id, domain id, state index) episodes; returns their initial state hashes."""
        episodes, slots, handles = self._before_start(episodes)
        return self._after_start(episodes, slots, handles, *self._fan("start", episodes, slots))

    async def start_async(self, episodes: Sequence[tuple[Hashable, int, int]]) -> list[str]:
        """``start`` that awaits the actors instead of blocking."""
        episodes, slots, handles = self._before_start(episodes)
        return self._after_start(episodes, slots, handles, *await self._fan_async("start", episodes, slots))

    def _before_start(self, episodes: Sequence[tuple[Hashable, int, int]]) -> tuple[list, list[int], list]:
        episodes = [(eid, int(domain), int(state)) for eid, domain, state in episodes]
        ids = [eid for eid, _, _ in episodes]
        taken = [eid for eid, n in Counter(ids).items() if n > 1 or eid in self._episodes]
        if taken:
            raise ValueError(f"episode ids already running or repeated: {taken[:20]}")
        self._lost.difference_update(ids)  # a lost episode may start again under its id
        slots = [domain_slot(domain, len(self._actors)) for _, domain, _ in episodes]
        return episodes, slots, [self._actors[slot] for slot in slots]

    def _after_start(self, episodes: list, slots: list[int], handles: list, hashes: list, lost: set,
                     failure: Exception | None) -> list[str]:
        # an actor replaced while the start was in flight (another call saw it die) took the episode with it
        hashes = [h if self._actors[slot] is handle else None for h, slot, handle in zip(hashes, slots, handles)]
        ids = [eid for eid, _, _ in episodes]
        started = {eid: slot for eid, slot, h in zip(ids, slots, hashes) if h is not None}
        self._episodes.update(started)
        if failure is not None:
            self.close(started)
            raise failure
        never_started = {eid for eid, h in zip(ids, hashes) if h is None}
        if lost or never_started:
            self._lost |= never_started
            raise EpisodesLost(lost | never_started, hashes)
        return hashes

    def step(self, calls: Sequence[tuple[Hashable, Any]]) -> list[StepResult]:
        """Run (episode id, tool call) pairs; calls to one episode run in the order given.

        Returns one ``StepResult`` per call, in input order; a malformed call gets an error
        observation. Raises ``EpisodesLost`` if any named episode's actor died.
        """
        return self._episode_call("step", calls, [eid for eid, _ in calls], lambda a: StepResult(*a))

    def state_hashes(self, episode_ids: Sequence[Hashable]) -> list[str]:
        return self._episode_call("state_hashes", list(episode_ids), episode_ids)

    def close(self, episode_ids: Iterable[Hashable]) -> None:
        """End episodes; closing a lost or already closed episode is not an error."""
        ids, slots = self._before_close(episode_ids)
        self._fan("close", ids, slots)  # a dead actor's other episodes are recorded as lost, raised when used

    async def close_async(self, episode_ids: Iterable[Hashable]) -> None:
        await self._fan_async("close", *self._before_close(episode_ids))

    def _before_close(self, episode_ids: Iterable[Hashable]) -> tuple[list, list[int | None]]:
        ids = list(episode_ids)
        self._lost.difference_update(ids)
        return ids, [self._episodes.pop(eid, None) for eid in ids]

    async def step_async(self, calls: Sequence[tuple[Hashable, Any]]) -> list[StepResult]:
        """``step`` that awaits the actors instead of blocking: the caller's other coroutines (episodes
        waiting on a model) run while the tool calls do."""
        ids = [eid for eid, _ in calls]
        slots = self._slots_of(ids)
        return self._finish(ids, *await self._fan_async("step", list(calls), slots), wrap=lambda a: StepResult(*a))

    def _episode_call(self, method: str, items: list, ids: Sequence[Hashable], wrap=lambda a: a) -> list:
        return self._finish(ids, *self._fan(method, items, self._slots_of(ids)), wrap=wrap)

    def _slots_of(self, ids: Sequence[Hashable]) -> list[int | None]:
        slots = [self._episodes.get(eid) for eid in ids]
        unknown = [eid for eid, slot in zip(ids, slots) if slot is None and eid not in self._lost]
        if unknown:
            raise KeyError(f"episodes never started or already closed: {unknown[:20]}")
        return slots

    def _finish(self, ids: Sequence[Hashable], answers: list, lost: set, failure: Exception | None, wrap) -> list:
        if failure is not None:
            raise failure
        lost |= self._lost.intersection(ids)
        if lost:
            raise EpisodesLost(lost, [None if a is None else wrap(a) for a in answers])
        return [wrap(a) for a in answers]

    # --- fan-out -------------------------------------------------------------------------------
    def _fan(self, method: str, items: list, slots: list[int | None]) -> tuple[list, set, Exception | None]:
        """One remote call per actor with its items (slot None: skipped); answers back in input order.

        Answers are taken as actors finish, in any order. Returns (answers, episodes lost because an
        actor died, which is then replaced; the first other error, raised by the caller).
        """
        pending, positions = self._submit(method, items, slots)
        answers: list = [None] * len(items)
        lost: set[Hashable] = set()
        failure = None
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            slot, handle = pending.pop(ref)
            try:
                answer = ray.get(ref)
            except Exception as e:  # noqa: BLE001 - sorted out by _take, like the async path's
                answer = e
            failure = self._take(slot, handle, answer, positions[slot], answers, lost) or failure
        return answers, lost, failure

    async def _fan_async(self, method: str, items: list, slots: list[int | None]) -> tuple[list, set, Exception | None]:
        pending, positions = self._submit(method, items, slots)
        results = await asyncio.gather(*pending, return_exceptions=True)  # ObjectRefs are awaitable
        answers: list = [None] * len(items)
        lost: set[Hashable] = set()
        failure = None
        for (slot, handle), answer in zip(pending.values(), results):
            failure = self._take(slot, handle, answer, positions[slot], answers, lost) or failure
        return answers, lost, failure

    def _submit(self, method: str, items: list, slots: list[int | None]) -> tuple[dict, dict[int, list[int]]]:
        positions: dict[int, list[int]] = defaultdict(list)
        for i, slot in enumerate(slots):
            if slot is not None:
                positions[slot].append(i)
        pending = {getattr(self._actors[slot], method).remote([items[i] for i in where]): (slot, self._actors[slot])
                   for slot, where in positions.items()}
        return pending, positions

    def _take(self, slot: int, handle, answer: Any, where: list[int], answers: list, lost: set) -> Exception | None:
        """Place one actor's answers; a dead actor is replaced and its episodes added to ``lost``; another
        error is returned (the first one is raised once every actor has answered).

        With calls in flight concurrently, several may see the same actor die: only the first replaces
        it (the others' episodes were recorded as lost then, and ``_finish`` raises them)."""
        if isinstance(answer, RayActorError):
            if self._actors[slot] is handle:
                lost |= self._replace(slot)
        elif isinstance(answer, Exception):
            return answer
        elif isinstance(answer, list):  # one answer per item ("close" answers with a count)
            for i, a in zip(where, answer):
                answers[i] = a
        return None

    def _replace(self, slot: int) -> set[Hashable]:
        """A fresh actor in a dead one's slot; returns (and records) the episodes that died with it."""
        lost = {eid for eid, s in self._episodes.items() if s == slot}
        for eid in lost:
            del self._episodes[eid]
        self._lost |= lost
        ray.kill(self._actors[slot])
        cpus = self._cpus if ray.available_resources().get("CPU", 0) >= self._cpus else 0
        self._actors[slot] = self._spawn(slot, cpus)
        self.replaced += 1
        return lost

    # --- inspection ----------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Episodes, simulators and memory per actor (see ``EpisodeHost.stats``), and totals."""
        hosts = []
        for slot in range(len(self._actors)):
            try:
                hosts.append(ray.get(self._actors[slot].stats.remote()))
            except RayActorError:
                self._replace(slot)
                hosts.append(ray.get(self._actors[slot].stats.remote()))
        episodes = sum(h["episodes"] for h in hosts)
        simulators = sum(h["simulators"] for h in hosts)
        return {
            "actors": hosts, "episodes": episodes, "simulators": simulators, "lost_episodes": len(self._lost),
            "rss_bytes": sum(h["rss_bytes"] for h in hosts),
            "bytes_per_episode": sum(h["episode_rss_bytes"] for h in hosts) // max(episodes, 1),
            "bytes_per_simulator": sum(h["simulator_rss_bytes"] for h in hosts) // max(simulators, 1),
        }

    def nodes(self, timeout: float = 10) -> list[str]:
        """The Ray node ids the pool's actors ran on, replaced ones included (an actor that died before it
        said is left out), sorted."""
        ready, _ = ray.wait(self._placed, num_returns=len(self._placed), timeout=timeout)
        nodes = set()
        for ref in ready:
            try:
                nodes.add(ray.get(ref))
            except RayActorError:
                pass
        return sorted(nodes)

    def shutdown(self) -> None:
        for actor in self._actors:
            ray.kill(actor)
        self._actors, self._episodes = [], {}

    def __enter__(self) -> "SimulatorPool":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
