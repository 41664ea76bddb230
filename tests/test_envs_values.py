"""Realistic values (each kind, rows that agree, reproducible states, unique natural keys, the spec's own
example/format/pattern) and API plumbing (never a column or filter; accepted and ignored by the simulator)."""

from __future__ import annotations

import json
import random
import re
import unicodedata
import uuid
from datetime import datetime

import pytest
from envs_helpers import i, s, shop_tools, tool
from faker.providers.geo import Provider as Geo

from agentscaler.envs import Column, DomainSimulator, build_domain, infer_schema, sample_arguments
from agentscaler.envs.keys import key_shape, row_key
from agentscaler.envs.plumbing import is_plumbing
from agentscaler.envs.values import LOCALES, NOW, Record, _faker, ascii_word, meaning, value


def n(description: str = "") -> dict:
    return {"type": "number", "description": description}


CUSTOMER = {
    "name": s(), "email": s(), "username": s(), "phone": s(), "street_address": s(), "city": s(), "country": s(),
    "country_code": s(), "currency": s(), "timezone": s(), "latitude": n(), "longitude": n(), "birthday": s(),
    "created_at": s(), "updated_at": s(), "start_date": s(), "end_date": s(), "price": n(), "quantity": i(),
    "rating": i(), "discount_percent": n(), "year": i(), "age": i(), "website": s(), "description": s(),
    "title": s(), "company": s(), "airport_code": s(), "sku": s(),
    "status": {"type": "string", "enum": ["gold", "silver"]},
    "order_number": {"type": "string", "example": "#W2611340"},
    "device_uuid": {"type": "string", "format": "uuid"},
    "badge": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{4}$"},
}
ROWS = 30


@pytest.fixture(scope="module")
def customers() -> list[dict]:
    spec = build_domain(0, [tool("create_customer", CUSTOMER, ["name"], "Create a customer.")], rows=ROWS, states=1)
    columns = [c.name for c in spec.table("customers").columns]
    return [dict(zip(columns, row)) for row in spec.states[0]["customers"]]


def _letters(text: str) -> str:
    """The ASCII letters of a name, accents folded (Câmara -> camara)."""
    return re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", text).lower())


def test_each_end_of_a_row_is_a_time_of_its_own_after_its_start():
    """A task is due, completed and archived at different times, each after it started (one "end" moment for
    all three made every task due the second it was completed)."""
    fields = {"title": s(), "start_date": s(), "due_date": s(), "completed_at": s(), "expires_at": s()}
    spec = build_domain(0, [tool("create_task", fields, ["title"], "Create a task.")], rows=ROWS, states=1)
    columns = [c.name for c in spec.table("tasks").columns]
    rows = [dict(zip(columns, row)) for row in spec.states[0]["tasks"]]
    for row in rows:
        ends = [row["due_date"], row["completed_at"], row["expires_at"]]
        assert all(end[:10] >= row["start_date"][:10] for end in ends), row
    assert sum(r["due_date"][:10] != r["completed_at"][:10] for r in rows) > ROWS // 2


def test_a_stay_checks_out_after_it_checks_in_where_the_words_run_apart():
    """BFCL's ``check_in_date``/``check_out_date`` are a check-in and a checkout: a booking ended a day before it
    began when their words were read apart; ``where_to`` is a place, not a word."""
    fields = {"where_to": s(), "check_in_date": s(), "check_out_date": s(), "number_of_adults": i()}
    spec = build_domain(0, [tool("book_house", fields, ["where_to"], "Book a house.")], rows=ROWS, states=1)
    table = spec.table(spec.tool("book_house").table)
    rows = [dict(zip([c.name for c in table.columns], row)) for row in spec.states[0][table.name]]
    assert all(r["check_in_date"] < r["check_out_date"] for r in rows)
    assert all(", " in r["where_to"] for r in rows)  # "Lyon, France"


