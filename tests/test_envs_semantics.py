"""Write semantics users expect, each on a hand-written domain whose correct state change is known."""

from __future__ import annotations

import json

import pytest
from envs_helpers import i, order, s, tool

from agentscaler.envs import EnvSpec, build_domain, classify
from agentscaler.envs import DomainSimulator
from agentscaler.envs.keys import key_shape, row_key


def _domain(*tools) -> tuple[EnvSpec, DomainSimulator]:
    spec = build_domain(0, list(tools), rows=4, states=1)
    assert all(t.executable for t in spec.tools), [(t.name, t.reason) for t in spec.tools if not t.executable]
    return spec, DomainSimulator(spec)


def _call(sim: DomainSimulator, name: str, **arguments):
    obs = sim.step({"name": name, "arguments": arguments})
    assert not obs.error, obs.observation
    assert sim.state_hash() == sim.recompute_hash()
    return json.loads(obs.observation)


def _row(sim: DomainSimulator, table: str, key: str, value) -> dict:
    return next(r for r in sim.rows(table) if r[key] == value)


def test_cancel_sets_a_status_and_keeps_the_row_and_its_references():
    spec, sim = _domain(
        tool("create_order", {"user_id": s(), "item": s()}, ["user_id", "item"]),
        tool("create_refund", {"order_id": s(), "amount": i()}, ["order_id", "amount"]),
        tool("cancel_order", {"order_id": s(), "reason": s()}, ["order_id"]),
    )
    order = next(r["order_id"] for r in sim.rows("orders") if r["status"] not in ("cancelled", "closed"))  # policy
    _call(sim, "create_refund", order_id=order, amount=5)  # a row that references the order
    before = _row(sim, "orders", "order_id", order)
    result = _call(sim, "cancel_order", order_id=order, reason="late")
    after = _row(sim, "orders", "order_id", order)
    assert after == {**before, "status": "cancelled", "reason": "late"} == result["updated"][0]
    assert len(sim.rows("orders")) == 4 and any(r["order_id"] == order for r in sim.rows("refunds"))
    assert spec.tool("cancel_order").operation.assign[0].model_dump() == {
        "column": "status", "value": "cancelled", "toggle": False}  # inspectable in the spec's JSON


@pytest.mark.parametrize(("verb", "status"), [
    ("close", "closed"), ("suspend", "suspended"), ("resume", "active"), ("archive", "archived"),
    ("reopen", "open"), ("renew", "active"), ("block", "blocked"), ("unblock", "active"), ("refund", "refunded"),
    ("approve", "approved"),
])
def test_state_changing_verbs_are_status_transitions(verb, status):
    name = f"{verb}_account"
    assert classify(name) == "update"
    _, sim = _domain(tool(name, {"account_id": s()}, ["account_id"]),
                     tool("get_account", {"account_id": s()}, ["account_id"]))
    others = [r for r in sim.rows("accounts") if r["account_id"] != row_key("uuid", "account", 3)]
    _call(sim, name, account_id=row_key("uuid", "account", 3))
    assert _row(sim, "accounts", "account_id", row_key("uuid", "account", 3))["status"] == status
    assert [r for r in sim.rows("accounts") if r["account_id"] != row_key("uuid", "account", 3)] == others


def test_enable_disable_set_a_flag_and_toggle_flips_it():
    _, sim = _domain(tool("enable_autopay", {"account_id": s()}, ["account_id"]),
                     tool("disable_autopay", {"account_id": s()}, ["account_id"]),
                     tool("toggle_dark_mode", {"account_id": s()}, ["account_id"]))
    _call(sim, "enable_autopay", account_id=row_key("uuid", "account", 1))
    assert _row(sim, "accounts", "account_id", row_key("uuid", "account", 1))["autopay_enabled"] == 1
    _call(sim, "disable_autopay", account_id=row_key("uuid", "account", 1))
    assert _row(sim, "accounts", "account_id", row_key("uuid", "account", 1))["autopay_enabled"] == 0
    start = _row(sim, "accounts", "account_id", row_key("uuid", "account", 2))["dark_mode_enabled"]
    _call(sim, "toggle_dark_mode", account_id=row_key("uuid", "account", 2))
    assert _row(sim, "accounts", "account_id", row_key("uuid", "account", 2))["dark_mode_enabled"] == 1 - start
    _call(sim, "toggle_dark_mode", account_id=row_key("uuid", "account", 2))
    assert _row(sim, "accounts", "account_id", row_key("uuid", "account", 2))["dark_mode_enabled"] == start


