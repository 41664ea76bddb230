"""Domain rules: derived from the environment, refused by the simulator (state rules) or found in a conversation
(process rules), stored with the environment."""

from __future__ import annotations

import json
import random

import pytest
from envs_helpers import i, make_run, order, s, shop_tools, tool

from agentscaler.envs import (DomainSimulator, EnvSpec, asks_confirmation, build_domain, build_envs, derive_policy,
                              load_env, process_violations, refused_rule, says_yes)
from agentscaler.envs.build import check_tool


def store_tools():
    """Users and orders with a status, a parent-scoped delete and a quantity the schema bounds."""
    return [
        tool("get_user", {"user_id": s()}, ["user_id"], "Get a user's profile."),
        tool("list_orders", {"user_id": s()}, ["user_id"], "List a user's orders."),
        tool("create_order", {"user_id": s(), "item": s(), "quantity": i(), "price": {"type": "number"}},
             ["user_id", "item", "quantity", "price"], "Place an order for a user."),
        tool("cancel_order", {"order_id": s()}, ["order_id"], "Cancel an order."),
        tool("update_order", {"order_id": s(), "new_quantity": {"type": "integer", "minimum": 1, "maximum": 20}},
             ["order_id", "new_quantity"], "Change how many items an order holds."),
        tool("update_order_address", {"order_id": s(), "user_id": s(), "address": s()},
             ["order_id", "user_id", "address"], "Change where an order ships."),
        tool("get_order_note", {"note_id": s()}, ["note_id"], "Read a note on an order."),
        tool("delete_order_note", {"note_id": s(), "order_id": s()}, ["note_id", "order_id"], "Delete an order's note.",
             http_method="DELETE", http_path="/orders/{order_id}/notes/{note_id}"),
    ]


def store(statuses: dict[str, str] | None = None) -> DomainSimulator:
    """The store at state 0, with the orders' statuses set as given (the policy derived again from them)."""
    spec = build_domain(0, store_tools(), rows=6)
    orders = spec.table("orders")
    at = [c.name for c in orders.columns].index("status")
    for row in spec.states[0]["orders"]:
        row[at] = (statuses or {}).get(row[0], "pending")
    spec.state_hashes = []
    spec.policy = derive_policy(spec)
    return DomainSimulator(spec)


def rule(sim: DomainSimulator, kind: str, **fields):
    """The simulator's rule of this kind whose fields have these values."""
    return next(r for r in sim.spec.policy.rules
                if r.kind == kind and all(getattr(r, k) == v for k, v in fields.items()))


def call(sim: DomainSimulator, name: str, /, **arguments):
    obs = sim.step({"name": name, "arguments": arguments})
    return json.loads(obs.observation), obs.error


def contents(sim: DomainSimulator) -> dict:
    return {t.name: sim.rows(t.name) for t in sim.spec.tables}


def assert_refused(sim: DomainSimulator, expected_rule, name: str, /, **arguments) -> dict:
    """The call is refused naming the rule, and the state is exactly as it was."""
    h, before = sim.state_hash(), contents(sim)
    result, error = call(sim, name, **arguments)
    assert error and result["rule"] == expected_rule.id and expected_rule.id in result["error"], result
    assert sim.state_hash() == h == sim.recompute_hash() and contents(sim) == before
    return result


def converse(sim: DomainSimulator, *turns) -> list[dict]:
    """OpenAI messages whose calls really run on ``sim``: ("user"|"assistant", text) or (tool name, arguments)."""
    messages = []
    for n, (who, what) in enumerate(turns):
        if who in ("user", "assistant"):
            messages.append({"role": who, "content": what})
            continue
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{n}", "type": "function", "function": {"name": who, "arguments": json.dumps(what)}}]})
        messages.append({"role": "tool", "tool_call_id": f"call_{n}",
                         "content": sim.step({"name": who, "arguments": what}).observation})
    return messages


# --- derivation ------------------------------------------------------------------------------------------

