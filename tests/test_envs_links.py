"""Identifier columns that several tools share link their tables: ToolBench's glued ``customerid`` is a key."""

from __future__ import annotations

import random

from envs_helpers import s, tool

from agentscaler.envs import DomainSimulator, build_domain, infer_schema
from agentscaler.tasks.plan import PlanError, sample_plan


def crm_tools():
    """A RapidAPI-style CRM: every parameter lower-case and glued, no tool about customers' own rows but one."""
    return [
        tool("getcustomer", {"customerid": s()}, ["customerid"], "Get a customer."),
        tool("listorders", {"customerid": s(), "status": s()}, ["customerid"], "List a customer's orders."),
        tool("getorder", {"orderid": s()}, ["orderid"], "Get an order."),
        tool("listinvoices", {"customerid": s(), "valid": s()}, ["customerid"], "List a customer's invoices."),
        tool("getinvoice", {"invoiceid": s()}, ["invoiceid"], "Get an invoice."),
    ]


def test_a_shared_glued_identifier_is_a_foreign_key_to_the_table_that_owns_it():
    tables, _ = infer_schema(crm_tools())
    by_name = {t.name: t for t in tables}
    assert by_name["customers"].primary_key == "customer_id"
    for child in ("orders", "invoices"):
        assert [(fk.column, fk.table, fk.ref_column) for fk in by_name[child].foreign_keys] == [
            ("customer_id", "customers", "customer_id")]
    assert "valid" in {c.name for c in by_name["invoices"].columns}  # a word ending in "id" is no key


def test_a_glued_identifier_no_table_owns_gets_its_entity_table():
    tables, _ = infer_schema([
        tool("listflags", {"projectid": s()}, ["projectid"], "List feature flags."),
        tool("listreleases", {"projectid": s()}, ["projectid"], "List releases."),
    ])
    by_name = {t.name: t for t in tables}
    assert by_name["projects"].primary_key == "project_id"
    assert {fk.column for t in (by_name["flags"], by_name["releases"]) for fk in t.foreign_keys
            if fk.table == "projects"} == {"project_id"}


def test_a_shared_key_slug_or_uuid_is_a_foreign_key_like_an_id():
    tables, _ = infer_schema([
        tool("get_project", {"projectKey": s()}, ["projectKey"], "Get a project."),
        tool("list_environments", {"projectKey": s()}, ["projectKey"], "List a project's environments."),
        tool("get_chain", {"chain_slug": s()}, ["chain_slug"], "Get a chain."),
        tool("list_pairs", {"chain_slug": s(), "monkey_key": s()}, ["chain_slug"], "List trading pairs."),
    ])
    by_name = {t.name: t for t in tables}
    assert by_name["projects"].primary_key == "project_id" and by_name["chains"].primary_key == "chain_id"
    assert [(fk.column, fk.table) for fk in by_name["environments"].foreign_keys] == [("project_id", "projects")]
    assert [(fk.column, fk.table) for fk in by_name["pairs"].foreign_keys] == [("chain_id", "chains")]
    assert "monkey_key" in {c.name for c in by_name["pairs"].columns}  # no tool talks about monkeys: a column


def test_synthesized_child_rows_reference_existing_customers():
    spec = build_domain(0, crm_tools())
    for state in spec.states:
        customers = {row[0] for row in state["customers"]}
        for child in ("orders", "invoices"):
            position = [c.name for c in spec.table(child).columns].index("customer_id")
            values = {row[position] for row in state[child]}
            assert values and values <= customers


def walks(tools: list, first: str, draws: int = 20):
    """The plans of ``draws`` two-goal walks from ``first`` on a domain of these tools (a draw that fails is
    skipped)."""
    spec = build_domain(0, tools)
    sim, rng = DomainSimulator(spec), random.Random(0)
    executable = [t for t in spec.tools if t.executable]
    for _ in range(draws):
        try:
            yield sample_plan(sim, 0, spec.tool(first), rng, goals=2, tools=executable)
        except PlanError:
            continue


def test_a_walk_goes_from_an_order_to_the_same_customers_invoices():
    """The second sub-goal takes the customer id the first call returned: the user never says it."""
    chained = 0
    for plan in walks(crm_tools(), "listorders"):
        if len(plan.goals) < 2:
            continue
        second = plan.steps[plan.goals[1].step]
        param = next((p for p in second.found if p == "customerid"), None)
        if second.tool.name in ("listinvoices", "getcustomer") and param is not None:
            assert second.arguments[param] in plan.steps[second.found[param]].observation
            chained += 1
    assert chained >= 5