def test_a_message_goes_to_an_address_on_its_channel():
    """An SMS's ``to``/``from`` (ToolBench's ``is_from``) are phone numbers and an email's are email addresses (rows
    held "property" and "establishment"); Swagger's placeholder example "string" is no value of a user's id."""
    sms = {"message": s(), "to": s(), "is_from": s(), "uid": {"type": "string", "example": "string"}}
    mail = {"subject": s(), "to": s(), "from": s()}
    spec = build_domain(0, [tool("send_sms", sms, ["to"], "Send an SMS."),
                            tool("send_email", mail, ["to"], "Send an email.")], rows=ROWS, states=1)
    rows = {}
    for name, pattern in (("send_sms", r"[\d()+ .x-]{7,}"), ("send_email", r"[^@ ]+@[^@ ]+\.\w+")):
        table = spec.table(spec.tool(name).table)
        rows[name] = [dict(zip([c.name for c in table.columns], row)) for row in spec.states[0][table.name]]
        sender = "is_from" if name == "send_sms" else "from"
        assert all(re.fullmatch(pattern, r["to"]) and re.fullmatch(pattern, r[sender]) for r in rows[name])
    assert all(r["uid"] != "string" for r in rows["send_sms"])


def test_people_are_named_and_reachable(customers):
    for row in customers:
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d{0,2}@[a-z.-]+\.[a-z]+", row["email"]), row["email"]
        assert _letters(row["email"].split("@")[0]) == _letters(row["name"])  # the row's own person
        assert re.fullmatch(r"[a-z]+_[a-z]+_\d{4}", row["username"])
        assert _letters(row["username"]) == _letters(row["name"])
        assert sum(ch.isdigit() for ch in row["phone"]) >= 7 and re.search(r"\d", row["street_address"])
    assert len({r["name"] for r in customers}) > ROWS - 3


def test_city_country_coordinates_and_currency_are_one_real_place(customers):
    places = {(p[2], p[3]): (float(p[0]), float(p[1])) for p in Geo.land_coords}
    for row in customers:
        assert (row["city"], row["country_code"]) in places  # a real city, in that country
        assert places[(row["city"], row["country_code"])] == (row["latitude"], row["longitude"])
        locale = next(loc for loc in LOCALES if loc.endswith(row["country_code"]))
        assert row["currency"] == LOCALES[locale] and "/" in row["timezone"]
        assert row["country"] != row["country_code"] and len(row["country"]) > 3  # a name where the column says so
    assert len({r["country_code"] for r in customers}) > 2  # not one country for everyone