def test_the_shop_domain_gets_a_policy_with_rules_of_several_kinds():
    policy = build_domain(0, shop_tools(), rows=5).policy
    assert policy is not None and len(policy.rules) >= 2
    kinds = {r.kind for r in policy.rules}
    assert {"identity", "confirmation", "limit"} <= kinds
    assert policy.tools_of("confirmation") == {"cancel_order"}  # a REST delete
    identity = next(r for r in policy.rules if r.kind == "identity")
    assert identity.owner == "users" and set(identity.targets) == {"create_order", "update_order", "cancel_order"}
    assert "get_user" in identity.lookups and identity.lookups["list_orders"] == "user_id"


def test_policy_text_is_numbered_by_rule_id_and_deterministic():
    first, again = (build_domain(0, store_tools(), rows=6).policy for _ in range(2))
    assert first.text() == again.text() and first == again
    lines = first.text().splitlines()
    assert [line.split(". ", 1)[0] for line in lines] == [f"R{n}" for n in range(1, len(first.rules) + 1)]
    assert all(line.split(". ", 1)[1] == r.text and r.text.endswith(".") for line, r in zip(lines, first.rules))


def test_writes_that_cannot_be_taken_back_need_a_confirmation():
    tools = [tool("get_user", {"user_id": s()}, ["user_id"], "Get a user."),
             tool("send_message", {"user_id": s(), "text": s()}, ["user_id", "text"], "Send a user a message."),
             tool("update_user", {"user_id": s(), "new_nickname": s()}, ["user_id", "new_nickname"], "Rename a user.")]
    policy = build_domain(0, tools, rows=3).policy
    assert policy.tools_of("confirmation") == {"send_message"}


def test_a_booking_commits_the_user_so_it_needs_a_confirmation_and_adding_a_book_does_not():
    tools = [tool("Hotels_4_ReserveHotel", {"hotel_name": s(), "check_in_date": s(), "stay_length": i()},
                  ["hotel_name"], "Reserve rooms at a selected hotel."),
             tool("book_flight", {"origin": s(), "destination": s()}, ["origin", "destination"], "Book a flight."),
             tool("create_book", {"title": s(), "author": s()}, ["title"], "Add a book to the catalogue.")]
    policy = build_domain(0, tools, rows=3).policy
    assert policy.tools_of("confirmation") == {"Hotels_4_ReserveHotel", "book_flight"}


def test_a_domain_without_writes_has_no_policy():
    reads = [t for t in shop_tools() if t.name in ("get_user", "list_orders", "search_users")]
    assert build_domain(0, reads, rows=3).policy is None


# --- state rules: the simulator refuses, the state stays --------------------------------------------------

def test_transition_refuses_a_final_or_identical_status_and_allows_the_rest():
    sim = store({order(1): "cancelled", order(2): "pending", order(3): "delivered"})
    cancel = rule(sim, "transition", value="cancelled")
    assert {"cancelled", "delivered"} <= set(cancel.refused_from) and "pending" not in cancel.refused_from
    assert_refused(sim, cancel, "cancel_order", order_id=order(1))  # already cancelled
    assert_refused(sim, cancel, "cancel_order", order_id=order(3))  # delivered: too late
    result, error = call(sim, "cancel_order", order_id=order(2))
    assert not error and result["updated"][0]["status"] == "cancelled"
    assert_refused(sim, cancel, "cancel_order", order_id=order(2))  # now it is cancelled


def test_other_updates_leave_a_row_at_a_final_status_alone():
    sim = store({order(1): "cancelled"})
    frozen = rule(sim, "transition", value=None)
    assert "update_order" in frozen.tools and "cancelled" in frozen.refused_from
    assert_refused(sim, frozen, "update_order", order_id=order(1), new_quantity=2)
    assert not call(sim, "update_order", order_id=order(2), new_quantity=2)[1]


def test_an_update_that_changes_nothing_is_refused():
    sim = store()
    order = sim.rows("orders")[1]
    same = rule(sim, "transition", column=None)
    assert {"update_order", "update_order_address"} <= set(same.tools) and "cancel_order" not in same.tools
    assert_refused(sim, same, "update_order", order_id=order["order_id"], new_quantity=order["quantity"])
    other = 1 if order["quantity"] != 1 else 2
    assert not call(sim, "update_order", order_id=order["order_id"], new_quantity=other)[1]


