"""The simulator on a state of tau2-airline size (~2,800 rows). Its speed is measured by
benchmarks/bench_simulator.py, not asserted here."""

from __future__ import annotations

import pytest
from envs_helpers import s, tool

from agentscaler.envs import build_domain
from agentscaler.envs import DomainSimulator
from agentscaler.envs.keys import row_key


@pytest.fixture(scope="module")
def sim():
    tools = [tool("get_user", {"user_id": s()}, ["user_id"]),
             tool("get_flight", {"flight_id": s()}, ["flight_id"]),
             tool("book_reservation", {"user_id": s(), "flight_id": s(), "cabin": s()}, ["user_id", "flight_id"]),
             tool("update_reservation", {"reservation_id": s(), "cabin": s()}, ["reservation_id", "cabin"])]
    spec = build_domain(0, tools, states=2, rows=934)
    assert sum(len(rows) for rows in spec.states[0].values()) == 2802
    return DomainSimulator(spec)


def test_hash_stays_exact_over_many_writes(sim):
    for k in range(300):
        assert not sim.step({"name": "update_reservation",
                             "arguments": {"reservation_id": row_key("number", "reservation", k % 700 + 1), "cabin": f"c{k % 3}"}}).error
    assert sim.state_hash() == sim.recompute_hash()