def test_times_follow_a_timeline(customers):
    def when(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    for row in customers:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", row["created_at"])
        assert when(row["created_at"]) <= when(row["updated_at"]) <= NOW
        assert row["start_date"] <= row["end_date"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["start_date"])
        assert 18 <= (NOW.date() - datetime.strptime(row["birthday"], "%Y-%m-%d").date()).days / 365.25 <= 90


def test_numbers_fall_in_their_meanings_ranges(customers):
    for row in customers:
        assert 1 <= row["price"] <= 500 and round(row["price"], 2) == row["price"]
        assert isinstance(row["quantity"], int) and 1 <= row["quantity"] <= 10
        assert 1 <= row["rating"] <= 5 and 0 <= row["discount_percent"] <= 100
        assert 1990 <= row["year"] <= 2025 and 18 <= row["age"] <= 90
        assert -90 <= row["latitude"] <= 90 and -180 <= row["longitude"] <= 180
    assert len({r["price"] for r in customers}) > ROWS // 2 and any(r["price"] % 1 for r in customers)  # cents


def test_ids_codes_and_text_have_real_shapes(customers):
    for row in customers:
        assert uuid.UUID(row["device_uuid"]).version == 4  # format: uuid
        assert re.fullmatch(r"#W\d{7}", row["order_number"])  # the example's shape, fresh digits
        assert re.fullmatch(r"[A-Z]{2}-\d{4}", row["badge"])  # pattern
        assert re.fullmatch(r"[A-Z]{3}", row["airport_code"]) and re.fullmatch(r"[A-Z]{3}-\d{4}", row["sku"])
        assert row["website"].startswith("https://") and row["status"] in ("gold", "silver")
        assert len(row["description"].split()) >= 5 and row["company"] and row["title"]
    assert len({r["order_number"] for r in customers}) == ROWS
    echoes = [v for row in customers for k, v in row.items() if k != "customer_id" and isinstance(v, str)
              and (m := re.fullmatch(r"([a-z_]+?)_?\d+", v)) and set(m.group(1).split("_")) <= set(k.split("_"))]
    assert not echoes  # no company_66 in company


def test_natural_keys_stay_unique_and_a_new_one_names_no_row():
    tools = [tool("create_account", {"username": s(), "email": s(), "symbol": s(), "promo_code": s()}, ["username"]),
             tool("get_account", {"username": s()}, ["username"])]
    spec = build_domain(0, tools, rows=200, states=1)  # enough rows that free draws would repeat
    table = spec.table("accounts")
    rows = spec.states[0]["accounts"]
    for at, column in enumerate(table.columns):
        assert len({r[at] for r in rows}) == len(rows), column.name
    sim = DomainSimulator(spec)
    for username in [r[[c.name for c in table.columns].index("username")] for r in rows[:5]]:
        assert len(json.loads(sim.step({"name": "get_account", "arguments": {"username": username}}).observation)) == 1
    create = spec.tool("create_account")
    args = sample_arguments(create.operation.bindings, table, spec.states[0], 3, random.Random(5))
    taken = {r[[c.name for c in table.columns].index("username")] for r in rows}
    assert args["username"] not in taken and _letters(args["email"].split("@")[0]) == _letters(args["username"])


def test_a_new_value_to_write_is_not_the_one_the_row_holds():
    """"Change my tier" sets another tier: a flag is flipped and a two-value enum takes the other value, for
    every row (free draws would repeat the stored value half the time)."""
    tier = {"type": "string", "enum": ["basic", "gold"]}
    tools = [tool("get_member", {"member_id": s()}, ["member_id"]),
             tool("update_member", {"member_id": s(), "active": {"type": "boolean"}, "tier": tier}, ["member_id"])]
    spec = build_domain(0, tools, rows=30, states=1)
    table, rows = spec.table("members"), spec.states[0]["members"]
    at = {c.name: n for n, c in enumerate(table.columns)}
    bindings = spec.tool("update_member").operation.bindings
    for n, row in enumerate(rows):
        args = sample_arguments(bindings, table, spec.states[0], n, random.Random(n))
        assert args["member_id"] == row[at["member_id"]]
        assert args["active"] is not bool(row[at["active"]]) and args["tier"] != row[at["tier"]]


def test_states_reproduce_for_a_seed_whatever_ran_before():
    tools = [tool("create_customer", CUSTOMER, ["name"])]
    first = build_domain(4, tools, rows=8, states=2, seed=7).states
    _faker("en_US").random = random.Random(99)  # other draws in the same process must not matter
    _faker("en_US").name()
    assert build_domain(4, tools, rows=8, states=2, seed=7).states == first
    assert build_domain(4, tools, rows=8, states=2, seed=8).states != first
    assert first[0] != first[1]


def test_the_specs_example_format_and_pattern_reach_columns_and_bindings():
    tables, drafts = infer_schema([tool("update_booking", {
        "booking_id": s(), "ref": {"type": "string", "example": "ABC-123"},
        "when": {"type": "string", "format": "date-time"}, "code": {"type": "string", "pattern": "^Q[0-9]{3}$"}},
        ["booking_id"])])
    columns = {c.name: c for c in tables[0].columns}
    assert columns["ref"].examples == ["ABC-123"] and columns["when"].format == "date-time"
    assert columns["code"].pattern == "^Q[0-9]{3}$"
    bindings = {b.param: b for b in drafts[0].bindings}
    assert bindings["code"].pattern == "^Q[0-9]{3}$" and bindings["ref"].examples == ["ABC-123"]
    rng = random.Random(1)
    when = Column(name="when", type="TEXT", json_type="string", format="date-time")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", value(when, meaning(when), Record(rng)))
    code = columns["code"]
    assert all(re.fullmatch(r"Q\d{3}", value(code, meaning(code), Record(rng))) for _ in range(20))


GOOGLE = {  # a Google discovery-style list call: one real filter, the rest plumbing
    "tasklist": s("Task list identifier."),
    "key": s("API key. Your API key identifies your project and provides you with API access, quota, and reports."),
    "oauth_token": s("OAuth 2.0 token for the current user."),
    "alt": {"type": "string", "enum": ["json"], "default": "json", "description": "Data format for the response."},
    "prettyPrint": {"type": "boolean", "description": "Returns response with indentations and line breaks."},
    "fields": s("Selector specifying which fields to include in a partial response."),
    "quotaUser": s("Available to use for quota purposes for server-side applications."),
    "userIp": s("IP address of the site where the request originates."),
    "pageToken": s("Token specifying the result page to return."),
    "X-RapidAPI-Key": s(),
}


def _plumbed_domain():
    update = {"task_id": s(), "title": s(), "key": GOOGLE["key"], "oauth_token": GOOGLE["oauth_token"],
              "Action": s(), "Version": s()}
    tools = [tool("list_tasks", GOOGLE, ["tasklist", "key", "X-RapidAPI-Key"], "List tasks."),
             tool("update_task", update, ["task_id", "Action", "Version"], "Update a task.")]
    return build_domain(0, tools, rows=5, states=1)


def test_plumbing_is_never_a_column_filter_or_required_argument():
    spec = _plumbed_domain()
    columns = {c.name for t in spec.tables for c in t.columns}
    assert not columns & {"key", "oauth_token", "alt", "pretty_print", "fields", "quota_user", "user_ip",
                          "page_token", "action", "version", "x_rapid_api_key"}
    for t in spec.tools:
        assert t.executable, t.reason
        assert {b.param for b in t.operation.bindings} <= {"tasklist", "task_id", "title"}
        assert set(t.openai_schema["function"]["parameters"]["required"]) <= {"tasklist", "task_id"}
        assert "key" in t.openai_schema["function"]["parameters"]["properties"]  # still declared, optional


def test_plumbing_is_accepted_and_ignored_by_the_simulator():
    spec = _plumbed_domain()
    sim = DomainSimulator(spec)
    task = spec.states[0]["tasks"][0][0]
    plain = {"task_id": task, "title": "Call the plumber"}
    noisy = {**plain, "key": "AIzaSyD-9tSrke72PouQMnMX", "oauth_token": "ya29.a0Af", "Action": "UpdateTask",
             "Version": "2015-03-31"}
    hashes = []
    for args in (plain, noisy):
        sim.reset(0)
        obs = sim.step({"name": "update_task", "arguments": args})
        assert not obs.error, obs.observation
        hashes.append(sim.state_hash())
    assert hashes[0] == hashes[1] != spec.state_hashes[0]
    sim.reset(0)
    listed = sim.step({"name": "list_tasks", "arguments": {"tasklist": "MTIz", "alt": "json", "prettyPrint": True,
                                                           "pageToken": "CgQ"}})
    assert not listed.error and sim.state_hash() == spec.state_hashes[0]
    unknown = sim.step({"name": "update_task", "arguments": {**plain, "colour": "red"}})
    assert unknown.error and "unexpected argument" in unknown.observation  # only what the tool declares


@pytest.mark.parametrize(("name", "prop", "expected"), [
    ("key", s("API key. Your API key identifies your project."), True),
    ("key", s("The project key"), False),
    ("token", s("device token for push messages"), False),
    ("access_token", s(), True),
    ("format", s("Only JSON supported for SDKs"), True),
    ("format", s("Sequence format (default to 'fasta')."), False),
    ("callback", s("URI App will connect to"), False),
    ("callback", {"type": "string", "default": "JSONP Callback Functionname"}, True),
    ("Marker", s("Pagination token"), True),
    ("fields", s("The fields of the table to add."), False),
    ("x-rapidapi-host", s(), True),
    ("$.xgafv", s("V1 error format."), True),
    ("user_agent", s("Client identifier, takes precedence over headers"), True),  # EVE's ESI
    ("NextToken", s("An identifier that was returned from the previous call to this operation, which can be used to "
                    "return the next set of items in the list."), True),
    ("startingAfter", s("A server-defined token indicating the start of the page, often a timestamp or an ID."), True),
    ("ProvisionToken", s("An idempotency token that uniquely identifies the provisioning request."), True),
    ("ClientToken", s("Unique, case-sensitive identifier you provide to ensure the idempotency of the request."), True),
    ("previousToken", s("The token of the previous payment."), False),
    ("pagetoken", s("The page to return."), True),  # ToolBench's lowercase copy of pageToken
    ("userip", s(), True),
    ("part", s("The part parameter specifies a comma-separated list of one or more comment resource properties "
               "that the API response will include."), True),
    ("updateMask", s("Mask that identifies which fields on the announcement to update."), True),
    ("part", s("The part number of the spare."), False),
    ("creds_checksum", s(), True),  # catalogapi signs each request with its credentials
    ("SignatureVersion", s(), True),
    ("oauth_nonce", s(), True),
    ("$expand", s("OData expand. Expands related entities inline."), True),  # Azure's and hetras's OData options
    ("$filter", s("The filter to apply on the operation."), True),
    ("$inlinecount", s(), True),
    ("filter", s("Filter by the project's name."), False),
    ("accept", s(), True),  # ToolBench's copies of the Accept header: "locationiqs by accept language" before
    ("Accept-Language", s(), True),
    ("If-Match", s("ETag of the API entity."), True),
    ("accept", {"type": "boolean", "description": "Accept the invitation."}, False),
])
def test_plumbing_is_told_from_name_and_description(name, prop, expected):
    assert is_plumbing(name, prop, {name}) is expected


def test_odata_top_and_skip_page_a_listing():
    """Azure's ``$top``/``$skip`` page a listing; ``$filter`` and ``$expand`` bind nothing (they were columns named
    filter and expand, and a user was asked "labs by filter")."""
    spec = build_domain(0, [tool("Labs_List", {"$top": i("The maximum number of resources to return."),
                                               "$skip": i(), "$filter": s("The filter to apply."), "$expand": s(),
                                               "resourceGroupName": s()}, [], "List labs in a resource group.")],
                        rows=6)
    roles = {b.param: b.role for b in spec.tool("Labs_List").operation.bindings}
    assert roles == {"$top": "limit", "$skip": "offset", "resourceGroupName": "eq"}
    sim = DomainSimulator(spec)
    rows = json.loads(sim.step({"name": "Labs_List", "arguments": {}}).observation)
    paged = sim.step({"name": "Labs_List", "arguments": {"$top": 2, "$skip": 1, "$filter": "name eq 'x'"}})
    assert json.loads(paged.observation) == rows[1:3]


def test_keys_take_the_shapes_real_systems_use_and_a_create_continues_them():
    assert [key_shape(e) for e in ("customer", "order", "airport", "project")] == ["handle", "number", "code", "uuid"]
    spec = build_domain(0, shop_tools(), rows=5)
    names = {tb.name: [c.name for c in tb.columns] for tb in spec.tables}
    for row in spec.states[0]["users"]:
        user = dict(zip(names["users"], row))
        assert re.fullmatch(r"[a-z_]+_\d{4}", user["user_id"]) and user["user_id"].startswith(
            "_".join(ascii_word(w) for w in user["name"].split()))  # mia_li_3668 for Mia Li
    assert all(re.fullmatch(r"#O\d{7}", row[0]) for row in spec.states[0]["orders"])
    for shape, pattern in (("uuid", r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}"),
                           ("code", r"[A-Z]{3}"), ("number", r"#P\d{7}")):
        keys = [row_key(shape, "place", n) for n in range(1, 3001)]
        assert len(set(keys)) == len(keys) and all(re.fullmatch(pattern, k) for k in keys)
    sim = DomainSimulator(spec)
    user = spec.states[0]["users"][0][0]
    created = json.loads(sim.step({"name": "create_order", "arguments": {"user_id": user, "item": "pen",
                                                                         "quantity": 1}}).observation)["created"][0]
    assert created["order_id"] == row_key("number", "order", 6)  # the SQL next key is the Python one of row 6


TAGS = {"type": "array", "description": "The tags to add.", "items": {
    "type": "object", "required": ["Key"], "properties": {
        "Key": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[a-zA-Z0-9_.:/=+@-]*$"},
        "Value": {"type": "string", "maxLength": 256}}}}
LINES = {"type": "array", "items": {"allOf": [  # an order's lines, the way OpenAPI composes a model
    {"type": "object", "properties": {"sku": s(), "quantity": i()}, "required": ["sku", "quantity"]},
    {"properties": {"gift": {"type": "boolean"}}}]}}
RECIPIENT = {"type": "object", "required": ["name", "email"],
             "properties": {"name": s(), "email": s(), "country": {"type": "string", "enum": ["FR", "DE"]}}}


def test_containers_follow_the_shape_their_spec_gives():
    """An AWS ``Tags`` list holds ``{Key, Value}`` objects, an order's lines hold a SKU and a small quantity,
    a recipient is one person whose name and email agree: in stored rows and in arguments drawn for calls
    (a list of words, or ``[]`` and ``{}``, broke the tool's own schema or said nothing)."""
    from jsonschema import Draft202012Validator

    props = {"order_id": s(), "tags": TAGS, "lines": LINES, "recipient": RECIPIENT,
             "labels": {"type": "array", "items": {"type": "string"}}, "extra": {"type": "object"}}
    create = tool("create_order", props, ["order_id", "tags", "lines", "recipient"], "Create an order.")
    spec = build_domain(0, [create], rows=ROWS, states=1)
    table = spec.table("orders")
    columns = [c.name for c in table.columns]
    rows = [dict(zip(columns, row)) for row in spec.states[0]["orders"]]
    bindings = spec.tool("create_order").operation.bindings
    drawn = [sample_arguments(bindings, table, spec.states[0], n, random.Random(n)) for n in range(ROWS)]
    for row, args in zip(rows, drawn):
        for values in ({k: json.loads(row[k]) for k in ("tags", "lines", "recipient")}, args):
            assert Draft202012Validator({"type": "object", "properties": props}).is_valid(values), values
            assert 1 <= len(values["tags"]) <= 3 and all(tag["Key"] for tag in values["tags"])
            assert all(1 <= line["quantity"] <= 10 and line["sku"] for line in values["lines"])
            person = values["recipient"]
            assert _letters(person["name"].split()[0]) in _letters(person["email"]), person
    assert all(json.loads(r["labels"]) and all(isinstance(w, str) for w in json.loads(r["labels"])) for r in rows)
    assert {r["extra"] for r in rows} == {"{}"}  # an object the spec says nothing of stays empty
    assert len({json.dumps(a["tags"]) for a in drawn}) > ROWS // 2


def test_numbers_fall_inside_the_bounds_their_spec_declares():
    """AWS Lambda's memory is 128-10240 MB, a rating above an exclusive 0: drawn values stay inside, whatever
    range the column's words suggest; a required field the spec leaves untyped is still there."""
    props = {"function_name": s(), "memory_size": {"type": "integer", "minimum": 128, "maximum": 10240},
             "rating": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 5},
             "year": {"type": "integer", "minimum": 2030},
             "variations": {"type": "array", "items": {"type": "object", "required": ["value"],
                                                       "properties": {"name": s(), "value": {"type": "object"}}}}}
    spec = build_domain(0, [tool("create_function", props, ["function_name"], "Create a function.")], rows=ROWS,
                        states=1)
    columns = [c.name for c in spec.table("functions").columns]
    rows = [dict(zip(columns, row)) for row in spec.states[0]["functions"]]
    assert all(128 <= r["memory_size"] <= 10240 for r in rows) and len({r["memory_size"] for r in rows}) > ROWS // 2
    assert all(0 < r["rating"] <= 5 for r in rows) and all(r["year"] >= 2030 for r in rows)
    assert all("value" in v for r in rows for v in json.loads(r["variations"]))


