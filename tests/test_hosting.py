"""The simulator pool: routing by domain, batched calls in input order, isolation, and actor death."""

from __future__ import annotations

import json
import time

import pytest
from ray.exceptions import RayActorError

from agentscaler.envs import build_envs, load_env
from agentscaler.sim.hosting import EpisodesLost, SimulatorPool, domain_slot
from agentscaler.sim.hosting_host import EpisodeHost
from agentscaler.envs import DomainSimulator
from envs_helpers import make_run, order, shop_tools

DOMAINS = 6


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Shop domains without their derived rules: these tests are about hosting, not what the policy allows."""
    run = make_run(tmp_path_factory.mktemp("hosting"), [shop_tools()] * DOMAINS)
    build_envs(run, states=2, rows=10, workers=1)
    for domain in range(DOMAINS):
        spec = load_env(run, domain)
        spec.policy = None
        spec.save(run.env_spec(domain))
    return run


@pytest.fixture(scope="module")
def pool(run, ray_session):
    with SimulatorPool(run.path, num_actors=2, actor_cpus=0.25) as pool:
        yield pool


def user(run, domain: int, state: int = 0, row: int = 0) -> str:
    return load_env(run.path, domain).states[state]["users"][row][0]


def calls_for(run, domain: int) -> list[dict]:
    """Reads and writes of every kind, plus a bad call: enough to move and observe the state."""
    uid = user(run, domain)
    return [
        {"name": "get_user", "arguments": {"user_id": uid}},
        {"name": "create_order", "arguments": {"user_id": uid, "item": f"book-{domain}", "quantity": 2}},
        {"name": "list_orders", "arguments": json.dumps({"user_id": uid})},
        {"name": "update_order", "arguments": {"order_id": order(1), "new_quantity": 5}},
        {"name": "get_user", "arguments": {"user_id": 42}},
        {"name": "cancel_order", "arguments": {"order_id": order(2)}},
        {"name": "search_users", "arguments": {"min_age": 30}},
    ]


def test_episodes_are_routed_by_domain(pool, run):
    ids = [f"route-{d}-{k}" for d in range(DOMAINS) for k in range(3)]
    pool.start([(eid, int(eid.split("-")[1]), 0) for eid in ids])
    hosts = pool.stats()["actors"]
    for slot, host in enumerate(hosts):
        expected = sorted(d for d in range(DOMAINS) if domain_slot(d, 2) == slot)
        assert expected and host["domains"] == expected  # each spec is loaded on one actor only
    assert sum(h["episodes"] for h in hosts) >= len(ids)
    pool.close(ids)


def test_batched_steps_come_back_in_input_order_and_match_in_process(pool, run, ray_session):
    episodes = [(f"order-{d}-{k}", d, k % 2) for d in range(DOMAINS) for k in range(2)]
    pool.start(episodes)
    batch = [(eid, call) for i in range(7) for eid, d, _ in episodes for call in calls_for(run, d)[i:i + 1]]
    # Keep one actor busy so that the other answers first: its answers must still land in place.
    busy = pool.actor_for(0).step.remote([(episodes[0][0], calls_for(run, 0)[0])] * 3000)  # reads only
    results = pool.step(batch)
    assert len(ray_session.get(busy)) == 3000

    sims = {}
    for eid, d, state in episodes:
        sims[eid] = DomainSimulator(load_env(run.path, d))
        sims[eid].reset(state)
    for (eid, call), got in zip(batch, results):
        want = sims[eid].step(call)
        assert (got.observation, got.error, got.state_hash) == (want.observation, want.error,
                                                                 sims[eid].state_hash())
    assert any(r.error for r in results) and any(not r.error for r in results)
    assert pool.state_hashes([eid for eid, _, _ in episodes]) == [sims[eid].recompute_hash() for eid, _, _ in episodes]
    pool.close([eid for eid, _, _ in episodes])


def test_episodes_on_one_domain_are_isolated(pool, run):
    ids = [f"iso-{k}" for k in range(20)]
    initial = pool.start([(eid, 3, 0) for eid in ids])
    assert len(set(initial)) == 1
    uid = user(run, 3)
    for round_ in range(3):  # alternate episodes so each is written back and reloaded between calls
        pool.step([(eid, {"name": "create_order", "arguments": {"user_id": uid, "item": f"{eid}/{round_}",
                                                                 "quantity": 1}}) for eid in ids[::2]])
    hashes = pool.state_hashes(ids)
    assert hashes[1::2] == initial[1::2]  # untouched episodes kept the initial state
    assert len(set(hashes[::2])) == len(ids[::2])  # each writer holds its own, different state
    listed = pool.step([(eid, {"name": "list_orders", "arguments": {"user_id": uid, "limit": 50}}) for eid in ids])
    for eid, result in zip(ids, listed):
        items = {o["item"] for o in json.loads(result.observation)}
        mine = {f"{eid}/{r}" for r in range(3)} if ids.index(eid) % 2 == 0 else set()
        assert {i for i in items if i.startswith("iso-")} == mine
    pool.close(ids)


def test_bad_calls_return_error_observations(pool, run):
    pool.start([("bad", 1, 0)])
    before = pool.state_hashes(["bad"])[0]
    results = pool.step([("bad", "{not json"), ("bad", {"name": "no_such_tool", "arguments": {}}),
                         ("bad", {"name": "create_order", "arguments": {"user_id": user(run, 1)}}),
                         ("bad", {"name": "cancel_order", "arguments": {"order_id": "order_999"}})])
    assert all(r.error and "error" in json.loads(r.observation) for r in results)
    assert {r.state_hash for r in results} == {before}
    pool.close(["bad"])


def test_misuse_is_refused_before_anything_runs(pool):
    with pytest.raises(KeyError, match="never started"):
        pool.step([("nobody", {"name": "get_user", "arguments": {}})])
    with pytest.raises(IndexError):
        pool.start([("ok", 0, 0), ("bad-state", 1, 99)])
    pool.start([("ok", 0, 0)])  # the failed batch started nothing
    with pytest.raises(ValueError, match="already running"):
        pool.start([("ok", 0, 0)])
    pool.close(["ok"])


def test_stats_measure_memory(pool):
    ids = [f"mem-{k}" for k in range(200)]
    pool.start([(eid, k % DOMAINS, 0) for k, eid in enumerate(ids)])
    stats = pool.stats()
    assert stats["episodes"] == 200 and stats["simulators"] == DOMAINS
    assert stats["rss_bytes"] > 0 and stats["bytes_per_simulator"] > 0
    assert all(h["bytes_per_episode"] >= 0 for h in stats["actors"])
    pool.close(ids)
    assert pool.stats()["episodes"] == 0


def kill_and_wait(ray, actor, timeout_s: float = 30.0) -> None:
    """``ray.kill`` returns before the actor is gone; a call sent in between would still be served."""
    ray.kill(actor)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ray.get(actor.stats.remote(), timeout=timeout_s)
        except RayActorError:
            return
        time.sleep(0.05)
    raise AssertionError("killed actor still answers")


def test_dead_actor_is_replaced_and_only_its_episodes_are_lost(run, ray_session):
    with SimulatorPool(run.path, num_actors=2, actor_cpus=0.25) as pool:
        episodes = [(f"ep-{d}-{k}", d, 0) for d in range(DOMAINS) for k in range(3)]
        pool.start(episodes)
        victim = domain_slot(0, 2)
        on_victim = {eid for eid, d, _ in episodes if domain_slot(d, 2) == victim}
        survivors = [eid for eid, d, _ in episodes if domain_slot(d, 2) != victim]
        assert on_victim and survivors
        read = {"name": "search_users", "arguments": {}}
        pool.step([(eid, read) for eid, _, _ in episodes])

        kill_and_wait(ray_session, pool.actor_for(0))
        batch = [(eid, read) for eid, _, _ in episodes[::2]]  # names only some of the victim's episodes
        with pytest.raises(EpisodesLost) as lost:
            pool.step(batch)
        assert set(lost.value.episode_ids) == on_victim  # exactly the dead actor's episodes, all of them
        for (eid, _), result in zip(batch, lost.value.results):
            assert (result is None) == (eid in on_victim)

        assert len(pool.step([(eid, read) for eid in survivors])) == len(survivors)
        lost_one = sorted(on_victim)[0]
        with pytest.raises(EpisodesLost) as again:
            pool.step([(lost_one, read), (survivors[0], read)])
        assert again.value.episode_ids == [lost_one]

        pool.close(on_victim)  # the rollout stage restarts them: the replacement actor hosts them
        restarted = pool.start([e for e in episodes if e[0] in on_victim])
        assert len(restarted) == len(on_victim)
        assert not any(r.error for r in pool.step([(eid, read) for eid, _, _ in episodes]))


def test_host_writes_back_only_changed_episodes(run):
    """In-process: fresh episodes share their state; a write makes a snapshot only on switching away."""
    host = EpisodeHost(run.path)
    host.start([("a", 0, 0), ("b", 0, 0)])
    create = {"name": "create_order", "arguments": {"user_id": user(run, 0), "item": "x", "quantity": 1}}
    host.step([("a", create)])
    assert host.stats()["changed_episodes"] == 0  # "a" is still loaded: no copy yet
    host.step([("b", {"name": "search_users", "arguments": {}})])
    stats = host.stats()
    assert stats["changed_episodes"] == 1 and stats["snapshot_bytes"] > 0  # only "a", written back
    assert host.step([("a", {"name": "list_orders", "arguments": {"user_id": user(run, 0)}})])[0][0].count('"x"') == 1