def test_ownership_refuses_a_row_named_with_another_owner():
    sim = store()
    order = sim.rows("orders")[0]
    other = next(u["user_id"] for u in sim.rows("users") if u["user_id"] != order["user_id"])
    owns = rule(sim, "ownership", table="orders")
    assert_refused(sim, owns, "update_order_address", order_id=order["order_id"], user_id=other, address="1 Main St")
    result, error = call(sim, "update_order_address", order_id=order["order_id"], user_id=order["user_id"],
                         address="1 Main St")
    assert not error and result["updated"][0]["address"] == "1 Main St"


def test_ownership_refuses_a_delete_under_another_parent():
    sim = store()
    note = sim.rows("notes")[0]
    other = next(o["order_id"] for o in sim.rows("orders") if o["order_id"] != note["order_id"])
    assert_refused(sim, rule(sim, "ownership", table="notes"), "delete_order_note", note_id=note["note_id"],
                   order_id=other)
    assert not call(sim, "delete_order_note", note_id=note["note_id"], order_id=note["order_id"])[1]
    assert note not in sim.rows("notes")


def test_limits_bound_written_values_by_meaning_and_by_schema():
    sim = store()
    user = sim.rows("users")[0]["user_id"]
    quantity = rule(sim, "limit", column="quantity")
    price = rule(sim, "limit", column="price")
    assert (quantity.minimum, quantity.maximum) == (1, 20)  # the schema's bounds win over the meaning's
    assert price.exclusive_minimum and price.minimum == 0 and price.maximum >= max(o["price"] for o in
                                                                                    sim.rows("orders"))
    assert_refused(sim, quantity, "create_order", user_id=user, item="pen", quantity=0, price=2.5)
    assert_refused(sim, quantity, "update_order", order_id=order(1), new_quantity=21)
    assert_refused(sim, price, "create_order", user_id=user, item="pen", quantity=1, price=0)
    assert_refused(sim, price, "create_order", user_id=user, item="pen", quantity=1, price=price.maximum + 1)
    assert not call(sim, "create_order", user_id=user, item="pen", quantity=20, price=2.5)[1]


def test_swagger_exclusive_bounds_are_flags_and_refuse_the_bound_itself():
    """Swagger 2.0 marks a strict bound with ``exclusiveMinimum: true`` beside ``minimum`` (JSON Schema 6+ gives
    the number): a discount of "more than 0 and less than 100" refuses 0 and 100 themselves."""
    share = {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 100, "exclusiveMaximum": True}
    sim = DomainSimulator(build_domain(0, [
        tool("get_coupon", {"coupon_id": s()}, ["coupon_id"], "Get a coupon."),
        tool("update_coupon", {"coupon_id": s(), "discount": share}, ["coupon_id", "discount"],
             "Change a coupon's discount.")], rows=4))
    limit = rule(sim, "limit", column="discount")
    assert (limit.minimum, limit.maximum, limit.exclusive_minimum, limit.exclusive_maximum) == (0, 100, True, True)
    assert "more than 0 and less than 100" in limit.text
    coupon = sim.rows("coupons")[0]["coupon_id"]
    assert_refused(sim, limit, "update_coupon", coupon_id=coupon, discount=0)
    assert_refused(sim, limit, "update_coupon", coupon_id=coupon, discount=100)
    assert not call(sim, "update_coupon", coupon_id=coupon, discount=99.5)[1]


def test_a_quota_limits_the_rows_one_owner_may_have():
    sim = store()
    quota = rule(sim, "limit", column="user_id")
    assert quota.owner == "users" and quota.tools == ["create_order"]
    user = sim.rows("users")[0]["user_id"]
    held = sum(o["user_id"] == user for o in sim.rows("orders"))
    for _ in range(int(quota.maximum) - held):
        assert not call(sim, "create_order", user_id=user, item="pen", quantity=1, price=2.5)[1]
    assert_refused(sim, quota, "create_order", user_id=user, item="pen", quantity=1, price=2.5)