def test_an_update_is_addressed_by_the_owning_entitys_key():
    spec, sim = _domain(
        tool("get_order", {"order_id": s()}, ["order_id"]),
        tool("change_order_shipping_method", {"order_id": s(), "shipping_method_id": s()},
             ["order_id", "shipping_method_id"]))
    assert spec.tool("change_order_shipping_method").table == "orders"
    held = _row(sim, "orders", "order_id", order(1))["shipping_method_id"]
    method = next(r["shipping_method_id"] for r in sim.rows("shipping_methods") if r["shipping_method_id"] != held)
    _call(sim, "change_order_shipping_method", order_id=order(1), shipping_method_id=method)
    assert _row(sim, "orders", "order_id", order(1))["shipping_method_id"] == method
    bad = sim.step({"name": "change_order_shipping_method",
                    "arguments": {"order_id": order(1), "shipping_method_id": "nowhere"}})
    assert bad.error and "FOREIGN KEY" in bad.observation  # the attribute is a reference, kept intact


def test_a_setter_without_identifier_writes_the_settings_row():
    spec, sim = _domain(tool("set_volume", {"level": i()}, ["level"]), tool("get_volume"),
                        tool("enable_dark_mode"), tool("disable_dark_mode"))
    assert spec.table("settings").singleton and len(sim.rows("settings")) == 1
    _call(sim, "set_volume", level=7)
    if sim.rows("settings")[0]["dark_mode_enabled"]:  # enabling what is on is refused (envs.policy)
        _call(sim, "disable_dark_mode")
    _call(sim, "enable_dark_mode")
    assert _call(sim, "get_volume") == [{"setting_id": 1, "volume": 7, "dark_mode_enabled": 1}]


def test_natural_keys_identify_rows():
    _, sim = _domain(tool("update_user_email", {"username": s(), "email": s()}, ["username", "email"]),
                     tool("get_user_by_username", {"username": s()}, ["username"]))
    usernames = [r["username"] for r in sim.rows("users")]
    assert len(set(usernames)) == len(usernames)  # synthesized unique, so a lookup finds one row
    _call(sim, "update_user_email", username=usernames[2], email="new@example.com")
    assert [u["email"] for u in _call(sim, "get_user_by_username", username=usernames[2])] == ["new@example.com"]
    assert sum(r["email"] == "new@example.com" for r in sim.rows("users")) == 1


@pytest.mark.parametrize(("container", "member", "ref"), [
    ("cart", "item", "product_id"), ("playlist", "track", "track_id"), ("group", "member", "user_id")])
def test_add_to_and_remove_from_a_collection_use_a_link_table(container, member, ref):
    spec, sim = _domain(
        tool(f"add_{member}_to_{container}", {f"{container}_id": s(), ref: s()}, [f"{container}_id", ref]),
        tool(f"remove_{member}_from_{container}", {f"{container}_id": s(), ref: s()}, [f"{container}_id", ref]),
        tool(f"list_{container}_{member}s", {f"{container}_id": s()}, [f"{container}_id"]))
    link = f"{container}_{member}s"
    assert {t.table for t in spec.tools} == {link}
    parent = f"{ref[:-3]}s"
    target = sim.rows(parent)[0][ref]
    members_before = sim.rows(parent)
    first = row_key(key_shape(container), container, 1)
    _call(sim, f"add_{member}_to_{container}", **{f"{container}_id": first, ref: target})
    listed = _call(sim, f"list_{container}_{member}s", **{f"{container}_id": first})
    assert target in [r[ref] for r in listed]
    _call(sim, f"remove_{member}_from_{container}", **{f"{container}_id": first, ref: target})
    assert target not in [r[ref] for r in _call(sim, f"list_{container}_{member}s",
                                                **{f"{container}_id": first})]
    assert sim.rows(parent) == members_before  # the member itself still exists


def test_without_a_named_owner_the_most_specific_key_owns_the_flag():
    spec, sim = _domain(tool("enable_roaming", {"customer_id": s(), "line_id": s()}, ["customer_id", "line_id"]))
    assert spec.tool("enable_roaming").table == "lines"
    line = next(r for r in sim.rows("lines") if not r["roaming_enabled"])  # enabling what is on is refused
    _call(sim, "enable_roaming", customer_id=line["customer_id"], line_id=line["line_id"])
    assert _row(sim, "lines", "line_id", line["line_id"]) == {**line, "roaming_enabled": 1}
    other = next(c["customer_id"] for c in sim.rows("customers") if c["customer_id"] != line["customer_id"])
    refused = sim.step({"name": "enable_roaming", "arguments": {"customer_id": other, "line_id": line["line_id"]}})
    assert refused.error and "no line matches" in refused.observation  # the customer scopes the line, never moves it
