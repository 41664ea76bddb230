"""The domain simulator: each kind of call, bad calls, the canonical hash, snapshots and forks."""

from __future__ import annotations

import json

import pytest
from envs_helpers import CERTIFICATE_TOOLS, call, key, order, shop_tools, tool

from agentscaler.envs import build_domain
from agentscaler.envs import DomainSimulator


@pytest.fixture(scope="module")
def spec():
    return build_domain(0, shop_tools(), rows=5)


@pytest.fixture
def sim(spec):
    return DomainSimulator(spec)


def contents(sim):
    return {t.name: sim.rows(t.name) for t in sim.spec.tables}


def test_read_returns_the_rows_that_match(sim):
    orders = sim.rows("orders")
    user = orders[0]["user_id"]
    result, error = call(sim, "list_orders", user_id=user)
    assert not error and result == [o for o in orders if o["user_id"] == user]
    assert call(sim, "list_orders", user_id=user, limit=1)[0] == result[:1]
    assert call(sim, "get_user", user_id=user) == (next(u for u in sim.rows("users") if u["user_id"] == user), False)


def test_optional_filters_render_one_statement_per_set_of_arguments(sim):
    users = sim.rows("users")
    everyone, _ = call(sim, "search_users")
    assert everyone == sorted(users, key=lambda u: u["user_id"])
    young, _ = call(sim, "search_users", max_age=40)
    assert young == [u for u in everyone if u["age"] <= 40]
    named, _ = call(sim, "search_users", q=users[0]["name"][:3])
    assert users[0] in named and all(users[0]["name"][:3].lower() in u["name"].lower() for u in named)
    statements = sim._tools["search_users"].sql.values()
    assert len(statements) >= 3 and not any("IS NULL" in sql for sql, _ in statements)


def test_create_inserts_exactly_one_row_and_returns_it(sim):
    before = contents(sim)
    user = before["users"][1]["user_id"]
    result, error = call(sim, "create_order", user_id=user, item="pen", quantity=3)
    assert not error
    (created,) = result["created"]
    assert created == {"order_id": order(6), "user_id": user, "item": "pen", "quantity": 3}
    after = contents(sim)
    assert after["users"] == before["users"] and after["orders"] == before["orders"] + [created]


def test_update_changes_only_the_named_row(sim):
    before = contents(sim)["orders"]
    result, error = call(sim, "update_order", order_id=order(2), new_quantity=42)
    assert not error and result == {"updated": [{**before[1], "quantity": 42}]}
    assert contents(sim)["orders"] == [before[0], {**before[1], "quantity": 42}, *before[2:]]


def test_delete_removes_only_the_named_row(sim):
    before = contents(sim)["orders"]
    result, error = call(sim, "cancel_order", order_id=order(3))
    assert not error and result == {"deleted": [before[2]]}
    assert contents(sim)["orders"] == before[:2] + before[3:]


def test_foreign_keys_are_enforced(sim):
    h = sim.state_hash()
    result, error = call(sim, "create_order", user_id="nobody", item="pen", quantity=1)
    assert error and "FOREIGN KEY" in result["error"] and sim.state_hash() == h


