"""The episodes of one process: one working simulator per domain, one snapshot per *changed* episode.

An idle episode is not a live SQLite database (about 40-100 KB and a cold statement cache each) but
its state: an index into the domain's synthesized states while it has changed nothing, so that
thousands of fresh episodes cost a few hundred bytes each, or its snapshot once a write changed it.
Stepping an episode loads it into its domain's working simulator; the snapshot is taken lazily,
only when another episode of the same domain needs the simulator, so an episode stepped batch after
batch is never copied. ``benchmarks/bench_hosting.py`` measures both layouts.

``SimulatorPool`` runs one ``EpisodeHost`` per Ray actor; the class is plain so that it can also run
in-process (the benchmark's baseline) and so that its logic is testable without Ray.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Hashable

import psutil

from agentscaler import metrics
from agentscaler.envs import DomainSimulator, load_env
from agentscaler.workers import current_node


class _Episode:
    __slots__ = ("domain", "state", "image", "hash", "saved")

    def __init__(self, domain: int, state: int, hash_: str):
        self.domain, self.state, self.image = domain, state, None  # image: snapshot once changed
        self.hash = self.saved = hash_  # saved: the hash of what state/image hold


class _Hosted:
    """A domain's working simulator and the episode currently loaded in it."""

    __slots__ = ("sim", "loaded")

    def __init__(self, sim: DomainSimulator):
        self.sim, self.loaded = sim, None

    def initial_hash(self, state: int) -> str:
        hashes = self.sim.spec.state_hashes
        if state < len(hashes):
            return hashes[state]
        self.unload()  # a spec without recorded hashes: compute by loading the state
        return self.sim.reset(state)

    def load(self, episode: _Episode) -> None:
        if self.loaded is episode:
            return
        self.unload()
        if episode.image is None:
            self.sim.reset(episode.state)
        else:
            self.sim.restore(episode.image)
        self.loaded = episode

    def unload(self) -> None:
        """Write the loaded episode back, if it changed since it was loaded."""
        e = self.loaded
        if e is not None and e.hash != e.saved:
            e.image, e.saved = self.sim.snapshot(), e.hash
        self.loaded = None


class EpisodeHost:
    """Many domains' simulators and many concurrent episodes; specs load lazily from ``run_dir``."""

    def __init__(self, run_dir: str | os.PathLike, name: str = "host", metrics: bool = False):
        self.run_dir, self.name = Path(run_dir), name
        self._hosted: dict[int, _Hosted] = {}
        self._episodes: dict[Hashable, _Episode] = {}
        self._process = psutil.Process()
        self._rss_base = self._rss()
        self._simulator_rss = 0
        self._tags = {"host": name} if metrics else None  # Ray dashboard series' tags

    def _rss(self) -> int:
        return self._process.memory_info().rss

    def _domain(self, domain: int) -> _Hosted:
        hosted = self._hosted.get(domain)
        if hosted is None:
            before = self._rss()
            sim = DomainSimulator(load_env(self.run_dir, domain))
            for state in range(len(sim.spec.states)):  # cache every state's image now: measured with the simulator
                sim.reset(state)
            hosted = self._hosted[domain] = _Hosted(sim)
            self._simulator_rss += self._rss() - before
        return hosted

    def start(self, episodes: list[tuple[Hashable, int, int]]) -> list[str]:
        """Create episodes at synthesized states; returns their state hashes. All or none start."""
        counts = Counter(episode_id for episode_id, _, _ in episodes)
        taken = sorted(str(i) for i, n in counts.items() if n > 1 or i in self._episodes)
        if taken:
            raise ValueError(f"episode ids already running or repeated: {taken}")
        for episode_id, domain, state in episodes:
            spec = self._domain(domain).sim.spec
            if not 0 <= state < len(spec.states):
                raise IndexError(f"episode {episode_id!r}: domain {domain} has no state {state} "
                                 f"({len(spec.states)} states)")
        hashes = []
        for episode_id, domain, state in episodes:
            h = self._domain(domain).initial_hash(state)
            self._episodes[episode_id] = _Episode(domain, state, h)
            hashes.append(h)
        if self._tags:
            metrics.SIM_LIVE_EPISODES.set(len(self._episodes), **self._tags)
        return hashes

    def step(self, calls: list[tuple[Hashable, Any]]) -> list[tuple[str, bool, str]]:
        """Run calls, in order within each episode; returns (observation, error, state hash) in input order.

        Calls are grouped by episode so that each episode is loaded once per batch.
        """
        by_episode: dict[Hashable, list[int]] = defaultdict(list)
        for i, (episode_id, _) in enumerate(calls):
            by_episode[episode_id].append(i)
        episodes = {eid: self._get(eid) for eid in by_episode}  # every id is checked before any call runs
        results: list[Any] = [None] * len(calls)
        errors = 0
        for episode_id, positions in by_episode.items():
            episode = episodes[episode_id]
            hosted = self._hosted[episode.domain]
            hosted.load(episode)
            sim = hosted.sim
            for i in positions:
                obs = sim.step(calls[i][1])
                errors += obs.error
                results[i] = (obs.observation, obs.error, sim.state_hash())
            episode.hash = results[positions[-1]][2]
        if self._tags:
            metrics.SIM_STEPS.inc(len(calls), **self._tags)
            metrics.SIM_STEP_ERRORS.inc(errors, **self._tags)
        return results

    def state_hashes(self, episode_ids: list[Hashable]) -> list[str]:
        return [self._get(eid).hash for eid in episode_ids]

    def close(self, episode_ids: list[Hashable]) -> int:
        """Forget episodes (unknown ids are ignored: closing is idempotent); returns how many closed."""
        closed = 0
        for episode_id in episode_ids:
            episode = self._episodes.pop(episode_id, None)
            if episode is not None:
                closed += 1
                hosted = self._hosted[episode.domain]
                if hosted.loaded is episode:
                    hosted.loaded = None
        if self._tags:
            metrics.SIM_LIVE_EPISODES.set(len(self._episodes), **self._tags)
        return closed

    def node(self) -> str:
        """The Ray node id this host runs on ("" outside Ray)."""
        return current_node()

    def _get(self, episode_id: Hashable) -> _Episode:
        try:
            return self._episodes[episode_id]
        except KeyError:
            raise KeyError(f"episode {episode_id!r} is not running on {self.name}") from None

    def stats(self) -> dict[str, Any]:
        """Counts and memory. Memory is RSS, attributed by deltas: simulator loads are measured around
        each load; the rest of the growth since start is the episodes' (a high-water mark: memory
        freed by closing episodes stays with the process)."""
        rss = self._rss()
        episodes = len(self._episodes)
        episode_rss = max(rss - self._rss_base - self._simulator_rss, 0)
        return {
            "host": self.name, "pid": os.getpid(), "episodes": episodes,
            "changed_episodes": sum(e.image is not None for e in self._episodes.values()),
            "snapshot_bytes": sum(len(e.image) for e in self._episodes.values() if e.image is not None),
            "simulators": len(self._hosted), "domains": sorted(self._hosted),
            "rss_bytes": rss, "simulator_rss_bytes": self._simulator_rss, "episode_rss_bytes": episode_rss,
            "bytes_per_simulator": self._simulator_rss // max(len(self._hosted), 1),
            "bytes_per_episode": episode_rss // max(episodes, 1),
        }