def test_a_refusal_is_not_a_broken_tool_in_the_build_check():
    sim = store({order(n): "cancelled" for n in range(1, 7)})  # every row is past cancelling
    spec = sim.spec
    cancel = spec.tool("cancel_order")
    assert refused_rule(sim.replay(0, [{"name": "cancel_order", "arguments": {"order_id": order(1)}}])
                        .observations[0].observation) is not None
    check_tool(sim, spec, cancel, random.Random(0))
    assert cancel.executable and cancel.reason is None


# --- process rules: found in the conversation ----------------------------------------------------------

def test_identity_needs_a_lookup_of_the_owner_before_a_write():
    sim = store()
    order = sim.rows("orders")[0]
    owner = order["user_id"]
    other = next(u["user_id"] for u in sim.rows("users") if u["user_id"] != owner)
    write = ("update_order", {"order_id": order["order_id"], "new_quantity": 3})
    codes = lambda messages: [f.code for f in process_violations(sim.spec, messages)]
    sim.reset(0)
    assert codes(converse(sim, ("user", "Make it 3."), write)) == ["unidentified_write"]
    sim.reset(0)
    assert codes(converse(sim, ("get_user", {"user_id": other}), write)) == ["unidentified_write"]
    sim.reset(0)
    assert codes(converse(sim, ("get_user", {"user_id": owner}), write)) == []
    sim.reset(0)
    assert codes(converse(sim, ("list_orders", {"user_id": owner}), write)) == []
    sim.reset(0)  # a failed lookup identifies no one; a failed write writes nothing
    assert codes(converse(sim, ("get_user", {"user_id": "nobody"}), write)) == ["unidentified_write"]
    sim.reset(0)
    assert codes(converse(sim, ("update_order", {"order_id": "nothing", "new_quantity": 3}))) == []


def test_confirmation_needs_a_question_and_a_yes_before_a_destructive_write():
    sim = store()
    owner = sim.rows("orders")[0]["user_id"]
    lookup, cancel = ("get_user", {"user_id": owner}), ("cancel_order", {"order_id": order(1)})
    ask = ("assistant", "I am about to cancel order order_1. Shall I go ahead?")
    codes = lambda *turns: [f.code for f in process_violations(sim.spec, converse(sim, *turns))]
    for turns, expected in [
        ((lookup, cancel), ["unconfirmed_destructive_write"]),
        ((lookup, ask, ("user", "Yes, please go ahead."), cancel), []),
        ((lookup, ask, ("user", "No, keep it."), cancel), ["unconfirmed_destructive_write"]),
        ((lookup, ("assistant", "Cancelling it now."), ("user", "Yes."), cancel), ["unconfirmed_destructive_write"]),
        ((lookup, ask, ("user", "yes"), ("user", "actually, wait"), cancel), ["unconfirmed_destructive_write"]),
    ]:
        sim.reset(0)
        assert codes(*turns) == expected, turns


def test_what_counts_as_asking_and_as_a_yes():
    assert asks_confirmation("Shall I cancel order 3?") and asks_confirmation("Do you want me to proceed?")
    assert not asks_confirmation("Shall I cancel order 3.") and not asks_confirmation("What is your user id?")
    assert all(says_yes(t) for t in ("Yes", "yes, go ahead", "OK do it", "Sure!", "Confirmed."))
    assert not any(says_yes(t) for t in ("No", "Not yet", "yesterday I ordered", "Why?"))


def test_replayed_observations_take_the_place_of_tool_messages():
    sim = store()
    owner = sim.rows("orders")[0]["user_id"]
    messages = converse(sim, ("get_user", {"user_id": owner}), ("update_order", {"order_id": order(1),
                                                                                "new_quantity": 3}))
    failed_lookup = json.dumps({"error": "no user matches"})
    assert process_violations(sim.spec, messages) == []
    assert [f.code for f in process_violations(sim.spec, messages, [failed_lookup, messages[-1]["content"]])] == [
        "unidentified_write"]


# --- storage ---------------------------------------------------------------------------------------------

