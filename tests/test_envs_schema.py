"""Schema inference, kinds and compilation: the users/orders domain, then real corpora."""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter

import pytest
import sqlglot
from envs_helpers import bfcl_groups, call, i, s, shop_tools, tool, toolbench_groups

from agentscaler.envs import DomainSimulator, build_domain, classify, infer_schema, render_ddl, sample_arguments
from agentscaler.tasks.plan import PlanError, sample_plan


def test_shop_domain_has_users_and_orders_with_a_foreign_key():
    tables, drafts = infer_schema(shop_tools())
    by_name = {t.name: t for t in tables}
    assert set(by_name) == {"users", "orders"}
    orders = by_name["orders"]
    assert orders.primary_key == "order_id" and by_name["users"].primary_key == "user_id"
    assert [(fk.column, fk.table, fk.ref_column) for fk in orders.foreign_keys] == [("user_id", "users", "user_id")]
    assert {c.name: c.type for c in orders.columns} == {
        "order_id": "TEXT", "user_id": "TEXT", "item": "TEXT", "quantity": "INTEGER"}
    assert "user_id" in orders.indexes
    assert {c.name for c in by_name["users"].columns} == {"user_id", "name", "age"}  # q searches name, min/max_age
    kinds = {d.tool.name: (d.kind, d.entity) for d in drafts}
    assert kinds == {"get_user": ("read", "user"), "create_order": ("create", "order"),
                     "cancel_order": ("delete", "order"), "list_orders": ("read", "order"),
                     "update_order": ("update", "order"), "search_users": ("read", "user")}


