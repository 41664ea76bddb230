"""build-envs end to end on a small run directory: artifacts, reuse on rerun, reproducible states."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from envs_helpers import i, make_run, s, shop_tools, tool, user
from typer.testing import CliRunner

from agentscaler.cli import app
from agentscaler.envs import EnvSpec, build_domain, load_env
from agentscaler.envs.build import check_tool
from agentscaler.seeding import rng_for
from agentscaler.envs import DomainSimulator


def _groups():
    weather = [tool("get_weather", {"city": s(), "days": i()}, ["city"]), tool("update_forecast", {"forecast_id": i()})]
    return [shop_tools(), weather]


def test_build_envs_writes_every_artifact(tmp_path, ray_session):
    run = make_run(tmp_path, _groups())
    result = CliRunner().invoke(app, ["build-envs", "--run", str(tmp_path), "--states", "2", "--rows", "4",
                                      "--workers", "2"])
    assert result.exit_code == 0, result.output
    tools = pq.read_table(run.envs / "tools.parquet").to_pylist()
    assert len(tools) == 8 and {t["kind"] for t in tools} == {"read", "create", "update", "delete"}
    broken = [t for t in tools if not t["executable"]]
    assert [t["name"] for t in broken] == ["update_forecast"] and broken[0]["reason"]
    summary = json.loads((run.envs / "summary.json").read_text())
    assert summary["totals"]["tools"] == 8 and summary["totals"]["executable"] == 7
    assert summary["nodes"] == [ray_session.get_runtime_context().get_node_id()]  # built as Ray tasks
    assert summary["domains"][0]["entities"] == ["user", "order"]
    assert summary["domains"][0]["kinds"] == {"read": 3, "create": 1, "update": 1, "delete": 1}
    spec = load_env(tmp_path, 0)
    assert len(spec.states) == 2 and all(len(rows) == 4 for rows in spec.states[0].values())
    assert DomainSimulator(spec).reset(1) == spec.state_hashes[1]


def test_rerun_reuses_specs_and_rebuilds_on_new_options(tmp_path):
    from agentscaler.envs import build_envs

    run = make_run(tmp_path, _groups())
    build_envs(run, rows=3, workers=1)
    path = run.envs / "domains" / "0.json"
    stamp = path.stat().st_mtime_ns
    build_envs(run, rows=3, workers=1)
    assert path.stat().st_mtime_ns == stamp
    build_envs(run, rows=4, workers=1)
    assert path.stat().st_mtime_ns != stamp and len(EnvSpec.load(path).states[0]["users"]) == 4


def test_states_are_reproducible_for_a_seed_and_distinct_across_indices():
    a, b = (build_domain(3, shop_tools(), states=3, rows=6, seed=1) for _ in range(2))
    assert a.states == b.states and a.state_hashes == b.state_hashes
    assert len(set(a.state_hashes)) == 3
    assert build_domain(3, shop_tools(), states=1, rows=6, seed=2).states[0] != a.states[0]
    users = {u[0] for u in a.states[0]["users"]}
    assert all(order[1] in users for order in a.states[0]["orders"])  # foreign keys point at real parents


def test_spec_round_trips_through_its_file(tmp_path):
    spec = build_domain(0, shop_tools(), rows=3)
    spec.save(tmp_path / "spec.json")
    loaded = EnvSpec.load(tmp_path / "spec.json")
    assert loaded == spec
    assert DomainSimulator(loaded).step({"name": "get_user", "arguments": {"user_id": user(2)}}).error is False


def test_a_delete_is_checked_on_a_row_nothing_references():
    tools = shop_tools() + [tool("delete_user", {"user_id": s()}, ["user_id"], "Delete a user account.",
                                 http_method="DELETE", http_path="/users/{user_id}")]
    spec = build_domain(0, tools, rows=10, states=1)
    assert [(fk.table, fk.on_delete) for fk in spec.table("orders").foreign_keys] == [("users", None)]  # restrict
    users = [row[0] for row in spec.states[0]["users"]]
    assert set(users[8:]) - {order[1] for order in spec.states[0]["orders"]}  # synthesis leaves users without orders
    spec.states[0]["orders"] = [[order[0], users[n % 5], *order[2:]]  # every order is one of the first 5 users'
                                for n, order in enumerate(spec.states[0]["orders"])]
    delete = spec.tool("delete_user")
    check_tool(DomainSimulator(spec), spec, delete, rng_for(0, 0, "delete_user"))
    assert delete.executable, delete.reason  # the first five rows are refused by the key; the sixth is deletable
    sim = DomainSimulator(spec)
    sim.reset(0)
    refused = sim.step({"name": "delete_user", "arguments": {"user_id": users[0]}})
    assert refused.error and users[0] in {u["user_id"] for u in sim.rows("users")}  # a referenced user stays