BAD_CALLS = [
    ({"name": "drop_tables", "arguments": {}}, "unknown tool"),
    ({"name": "create_order", "arguments": {"user_id": "mia_li_3668", "item": "pen"}}, "missing required argument"),
    ({"name": "cancel_order", "arguments": {"order_id": order(1), "force": True}}, "unexpected argument"),
    ({"name": "create_order", "arguments": {"user_id": "mia_li_3668", "item": "pen", "quantity": "3"}},
     "must be a integer"),
    ({"name": "update_order", "arguments": {"order_id": 1, "new_quantity": 2}}, "must be a string"),
    ('{"name": "cancel_order", "arguments": {"order_id": ', "not valid JSON"),
    ({"name": "cancel_order", "arguments": '{"order_id": '}, "arguments are not valid JSON"),
    ({"name": "cancel_order", "arguments": [order(1)]}, "must be an object"),
    ({"arguments": {}}, "a tool call is an object"),
    ({"name": "cancel_order", "arguments": {"order_id": "order_1' OR '1'='1"}}, "no order matches"),
    ({"name": "cancel_order", "arguments": {"order_id": "x\"; DROP TABLE orders; --"}}, "no order matches"),
    ({"name": "update_order", "arguments": {"order_id": "1 OR 1=1", "new_quantity": 0}}, "no order matches"),
    ({"name": "get_user", "arguments": {"user_id": "' UNION SELECT * FROM orders --"}}, "no user matches"),
    ({"name": "cancel_order", "arguments": {"order_id": order(1), "order_id) OR (1": "x"}}, "unexpected argument"),
    ({"name": "delete_everything", "arguments": {}}, "not available"),
    ({"name": "update_order", "arguments": {"order_id": order(1), "new_quantity": None}}, "missing required"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_CALLS)
def test_bad_calls_give_an_error_and_change_nothing(bad, message):
    spec = build_domain(0, [*shop_tools(), tool("delete_everything")], rows=5)
    sim = DomainSimulator(spec)
    call(sim, "create_order", user_id=key(spec, "users", 1), item="pen", quantity=1)  # not at a synthesized state
    h, before, image = sim.state_hash(), contents(sim), sim.snapshot()
    obs = sim.step(bad)
    assert obs.error and message in json.loads(obs.observation)["error"]
    assert sim.state_hash() == h == sim.recompute_hash()
    assert contents(sim) == before and sim.snapshot() == image


def test_injected_text_is_data_never_sql(sim):
    text = "'); DROP TABLE users; --"
    user = key(sim.spec, "users", 1)
    result, error = call(sim, "create_order", user_id=user, item=text, quantity=1)
    assert not error and result["created"][0]["item"] == text
    assert call(sim, "list_orders", user_id=user)[0][-1]["item"] == text and len(sim.rows("users")) == 5


def test_hash_is_canonical_whatever_the_order_of_operations(spec):
    a, b = DomainSimulator(spec), DomainSimulator(spec)
    user = key(spec, "users", 1)
    call(a, "update_order", order_id=order(1), new_quantity=7)
    call(a, "cancel_order", order_id=order(2))
    call(a, "create_order", user_id=user, item="cup", quantity=2)
    call(b, "create_order", user_id=user, item="cup", quantity=2)
    created = b.rows("orders")[-1]["order_id"]
    call(b, "cancel_order", order_id=order(2))
    call(b, "update_order", order_id=order(1), new_quantity=7)
    call(b, "update_order", order_id=created, new_quantity=9)  # a detour that is undone
    call(b, "update_order", order_id=created, new_quantity=2)
    assert contents(a) == contents(b)
    assert a.state_hash() == b.state_hash() == a.recompute_hash() == b.recompute_hash()
    assert a.state_hash() != DomainSimulator(spec).state_hash()


def test_hash_ignores_rowids_and_insertion_order(spec):
    shuffled = spec.model_copy(update={"states": [{t: rows[::-1] for t, rows in spec.states[0].items()}],
                                       "state_hashes": []})
    a, b = DomainSimulator(spec), DomainSimulator(shuffled)
    assert a._db.execute('SELECT rowid FROM "users" WHERE "user_id" = ?', (key(spec, "users", 1),)).fetchone() != \
        b._db.execute('SELECT rowid FROM "users" WHERE "user_id" = ?', (key(spec, "users", 1),)).fetchone()
    assert a.state_hash() == b.recompute_hash() == spec.state_hashes[0]


def test_incremental_hash_equals_recomputation_after_every_write(sim):
    for step in [("create_order", {"user_id": key(sim.spec, "users", 2), "item": "ink", "quantity": 4}),
                 ("update_order", {"order_id": order(1), "new_quantity": 5}),
                 ("cancel_order", {"order_id": order(4)}),
                 ("create_order", {"user_id": key(sim.spec, "users", 3), "item": "ink", "quantity": 4})]:
        assert not sim.step({"name": step[0], "arguments": step[1]}).error
        assert sim.state_hash() == sim.recompute_hash()


def test_arguments_as_json_text_and_openai_shape(sim):
    user = key(sim.spec, "users", 1)
    obs = sim.step(json.dumps({"type": "function", "function": {"name": "get_user",
                                                                 "arguments": json.dumps({"user_id": user})}}))
    assert not obs.error and json.loads(obs.observation)["user_id"] == user


def test_snapshot_restore_and_fork_round_trip(sim):
    start, image = sim.state_hash(), sim.snapshot()
    call(sim, "cancel_order", order_id=order(1))
    twin = sim.fork()
    changed = sim.state_hash()
    assert changed != start and twin.state_hash() == changed and contents(twin) == contents(sim)
    call(twin, "cancel_order", order_id=order(2))
    assert len(sim.rows("orders")) == 4 and len(twin.rows("orders")) == 3  # independent databases
    sim.restore(image)
    assert sim.state_hash() == start == sim.recompute_hash() and len(sim.rows("orders")) == 5
    assert sim.reset(twin.snapshot()) == twin.state_hash() and contents(sim) == contents(twin)


def test_reset_selects_a_synthesized_state(spec, sim):
    hashes = [sim.reset(i) for i in range(len(spec.states))]
    assert hashes == spec.state_hashes and len(set(hashes)) == len(hashes)
    call(sim, "cancel_order", order_id=order(1))
    assert sim.reset(1) == hashes[1] and sim.recompute_hash() == hashes[1]
    with pytest.raises(IndexError):
        sim.reset(len(spec.states))


def test_gym_surface(sim):
    tools, info = sim.init(0)
    assert {t["function"]["name"] for t in tools} >= {"get_user", "create_order"} and info["state_hash"]
    out = sim.step_gym({"name": "get_user", "arguments": {"user_id": key(sim.spec, "users", 1)}})
    assert out["observations"][0]["role"] == "tool" and out["done"] is False and not out["metadata"]["error"]


def test_a_list_filter_finds_the_rows_whose_value_is_one_of_its_items():
    """``CertificateStatuses: [ISSUED, PENDING]`` and ``ids: [...]`` are filters on the certificate's status and
    key (they were columns holding lists, matched as whole JSON text); ``MaxItems`` is a page's size."""
    spec = build_domain(0, CERTIFICATE_TOOLS, rows=12, states=1)
    bindings = {b.param: (b.column, b.role) for t in spec.tools for b in t.operation.bindings}
    assert bindings["CertificateStatuses"] == ("status", "in") and bindings["ids"] == ("certificate_id", "in")
    assert bindings["MaxItems"] == (None, "limit") and all(t.executable for t in spec.tools)
    sim = DomainSimulator(spec)
    rows = sim.rows("certificates")
    wanted = {"ISSUED", "PENDING"}
    found, error = call(sim, "ListCertificates", CertificateStatuses=sorted(wanted))
    expected = sorted(r["certificate_id"] for r in rows if r["status"] in wanted)
    assert sorted(r["certificate_id"] for r in found) == expected
    assert 0 < len(found) < len(rows) and not error
    ids = [rows[3]["certificate_id"], rows[7]["certificate_id"], "no-such-id"]
    assert [r["certificate_id"] for r in call(sim, "GetCertificates", ids=ids)[0]] == sorted(ids[:2])
    assert call(sim, "GetCertificates", ids=[]) == ([], False)
    h = sim.state_hash()
    for bad, message in ((["x"] * 17, "at most 16 values"), ([["ISSUED"]], "must list plain values")):
        obs = sim.step({"name": "ListCertificates", "arguments": {"CertificateStatuses": bad}})
        assert obs.error and message in json.loads(obs.observation)["error"]
    assert sim.state_hash() == h