def mma_tools():
    """ToolBench's MMA API: each endpoint name one glued run, each key glued, no response schemas."""
    return [
        tool("tournamentdetails_for_mmaapi", {"tournamentid": s()}, ["tournamentid"], "Get a tournament."),
        tool("categorytournaments_for_mmaapi", {"categoryid": s()}, ["categoryid"], "A category's tournaments."),
        tool("tournamentnextmainevents_for_mmaapi", {"tournamentid": s(), "page": s()}, ["tournamentid"],
             "Next main events of a tournament."),
        tool("eventstatistics_for_mmaapi", {"eventid": s()}, ["eventid"], "Statistics of an event."),
    ]


def test_a_glued_endpoint_name_is_read_as_words_so_its_rows_are_the_entity_it_names():
    """``tournamentdetails`` reads the tournaments table, not a table of its own that no key reaches."""
    tables, drafts = infer_schema(mma_tools())
    by_tool = {d.tool.name.split("_for_")[0]: d.entity for d in drafts}
    assert by_tool == {"tournamentdetails": "tournament", "categorytournaments": "tournament",
                       "tournamentnextmainevents": "event", "eventstatistics": "statistics"}
    by_name = {t.name: t for t in tables}
    assert {(fk.column, fk.table) for fk in by_name["tournaments"].foreign_keys} == {("category_id", "categories")}
    assert {(fk.column, fk.table) for fk in by_name["events"].foreign_keys} == {("tournament_id", "tournaments")}
    assert {(fk.column, fk.table) for fk in by_name["statistics"].foreign_keys} == {("event_id", "events")}
    # a table other rows refer to gets a name a person knows it by; the statistics no row refers to do not
    assert [t.name for t in tables if "name" in {c.name for c in t.columns}] == ["tournaments", "events", "categories"]


def test_a_walk_goes_from_a_categorys_tournaments_to_one_tournaments_events_by_the_key_it_returned():
    """The tournament is singled out by its name; no lookup calls a category's tournaments with the very category
    id it is looking for."""
    chained = 0
    for plan in walks(mma_tools(), "categorytournaments_for_mmaapi"):
        steps = [s for s in plan.steps if s.tool.name.startswith("tournamentnextmainevents")]
        for step in steps:
            if "tournamentid" in step.found:
                assert str(step.arguments["tournamentid"]) in plan.steps[step.found["tournamentid"]].observation
                chained += 1
    assert chained >= 3


def test_a_key_a_later_tool_takes_as_a_string_is_still_the_one_an_earlier_call_returned():
    """NHL's ``getteam`` takes the team's id as a number and ``getschedule`` as a string: "3" is team 3, found by
    the earlier call, not a value the user must know."""
    nhl = [tool("getteam_for_nhl", {"id": {"type": "number"}}, ["id"], "Get a team."),
           tool("getschedule_for_nhl", {"teamid": s(), "date": s()}, ["teamid"], "A team's schedule.")]
    chained = 0
    for plan in walks(nhl, "getteam_for_nhl", draws=10):
        for step in plan.steps[1:]:
            if step.tool.name == "getschedule_for_nhl":
                assert isinstance(step.arguments["teamid"], str) and step.found.get("teamid") == 0
                chained += 1
    assert chained >= 3


def test_a_unique_or_external_id_is_a_column_of_its_own_row_not_a_reference():
    """traccar's ``uniqueId`` (a device's IMEI) and an ``external_id`` name no table: as references to "uniques"
    their values repeated across devices, drawn from a parent table's ten keys."""
    spec = build_domain(0, [
        tool("get_devices", {"uniqueId": s(), "external_id": s(), "name": s()}, [], "Fetch devices."),
        tool("update_device", {"id": {"type": "integer"}, "uniqueId": s()}, ["id"], "Update a device."),
    ])
    assert [t.name for t in spec.tables] == ["devices"] and not spec.table("devices").foreign_keys
    columns = [c.name for c in spec.table("devices").columns]
    for state in spec.states:
        values = [row[columns.index("unique_id")] for row in state["devices"]]
        assert len(set(values)) == len(values)


def test_a_bare_id_of_an_owner_subject_name_is_the_owners_key():
    """``teamnextevents(id)`` takes a team's id and lists that team's events, as ``/teams/{id}/events`` would;
    ``eventdetails(id)`` takes the event's own; an adjective (``unique``) is no owner."""
    number = {"type": "number"}
    _, drafts = infer_schema([
        tool("teamdetails_for_mmaapi", {"id": number}, ["id"], "A team's details."),
        tool("teamnextevents_for_mmaapi", {"id": number, "page": number}, ["id"], "A team's next events."),
        tool("eventdetails_for_mmaapi", {"id": number}, ["id"], "An event's details."),
        tool("uniqueeventstatistics_for_mmaapi", {"id": number}, ["id"], "An event's statistics."),
    ])
    bound = {d.tool.name.split("_for_")[0]: next(b.column for b in d.bindings if b.param == "id") for d in drafts}
    assert bound == {"teamdetails": "team_id", "teamnextevents": "team_id", "eventdetails": "event_id",
                     "uniqueeventstatistics": "event_id"}