def test_ddl_is_built_by_sqlglot_parses_back_and_runs_in_sqlite():
    tables, _ = infer_schema(shop_tools())
    ddl = render_ddl(tables)
    assert any(sql.startswith('CREATE TABLE "orders"') and 'FOREIGN KEY ("user_id") REFERENCES "users" ("user_id")'
               in sql for sql in ddl)
    assert 'CREATE INDEX "ix_orders_user_id" ON "orders"("user_id")' in ddl
    db = sqlite3.connect(":memory:")
    for sql in ddl:
        assert sqlglot.parse_one(sql, read="sqlite").sql(dialect="sqlite") == sql
        db.execute(sql)
    assert {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {"users", "orders"}


def test_reserved_words_and_odd_names_become_safe_identifiers():
    tables, drafts = infer_schema([tool("get_order", {"order": s(), "from": s(), "2fa-code": s(), "is_id": s()})])
    columns = {c.name for c in tables[0].columns}
    assert {"order", "from", "c_2fa_code", "order_id"} <= columns  # ToolBench's is_id is the entity's id
    db = sqlite3.connect(":memory:")
    for sql in render_ddl(tables):
        db.execute(sql)


@pytest.mark.parametrize(("name", "description", "kind"), [
    ("get_weather", "", "read"), ("search_flights", "", "read"), ("calculate_bmi", "", "read"),
    ("create_account", "", "create"), ("book_hotel", "", "create"), ("postComment", "", "create"),
    ("update_profile", "", "update"), ("setVolume", "", "update"), ("rename_file", "", "update"),
    ("delete_file", "", "delete"), ("cancel_booking", "", "update"), ("remove_item", "", "delete"),
    ("triangle_properties.get", "", "read"),  # the verb may come last (BFCL)
    ("user_profile", "Updates the profile of a user.", "update"),  # no verb in the name: the description
    ("xyz", "", "read"),  # no verb at all: a read, which cannot corrupt state
    ("new_releases", "", "read"), ("close_price", "", "read"),  # adjective / noun, not verbs
    ("year_month_json_for_ny_times_archive", "Pass in year and month and get back JSON", "read"),  # provider name
    ("delete_post_for_blog_api", "", "delete"),
])
def test_kind_comes_from_the_first_verb(name, description, kind):
    assert classify(name, description) == kind


def test_each_kind_compiles_to_its_statement():
    spec = build_domain(0, shop_tools(), rows=4)
    ops = {t.name: t.operation for t in spec.tools}
    assert ops["get_user"].sql == 'SELECT * FROM "users" WHERE "user_id" = :p0 ORDER BY "user_id" LIMIT 50'
    assert ops["get_user"].single_row and not ops["list_orders"].single_row
    assert ops["list_orders"].sql.endswith('WHERE "user_id" = :p0 ORDER BY "order_id" LIMIT :p1')
    assert ops["create_order"].sql.startswith('INSERT INTO "orders" ("user_id", "item", "quantity", "order_id")')
    assert ops["create_order"].generated_key
    assert ops["cancel_order"].sql == 'DELETE FROM "orders" WHERE "order_id" = :p0 RETURNING "rowid"'
    assert ops["update_order"].sql == 'UPDATE "orders" SET "quantity" = :p1 WHERE "order_id" = :p0 RETURNING "rowid"'
    search = ops["search_users"].sql
    assert "\"name\" LIKE ('%' || :p0 || '%')" in search and '"age" >= :p1' in search and '"age" <= :p2' in search
    assert all(t.executable for t in spec.tools)


def test_uncompilable_tools_are_reported_with_a_reason():
    spec = build_domain(0, [tool("update_thing", {"thing_id": s()}, ["thing_id"]), tool("delete_everything"),
                            tool("get_thing", {"thing_id": s()}, ["thing_id"])])
    by_name = {t.name: t for t in spec.tools}
    assert not by_name["update_thing"].executable and "nothing to set" in by_name["update_thing"].reason
    assert not by_name["delete_everything"].executable and "without a filter" in by_name["delete_everything"].reason
    assert by_name["get_thing"].executable and by_name["get_thing"].reason is None


def test_duplicate_names_in_a_domain_are_made_unique():
    spec = build_domain(0, [tool("get_item", {"a": s()}), tool("get_item", {"b": s()})])
    assert [t.name for t in spec.tools] == ["get_item", "get_item_2"]
    assert spec.tools[1].openai_schema["function"]["name"] == "get_item_2"


def _rate(groups) -> float:
    tools = executable = 0
    for d, group in enumerate(groups):
        spec = build_domain(d, group, states=1, rows=5)
        for t in spec.tools:
            assert t.executable or t.reason, t.name  # never silently broken
            assert (t.operation is not None) or not t.executable
        tools += len(spec.tools)
        executable += sum(t.executable for t in spec.tools)
    return executable / tools


def test_real_toolbench_domains_compile(shared_data):
    rate = _rate(toolbench_groups(shared_data, limit=60))
    print(f"ToolBench executable rate: {rate:.3f}")
    assert rate > 0.9


def test_real_bfcl_domains_compile(shared_data):
    rate = _rate(bfcl_groups(shared_data, limit=60))
    print(f"BFCL executable rate: {rate:.3f}")
    assert rate > 0.8


def test_a_reference_takes_its_parents_key_type_whatever_a_result_schema_says():
    listing = tool("list_domains", {"limit": i()}, returns={"type": "array", "items": {"type": "object", "properties": {
        "user_id": {"type": "number"}, "domain": {"type": "string"}}}})
    spec = build_domain(0, [listing, tool("get_user", {"user_id": i()}, ["user_id"])], rows=4, states=1)
    domains = spec.table("domains")
    assert domains.column("user_id").type == spec.table("users").column("user_id").type == "INTEGER"
    assert all(t.executable for t in spec.tools), [t.reason for t in spec.tools]  # the state loads: keys match


def test_arguments_get_the_column_budget_before_result_properties():
    """A result schema with a hundred fields must not leave a later tool's arguments without columns."""
    wide = {"type": "object", "properties": {f"field_{n}": {"type": "string"} for n in range(100)}}
    get = tool("get_invoice", {"invoice_id": i()}, ["invoice_id"], returns=wide)
    search = tool("search_invoices", {"customer_email": s(), "currency": s(), "due_before": s()})
    spec = build_domain(0, [get, search], rows=4, states=1)
    columns = {c.name for c in spec.table("invoices").columns}
    assert {"customer_email", "currency", "due_before"} <= columns and len(columns) <= 64
    assert all(t.executable for t in spec.tools), [t.reason for t in spec.tools]


def test_a_reads_boolean_switch_binds_no_column_and_is_accepted_and_ignored():
    """traccar's ``GET /devices?all=true``: ``all`` is no field of a device, so it changes how the read answers, not
    which rows match; ``disabled`` is a device's field, a filter. Without an answer schema a boolean stays."""
    device = {"type": "object", "properties": {"id": i(), "name": s(), "disabled": {"type": "boolean"}}}
    flag = {"type": "boolean"}
    listing = tool("get_devices", {"all": flag, "disabled": flag, "name": s()}, [], "Fetch a list of devices.",
                   http_method="GET", http_path="/devices", returns={"type": "array", "items": device})
    spec = build_domain(0, [listing, tool("get_groups", {"all": flag}, [], "Fetch a list of groups.")], rows=5)
    devices = spec.table("devices")
    assert "all" not in [c.name for c in devices.columns] and "disabled" in [c.name for c in devices.columns]
    assert [b.param for b in spec.tool("get_devices").operation.bindings] == ["disabled", "name"]
    assert "all" in [b.param for b in spec.tool("get_groups").operation.bindings]  # no answer schema: a filter
    sim = DomainSimulator(spec)
    answer, error = call(sim, "get_devices", all=True)
    assert not error and answer == call(sim, "get_devices")[0] and len(answer) == 5  # accepted, changes nothing


def test_a_switch_for_what_an_answer_includes_binds_no_column():
    """LocationIQ's search (ToolBench: no answer schema): ``addressdetails`` ("Include a breakdown of the address")
    and ``statecode`` ("Adds state or province code...") are 0/1 switches for what the answer holds (a user was asked
    to "search for locationiqs by accept language, address details and bounded"); a flag that narrows the rows
    ("Return only open places") stays a filter."""
    search = tool("search_for_locationiq", {
        "q": s("Address to geocode"), "addressdetails": {**i("Include a breakdown of the address into elements."),
                                                         "default": 1},
        "statecode": {**i("Adds state or province code when available to the address."), "default": "0"},
        "open_only": {"type": "boolean", "description": "Return only open places."}}, ["q"], "Geocode an address.")
    create = tool("create_place", {"name": s(), "notify": {"type": "boolean", "description": "Adds the place to the "
                                                                                       "owner's feed."}}, ["name"],
                  "Create a place.", http_method="POST", http_path="/places")  # a write's switch is its effect
    spec = build_domain(0, [search, create], rows=5)
    assert [b.param for b in spec.tool("search_for_locationiq").operation.bindings] == ["q", "open_only"]
    assert [b.param for b in spec.tool("create_place").operation.bindings] == ["name", "notify"]
    answer, error = call(DomainSimulator(spec), "search_for_locationiq", q="a", addressdetails=1, statecode=0)
    assert not error


def test_what_orders_an_answer_binds_no_column_and_is_accepted_and_ignored():
    """Adzuna's ``search_jobs(what, sort_by, sort_direction)``: the ordering parameters say how the rows come, not which
    match, so no user is asked to "search jobs by sort direction". An ``order`` that is no direction (a derivative's,
    a shop's order number) stays a parameter like any other."""
    search = tool("search_jobs", {"what": s(), "sort_by": s(), "sort_direction": s(),
                                  "order": {"type": "string", "enum": ["asc", "desc"]}}, ["what", "sort_by"],
                  "Search jobs.")  # catalogapi requires its sort: a call without it is still valid
    orders = tool("find_order", {"order": s("The order number.")}, ["order"], "Find an order.")
    spec = build_domain(0, [search, orders], rows=5)
    assert [b.param for b in spec.tool("search_jobs").operation.bindings] == ["what"]
    assert spec.tool("search_jobs").openai_schema["function"]["parameters"]["required"] == ["what"]
    assert [b.param for b in spec.tool("find_order").operation.bindings] == ["order"]
    sim = DomainSimulator(spec)
    what = sim.rows(spec.tool("search_jobs").table)[0]["what"]
    answer, error = call(sim, "search_jobs", what=what, sort_by="date", sort_direction="up", order="desc")
    assert not error and answer == call(sim, "search_jobs", what=what)[0] and answer


def test_a_listings_rows_are_its_items_not_the_listing():
    """Google's ``{kind, etag, items: [TaskList], nextPageToken}`` and AWS's ``{Images, NextToken}``: the listing's
    own fields are no fields of a row; a record holding an array of parts (an order's lines) stays a record."""
    task_list = {"type": "object", "properties": {"id": s(), "title": s(), "updated": s()}}
    listing = {"type": "object", "properties": {"kind": s(), "etag": s(), "nextPageToken": s(),
                                                "items": {"type": "array", "items": task_list}}}
    line = {"type": "object", "properties": {"sku": s(), "quantity": i()}}
    order = {"type": "object",
             "properties": {"order_id": s(), "status": s(), "lines": {"type": "array", "items": line}}}
    spec = build_domain(0, [tool("tasklists_list", {}, [], "Lists the task lists.", returns=listing),
                            tool("get_order", {"order_id": s()}, ["order_id"], "Get an order.", returns=order)], rows=3)
    lists = [c.name for c in spec.table(spec.tool("tasklists_list").table).columns]
    assert {"title", "updated"} <= set(lists) and not {"items", "next_page_token", "kind"} & set(lists)
    assert "lines" in [c.name for c in spec.table("orders").columns]


def test_a_wrapper_and_its_counts_are_no_fields_of_the_row():
    """AWS WorkDocs answers ``{Users: [User], TotalNumberOfUsers, Marker}`` and ``{User: {...}}``: each user is
    a row, and no row holds a ``users`` list, a ``user`` copy of itself or the listing's count."""
    user = {"type": "object", "properties": {"Id": s(), "Username": s(), "EmailAddress": s()}}
    listing = {"type": "object", "properties": {"Users": {"type": "array", "items": user}, "Marker": s(),
                                                "TotalNumberOfUsers": i()}}
    spec = build_domain(0, [tool("DescribeUsers", {}, [], "Describes the users.", returns=listing),
                            tool("CreateUser", {"Username": s(), "EmailAddress": s()}, ["Username"], "Creates a user.",
                                 returns={"type": "object", "properties": {"User": user}})], rows=3)
    columns = {c.name for c in spec.table(spec.tool("DescribeUsers").table).columns}
    assert spec.tool("CreateUser").table == spec.tool("DescribeUsers").table
    assert {"username", "email_address"} <= columns
    assert not {"users", "user", "marker", "total_number_of_users"} & columns


def test_a_searchs_opaque_body_is_its_query_not_a_filter():
    """``POST /users/query`` with a body the spec leaves opaque: no row holds the query, so no user is asked to
    "look up users by body"; the tool accepts the body and ignores it. A create stores its opaque body."""
    search = tool("search_users", {"body": s("The query.")}, ["body"], "Search users.", http_method="POST",
                  http_path="/users/query")
    create = tool("create_note", {"body": s("The note's text.")}, ["body"], "Create a note.", http_method="POST",
                  http_path="/notes")
    spec = build_domain(0, [search, create], rows=4)
    assert spec.tool("search_users").operation.bindings == []
    assert [b.param for b in spec.tool("create_note").operation.bindings] == ["body"]
    assert spec.tool("search_users").openai_schema["function"]["parameters"]["required"] == []
    answer, error = call(DomainSimulator(spec), "search_users", body='{"name": "x"}')
    assert not error and len(answer) == 4


def google_tasks_tools():
    """Google Tasks' style: a bare path parameter after a collection (``/lists/{tasklist}/tasks/{task}``) is the
    row's identifier, and an insert's body carries an optional ``id`` the server assigns."""
    task_fields = {"title": s(), "notes": s(), "status": s()}
    paths = {"list": "/users/@me/lists", "get": "/users/@me/lists/{tasklist}", "tasks": "/lists/{tasklist}/tasks",
             "task": "/lists/{tasklist}/tasks/{task}"}
    return [
        tool("tasklists_list", {}, [], "Lists the tasklists.", http_method="GET", http_path=paths["list"]),
        tool("tasklists_get", {"tasklist": s()}, ["tasklist"], "Returns a tasklist.", http_method="GET",
             http_path=paths["get"]),
        tool("tasks_list", {"tasklist": s()}, ["tasklist"], "Lists a tasklist's tasks.", http_method="GET",
             http_path=paths["tasks"]),
        tool("tasks_insert", {"tasklist": s(), "id": s(), **task_fields}, ["tasklist"], "Creates a new task.",
             http_method="POST", http_path=paths["tasks"]),
        tool("tasks_patch", {"tasklist": s(), "task": s(), **task_fields}, ["tasklist", "task"],
             "Updates the specified task.", http_method="PATCH", http_path=paths["task"]),
    ]


def test_a_path_parameter_after_a_collection_is_that_collections_key():
    tables, drafts = infer_schema(google_tasks_tools())
    by_name = {t.name: t for t in tables}
    assert by_name["lists"].primary_key == "list_id" and by_name["tasks"].primary_key == "task_id"
    assert [(fk.column, fk.table) for fk in by_name["tasks"].foreign_keys] == [("list_id", "lists")]
    assert not {"task", "tasklist"} & {c.name for t in tables for c in t.columns}  # no made-up text columns
    patch = next(d for d in drafts if d.tool.name == "tasks_patch")
    roles = {b.param: (b.role, b.column) for b in patch.bindings}
    assert roles["task"] == ("eq", "task_id")
    assert roles["tasklist"] == ("eq", "list_id")  # in the URL: it names the row, a patch never moves it
    assert roles["title"] == ("value", "title")
    insert = next(d for d in drafts if d.tool.name == "tasks_insert")
    assert "id" not in {b.param for b in insert.bindings}  # the server assigns the new task's key


def test_a_patch_keeps_the_task_in_its_list_and_an_insert_gets_a_key_from_the_server():
    spec = build_domain(0, google_tasks_tools(), rows=5)
    sim = DomainSimulator(spec)
    task = sim.rows("tasks")[0]
    answer, error = call(sim, "tasks_patch", tasklist=task["list_id"], task=task["task_id"], title="Buy milk")
    assert not error and answer["updated"][0]["list_id"] == task["list_id"]
    assert answer["updated"][0]["title"] == "Buy milk"
    answer, error = call(sim, "tasks_insert", tasklist=task["list_id"], id="mine", title="Call mum")
    created = answer["created"][0]
    assert not error and created["task_id"] not in (None, "mine") and created["list_id"] == task["list_id"]


def subtask_tools():
    """Google Tasks' insert and move: ``parent`` and ``previous`` are other tasks' identifiers."""
    path = "/lists/{tasklist}/tasks"
    placing = {"parent": s("Parent task identifier. If the task is created at the top level, this is omitted."),
               "previous": s("Previous sibling task identifier. If the task is the first among its siblings, this "
                             "is omitted.")}
    return [*google_tasks_tools(),
            tool("tasks_insert_under", {"tasklist": s(), "title": s(), **placing}, ["tasklist"],
                 "Creates a new task.", http_method="POST", http_path=path),
            tool("tasks_move", {"tasklist": s(), "task": s(), **placing}, ["tasklist", "task"],
                 "Moves the task to another position in the list.", http_method="POST",
                 http_path=path + "/{task}/move"),
            tool("tasks_delete", {"tasklist": s(), "task": s()}, ["tasklist", "task"], "Deletes the task.",
                 http_method="DELETE", http_path=path + "/{task}")]


def test_a_parent_task_is_another_row_of_the_tasks_table():
    """``parent``/``previous`` described as a task's identifier are keys of the tasks table itself: no table of
    "parents", and a state's subtasks name tasks of the same state."""
    spec = build_domain(0, subtask_tools(), rows=8)
    assert {t.name for t in spec.tables} == {"lists", "tasks"}
    tasks = spec.table("tasks")
    assert {(fk.column, fk.table, fk.on_delete) for fk in tasks.foreign_keys} >= {
        ("parent_id", "tasks", "SET NULL"), ("previous_id", "tasks", "SET NULL")}
    for state in spec.states:
        rows = [dict(zip([c.name for c in tasks.columns], row)) for row in state["tasks"]]
        keys = [r["task_id"] for r in rows]
        parents = [r["parent_id"] for r in rows if r["parent_id"] is not None]
        assert parents and all(p in keys[:keys.index(r["task_id"])] for r in rows if (p := r["parent_id"]))
        lists = {r["task_id"]: r["list_id"] for r in rows}  # a subtask is a task of its parent's list
        assert all(lists[r["parent_id"]] == r["list_id"] for r in rows if r["parent_id"] is not None)
    insert = spec.tool("tasks_insert_under")
    lists = {row[0]: row[[c.name for c in tasks.columns].index("list_id")] for row in spec.states[0]["tasks"]}
    placed = [(args[p], args["tasklist"]) for k in range(12) for p in ("parent", "previous") if p in (
        args := sample_arguments(insert.operation.bindings, tasks, spec.states[0], k, random.Random(k)))]
    assert placed and all(lists[task] == into for task, into in placed)  # a task of the list it goes into
    sim = DomainSimulator(spec)
    top, other = sim.rows("tasks")[0], sim.rows("tasks")[1]
    answer, error = call(sim, "tasks_insert_under", tasklist=top["list_id"], title="Buy milk", parent=top["task_id"])
    assert not error and answer["created"][0]["parent_id"] == top["task_id"]
    before = sim.state_hash()
    answer, error = call(sim, "tasks_move", tasklist=other["list_id"], task=other["task_id"], parent="no-such-task")
    assert error and sim.state_hash() == before  # a parent that is no task of the list is refused
    children = [r["task_id"] for r in sim.rows("tasks") if r["parent_id"] == top["task_id"]]
    assert not call(sim, "tasks_delete", tasklist=top["list_id"], task=top["task_id"])[1]
    assert all(r["parent_id"] is None for r in sim.rows("tasks") if r["task_id"] in children)  # subtasks stay


def test_plans_keep_a_subtask_in_its_parents_list():
    """A plan that inserts a task under another one, or moves one, leaves every subtask in its parent's list (an
    insert "for" a task went into another list)."""
    spec = build_domain(0, subtask_tools(), rows=8)
    sim = DomainSimulator(spec)
    tools = [t for t in spec.tools if t.executable]
    placed = 0
    for seed in range(60):
        rng = random.Random(seed)
        try:
            plan = sample_plan(sim, 0, rng.choice(tools), rng, goals=4, tools=tools)
        except PlanError:
            continue
        sim.reset(0)
        for step in plan.steps:
            sim.step(step.call)
        lists = {r["task_id"]: r["list_id"] for r in sim.rows("tasks")}
        for r in sim.rows("tasks"):
            for column in ("parent_id", "previous_id"):
                if r[column] is not None:
                    placed += 1
                    assert lists[r[column]] == r["list_id"], (seed, [s.call for s in plan.steps])
    assert placed


def test_a_key_named_for_the_part_it_plays_refers_to_its_entitys_table():
    """``home_team_id``/``away_team_id`` are teams, ``source_snapshot_id`` a snapshot, where the domain knows teams
    and snapshots: no tables of "home teams" or "source snapshots" with keys no team or snapshot has."""
    tables, _ = infer_schema([
        tool("get_team", {"team_id": i()}, ["team_id"], "Get a team."),
        tool("create_match", {"home_team_id": i(), "away_team_id": i(), "kickoff": s()}, ["home_team_id"],
             "Schedule a match."),
        tool("describe_snapshots", {"snapshot_id": s()}, [], "Describe snapshots."),
        tool("copy_snapshot", {"source_snapshot_id": s(), "description": s()}, ["source_snapshot_id"],
             "Copy a snapshot.")])
    by_name = {t.name: t for t in tables}
    assert not {"home_teams", "away_teams", "source_snapshots"} & set(by_name)
    assert {(fk.column, fk.table) for fk in by_name["matches"].foreign_keys} == {
        ("home_team_id", "teams"), ("away_team_id", "teams")}
    assert ("source_snapshot_id", "snapshots") in {(fk.column, fk.table) for fk in by_name["snapshots"].foreign_keys}


def test_no_plan_makes_one_call_three_times():
    """Lookups of several tasks of one list find them with one listing, not a third identical one (the filters
    would reject the teacher's trajectory as a loop)."""
    fields = {"tasklist": s(), "task": s(), "title": s(), "notes": s(), "due": s()}
    updates = [tool(name, fields, ["tasklist", "task"], "Updates the specified task.", http_method=method,
                    http_path="/lists/{tasklist}/tasks/{task}") for name, method in (("tasks_update", "PUT"),
                                                                                    ("tasks_retitle", "PATCH"))]
    spec = build_domain(0, google_tasks_tools() + updates, rows=5)
    sim, rng = DomainSimulator(spec), random.Random(0)
    tools = [t for t in spec.tools if t.executable]
    plans = 0
    for n in range(60):
        try:
            plan = sample_plan(sim, n % 3, rng.choice(tools), rng, goals=4, tools=tools, read_before_write=1.0)
        except PlanError:
            continue
        plans += 1
        counts = Counter(json.dumps(s.call, sort_keys=True) for s in plan.steps)
        assert max(counts.values()) <= 2, counts.most_common(1)
    assert plans >= 30


def test_a_bare_max_is_how_many_rows_come_back_not_a_column():
    """rbaskets' ``GET /baskets/{name}/requests?max=20``: no request has a "max"; the read returns at most that many."""
    spec = build_domain(0, [tool("get_requests", {"max": i(), "method": s()}, [], "Fetch requests.")], rows=5)
    assert "max" not in [c.name for c in spec.table("requests").columns]
    assert {b.param: b.role for b in spec.tool("get_requests").operation.bindings}["max"] == "limit"
    answer, error = call(DomainSimulator(spec), "get_requests", max=2)
    assert not error and len(answer) == 2


def test_paging_named_the_way_apis_name_it_pages_and_is_no_column():
    """AWeber's ``ws.start``/``ws.size`` and a ``start`` that defaults to 0 say where a list starts and how much of
    it comes back; a ``start`` with no such default (a start year, a start date) stays a column."""
    n = {"type": "number"}
    spec = build_domain(0, [tool("find_lists", {"ws_start": n, "ws_size": n, "name": s()}, [], "Find lists."),
                            tool("search_events", {"start": {**n, "default": 0}, "city": s()}, [], "Search events."),
                            tool("list_seasons", {"start": i(), "league": s()}, [], "List seasons.")], rows=5)
    roles = {t: {b.param: b.role for b in spec.tool(t).operation.bindings}
             for t in ("find_lists", "search_events", "list_seasons")}
    assert roles["find_lists"] == {"ws_start": "offset", "ws_size": "limit", "name": "eq"}
    assert roles["search_events"]["start"] == "offset" and roles["list_seasons"]["start"] == "eq"
    columns = {c.name for t in spec.tables for c in t.columns}
    assert not {"ws_start", "ws_size"} & columns
    answer, error = call(DomainSimulator(spec), "find_lists", ws_start=1, ws_size=2)
    assert not error and len(answer) == 2


def test_paging_glued_into_one_word_pages_too():
    """ToolBench's lowercase copies of APIs glue ``maxResults`` and ``pageNumber`` into one word: still paging."""
    spec = build_domain(0, [tool("list_videos", {"maxresults": i(), "pagenumber": i(), "perpage": i(), "channel": s()},
                                 [], "List videos.")], rows=5)
    roles = {b.param: b.role for b in spec.tool("list_videos").operation.bindings}
    assert roles == {"maxresults": "limit", "pagenumber": "page", "perpage": "limit", "channel": "eq"}
    assert not {"maxresults", "pagenumber", "perpage"} & {c.name for t in spec.tables for c in t.columns}


def test_a_delete_removes_the_row_its_url_names_not_every_row_of_its_parent():
    """LaunchDarkly's ``DELETE /flags/{projectKey}/{featureFlagKey}``: the flag's key is a filter, not a value the
    delete ignores (it removed the project's flags whatever key the agent gave)."""
    tools = [tool("getFeatureFlags", {"projectKey": s()}, ["projectKey"], "Get all flags of a project.",
                  http_method="GET", http_path="/flags/{projectKey}"),
             tool("deleteFeatureFlag", {"projectKey": s(), "featureFlagKey": s()}, ["projectKey", "featureFlagKey"],
                  "Delete a feature flag.", http_method="DELETE", http_path="/flags/{projectKey}/{featureFlagKey}")]
    spec = build_domain(0, tools, rows=6)
    roles = {b.param: b.role for b in spec.tool("deleteFeatureFlag").operation.bindings}
    assert roles == {"projectKey": "eq", "featureFlagKey": "eq"}
    sim = DomainSimulator(spec)
    flag = sim.rows("flags")[0]
    siblings = [r for r in sim.rows("flags") if r["project_id"] == flag["project_id"]]
    answer, error = call(sim, "deleteFeatureFlag", projectKey=flag["project_id"],
                         featureFlagKey=flag["feature_flag_key"])
    assert not error and answer["deleted"] == [flag]
    assert [r for r in sim.rows("flags") if r["project_id"] == flag["project_id"]] == siblings[1:]


def test_a_filters_lookup_after_its_field_is_its_role_on_that_field():
    """Django REST's ``city__icontains`` and ``founded__gte``, json-server's ``name_like``: filters on city,
    founded and name (they were columns named ``city_icontains``, asked for as "companies by city icontains")."""
    create = tool("create_company", {"name": s(), "city": s(), "founded": i()}, ["name"], "Create a company.")
    listing = tool("list_companies", {"city__icontains": s(), "founded__gte": i(), "founded__lt": i(),
                                      "name_like": s()}, [], "List companies.")
    spec = build_domain(0, [create, listing], rows=12, states=1)
    bindings = {b.param: (b.role, b.column) for b in spec.tool("list_companies").operation.bindings}
    assert bindings == {"city__icontains": ("like", "city"), "founded__gte": ("ge", "founded"),
                        "founded__lt": ("le", "founded"), "name_like": ("like", "name")}
    columns = {c.name for c in spec.table("companies").columns}
    assert {"city", "founded", "name"} <= columns and not any("__" in c or c.endswith("_like") for c in columns)
    sim = DomainSimulator(spec)
    rows = json.loads(sim.step({"name": "list_companies", "arguments": {}}).observation)
    city = rows[0]["city"]
    found = json.loads(sim.step({"name": "list_companies", "arguments": {"city__icontains": city[1:4]}}).observation)
    assert rows[0] in found and all(city[1:4].lower() in r["city"].lower() for r in found)


def test_a_url_segment_named_as_its_collection_is_the_rows_key_not_an_api_key():
    """AWS's ``GET /apikeys/{api_Key}`` names an API key resource: its key, not the caller's credentials (it was
    dropped as plumbing, and the update by it had nothing to find its row by)."""
    spec = build_domain(0, [
        tool("CreateApiKey", {"name": s(), "description": s()}, ["name"], "Create an API key.", http_method="POST",
             http_path="/apikeys"),
        tool("GetApiKey", {"api_Key": s("The identifier of the ApiKey resource.")}, ["api_Key"],
             "Gets information about the current ApiKey resource.", http_method="GET", http_path="/apikeys/{api_Key}"),
        tool("list_places", {"api_key": s("Your API key."), "city": s()}, ["api_key"], "List places.")], rows=4)
    assert [(b.param, b.column, b.role) for b in spec.tool("GetApiKey").operation.bindings] == [
        ("api_Key", "apikey_id", "eq")]
    assert [b.param for b in spec.tool("list_places").operation.bindings] == ["city"]  # a caller's key stays one
    row = DomainSimulator(spec).rows("apikeys")[1]
    answer, error = call(DomainSimulator(spec), "GetApiKey", api_Key=row["apikey_id"])
    assert not error and answer == row