def test_counts_are_whole_files_fit_their_kind_and_a_null_default_is_no_value():
    """A listing's bedrooms typed ``number`` are 3, not 2.73; an image path ends as an image does and an audio file
    as audio; BFCL's default "null" means no default (its rows held the text "null"); a whole number passes as 8,
    not 8.0."""
    props = {"title": s(), "bedrooms": n(), "bathrooms": n(), "price": n(), "image_path": s(), "audio_file": s(),
             "replacement_image_path": {"type": "string", "default": "null"}}
    spec = build_domain(0, [tool("create_listing", props, ["title"], "Create a listing.")], rows=ROWS, states=1)
    columns = [c.name for c in spec.table("listings").columns]
    rows = [dict(zip(columns, row)) for row in spec.states[0]["listings"]]
    assert all(float(r["bedrooms"]).is_integer() and float(r["bathrooms"]).is_integer() for r in rows)
    assert any(not float(r["price"]).is_integer() for r in rows)  # money keeps its cents
    assert all(re.search(r"\.(jpg|jpeg|png|gif|bmp|tiff)$", r["image_path"]) for r in rows)
    assert all(re.search(r"\.(mp3|wav|flac|ogg|m4a)$", r["audio_file"]) for r in rows)
    assert spec.table("listings").column("replacement_image_path").default is None
    assert not any(str(v).lower() == "null" for r in rows for v in r.values())
    args = [sample_arguments(spec.tool("create_listing").operation.bindings, spec.table("listings"), spec.states[0],
                             k, random.Random(k)) for k in range(ROWS)]
    assert all(type(a["bedrooms"]) is int for a in args if "bedrooms" in a)
    assert any(type(a["price"]) is float for a in args if "price" in a)