def test_the_policy_is_stored_with_the_environment_and_round_trips(tmp_path):
    summary = build_envs(make_run(tmp_path, [shop_tools(), store_tools()]), rows=4, workers=1)
    stored = json.loads((tmp_path / "envs" / "domains" / "0.json").read_text())["policy"]
    loaded = load_env(tmp_path, 0)
    assert stored == loaded.policy.model_dump(mode="json") and loaded.policy.rules
    assert EnvSpec.model_validate_json(loaded.model_dump_json()).policy == loaded.policy
    totals = summary["totals"]["policy"]
    assert totals["write_domains"] == totals["with_policy"] == 2 and totals["share_with_policy"] == 1
    rules = [r for d in (0, 1) for r in load_env(tmp_path, d).policy.rules]
    assert totals["rules_per_write_domain"] == len(rules) / 2
    assert sum(totals["rules_by_kind"].values()) == len(rules)


@pytest.mark.parametrize("kind", ["transition", "ownership", "limit", "identity", "confirmation"])
def test_the_store_has_a_rule_of_every_kind(kind):
    assert any(r.kind == kind for r in store().spec.policy.rules)


def accounts() -> DomainSimulator:
    """Members with an email and a username, projects nothing owns, settings with a flag."""
    spec = build_domain(0, [
        tool("get_member", {"member_id": s()}, ["member_id"], "Get a member."),
        tool("create_member", {"name": s(), "email": s(), "username": s()}, ["name", "email", "username"],
             "Create a member."),
        tool("update_member_email", {"member_id": s(), "email": s()}, ["member_id", "email"], "Change an email."),
        tool("create_project", {"name": s(), "budget": {"type": "number"}}, ["name"], "Create a project."),
        tool("list_projects", {}, [], "List the projects."),
        tool("enable_autopay", {}, [], "Turn on automatic payments."),
        tool("disable_autopay", {}, [], "Turn off automatic payments."),
    ], rows=6)
    return DomainSimulator(spec)


def test_a_natural_key_or_a_projects_name_another_row_holds_is_refused():
    sim = accounts()
    email, username = rule(sim, "unique", column="email"), rule(sim, "unique", column="username")
    assert set(email.tools) == {"create_member", "update_member_email"} and username.tools == ["create_member"]
    assert not any(r.kind == "unique" and r.table == "members" and r.column == "name" for r in sim.spec.policy.rules)
    first, second = sim.rows("members")[:2]
    assert_refused(sim, email, "create_member", name="Ann Lee", email=first["email"].upper(), username="annlee")
    assert_refused(sim, username, "create_member", name="Ann Lee", email="ann@example.org",
                   username=first["username"])
    assert_refused(sim, email, "update_member_email", member_id=first["member_id"], email=second["email"])
    assert not call(sim, "create_member", name=first["name"], email="ann@example.org", username="annlee")[1]
    assert not call(sim, "update_member_email", member_id=first["member_id"], email="new@example.org")[1]
    project = rule(sim, "unique", table="projects", column="name")  # a project nothing owns: its name is unique
    assert_refused(sim, project, "create_project", name=sim.rows("projects")[0]["name"])


def test_the_account_holds_at_most_so_many_of_its_own_rows():
    sim = accounts()
    cap = rule(sim, "limit", table="projects", column=None)
    assert cap.maximum == 20 and cap.owner is None and "at most 20 projects" in cap.text  # twice 6 rows, + 1
    for n in range(20 - len(sim.rows("projects"))):
        assert not call(sim, "create_project", name=f"Project {n}")[1]
    assert_refused(sim, cap, "create_project", name="One too many")


def test_turning_on_a_flag_that_is_on_is_refused():
    sim = accounts()
    same = rule(sim, "transition", column=None)
    assert {"enable_autopay", "disable_autopay"} <= set(same.tools)
    column = next(a.column for a in sim.spec.tool("enable_autopay").operation.assign)
    on = bool(sim.rows(sim.spec.tool("enable_autopay").table)[0][column])
    assert_refused(sim, same, "enable_autopay" if on else "disable_autopay")
    result, error = call(sim, "disable_autopay" if on else "enable_autopay")
    assert not error and result["updated"][0][column] == (not on)
    assert_refused(sim, same, "disable_autopay" if on else "enable_autopay")