def test_arguments_follow_their_own_tools_shape_where_tools_share_a_column():
    """Two tools write an order's ``items``: one as objects, one as SKUs, and a search filters on them as objects.
    The column keeps the first shape; each tool's arguments follow its own schema (the first tool's shape broke
    the second's calls, and a stored list of SKUs copied into the search broke its)."""
    from agentscaler.toolspec import SchemaCheck

    lines = {"type": "array", "items": {"type": "object", "required": ["sku"], "properties": {"sku": s(), "qty": i()}}}
    skus = {"type": "array", "items": {"type": "string", "enum": ["A-1", "B-2", "C-3"]}}
    tools = [tool("create_order", {"items": skus, "note": s()}, ["items"], "Create an order."),
             tool("update_order", {"order_id": s(), "items": lines}, ["order_id", "items"], "Change an order's items."),
             tool("search_orders", {"items": lines}, ["items"], "Find orders by their items.")]
    spec = build_domain(0, tools, rows=5, states=1)
    assert spec.tool("update_order").table == spec.tool("create_order").table == spec.tool("search_orders").table
    for name in ("create_order", "update_order", "search_orders"):
        compiled = spec.tool(name)
        check = SchemaCheck(compiled.openai_schema["function"]["parameters"])
        table = spec.table(compiled.table)
        for n in range(10):
            args = sample_arguments(compiled.operation.bindings, table, spec.states[0], n, random.Random(n))
            assert args["items"] and check.error(args) is None, (name, args)
