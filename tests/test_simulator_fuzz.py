"""Careless calls never kill a simulator: property-based over every kind of tool and every JSON value.

A careless agent names the right tool and the right arguments but sends extreme values: integers
past 64 bits, NaN and infinities, lone surrogates, NUL, huge strings, deep nesting, keys that are
not strings. Each drawn call starts from arguments the environment build would send (so that it
gets past validation into the SQL) and swaps some of them for drawn values; it is sent as a dict,
with its arguments as JSON text, or whole as JSON text. Whatever it is, ``step`` answers with an
observation that is strict JSON; an error leaves the state hash and every row as they were; a
success keeps the incremental hash equal to a full rescan and stores the values it was given.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys

import pytest
from envs_helpers import i, make_run, s, shop_tools, tool, toolbench_groups, user
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentscaler.envs import build_domain, build_envs
from agentscaler.envs.keys import row_key
from agentscaler.envs.spec import CompiledTool, EnvSpec
from agentscaler.envs.synth import sample_arguments
from agentscaler.envs import DomainSimulator, Observation, simulator
from agentscaler.sim.hosting_host import EpisodeHost
from agentscaler.sim.play import repl


def nested(depth: int, leaf):
    for _ in range(depth):
        leaf = [leaf]
    return leaf


# Values hypothesis would rarely build by itself: past the 64-bit and double edges, or huge.
EDGES = [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 2**1000, -(10**400), math.inf, -math.inf, math.nan, -0.0,
         5e-324, 1e308, 1e300, "", "\x00", "a\x00b", "\ud800", "x\udfffy", "NaN", "1e999", "9" * 5000, "%", "_",
         "[/red]", "' OR 1=1 --"]
HUGE = ["x" * 200_000, "\x00" * 10_000, nested(5_000, 1), {"k": nested(3_000, "v")}, list(range(20_000))]

characters = st.characters(exclude_categories=()) | st.characters(categories=["Cs"]) | st.sampled_from("\x00%_'\"[]")
texts = st.text(characters, max_size=20)
scalars = st.sampled_from(EDGES) | texts | st.integers() | st.floats() | st.booleans() | st.none()
keys = texts | st.integers()  # JSON keys are strings; a Python caller's need not be
containers = lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4)  # noqa: E731
json_values = st.recursive(scalars, containers, max_leaves=12) | st.sampled_from(HUGE)
BY_TYPE = {
    "string": texts | st.sampled_from([v for v in EDGES + HUGE if isinstance(v, str)]),
    "integer": st.integers() | st.sampled_from([v for v in EDGES if isinstance(v, (int, float))]),
    "number": st.integers() | st.floats() | st.sampled_from([v for v in EDGES if isinstance(v, (int, float))]),
    "boolean": st.booleans(),
    "array": st.lists(json_values, max_size=4) | st.sampled_from([v for v in HUGE if isinstance(v, list)]),
    "object": st.dictionaries(keys, json_values, max_size=4),
}


def parameter_names(t: CompiledTool) -> list[str]:
    return list(t.openai_schema["function"]["parameters"].get("properties", {}))


@st.composite
def careless_calls(draw, spec: EnvSpec):
    """(tool, call): the right tool and argument names, some arguments swapped for drawn JSON values."""
    t = draw(st.sampled_from(spec.tools))
    bindings = t.operation.bindings if t.operation else []
    rng = draw(st.randoms(use_true_random=False))
    args = sample_arguments(bindings, spec.table(t.table), spec.states[0], rng.randrange(100), rng) if bindings else {}
    names = parameter_names(t)
    payload = [b.param for b in bindings if b.role not in ("eq", "like")]  # swapped, the call still finds its row
    if payload and draw(st.integers(0, 2)):
        names = payload
    for name in draw(st.sets(st.sampled_from(names), min_size=1)) if names else ():
        binding = next((b for b in bindings if b.param == name), None)
        typed = binding is not None and binding.json_type in BY_TYPE and draw(st.integers(0, 3)) > 0
        args[name] = draw(BY_TYPE[binding.json_type] if typed else json_values)
    call = {"name": t.name, "arguments": args}
    form = draw(st.sampled_from(["dict", "arguments as text", "call as text"]))
    try:  # as an agent's JSON text; NaN and Infinity survive as Python's json writes them
        if form == "arguments as text":
            call = {"name": t.name, "arguments": json.dumps(args)}
        elif form == "call as text":
            call = json.dumps(call)
    except (TypeError, ValueError, RecursionError):  # keys of mixed types, too deep: no text form, send the dict
        pass
    return t, call


def strict_json(text: str):
    def refuse(constant: str):
        raise AssertionError(f"observation is not strict JSON: it holds {constant}")

    return json.loads(text, parse_constant=refuse)


def contents(sim: DomainSimulator) -> dict[str, list[dict]]:
    return {t.name: sim.rows(t.name) for t in sim.spec.tables}


def as_shown(v, column_type: str):
    """What a faithful store of an argument reads back as in an observation, in a column of its own type: the
    same JSON value (a boolean as a boolean, an array or object as itself), a number in a REAL column a float."""
    if isinstance(v, (list, dict)):
        return json.loads(json.dumps(v))  # JSON's own: object keys are text
    if isinstance(v, bool):
        return v
    return float(v) if column_type == "REAL" else v


def assert_survives(sim: DomainSimulator, t: CompiledTool, call, state: int) -> Observation:
    """The property: an observation, strict JSON; a refusal changes nothing; a success stores what it got."""
    sim.reset(state)
    hash_before, rows_before = sim.state_hash(), contents(sim)
    obs = sim.step(call)
    assert isinstance(obs, Observation)
    result = strict_json(obs.observation)
    if obs.error:
        assert set(result) <= {"error", "rule"} and isinstance(result["error"], str)
        assert sim.state_hash() == hash_before and contents(sim) == rows_before
        return obs
    assert sim.state_hash() == sim.recompute_hash()
    if t.kind in ("create", "update"):
        args = call if isinstance(call, dict) else json.loads(call)
        args = args["arguments"] if isinstance(args["arguments"], dict) else json.loads(args["arguments"])
        table = sim.spec.table(t.table)
        (row,) = result["created" if t.kind == "create" else "updated"]
        for b in t.operation.bindings:
            column = table.column(b.column) if b.role == "value" else None
            if column is not None and args.get(b.param) is not None and column.json_type == b.json_type != "any":
                assert row[b.column] == as_shown(args[b.param], column.type), b.param
    return obs


CATEGORIES = ["books", "toys", "games"]


def catalog_tools():
    """Every JSON type, enums, untyped parameters, offset/page/limit of several types, ranges, a child table."""
    number, boolean, array, obj = ({"type": k} for k in ("number", "boolean", "array", "object"))
    category = {"type": "string", "enum": CATEGORIES}
    return [
        tool("get_product", {"product_id": s()}, ["product_id"], "Get one product."),
        tool("list_products", {"q": s(), "min_price": number, "max_price": number, "category": category,
                               "in_stock": boolean, "limit": i(), "offset": i()}, [], "List products."),
        tool("browse_products", {"page": i(), "per_page": number, "skip": s(), "tags": array}, [],
             "Browse products page by page."),
        tool("create_product", {"name": s(), "price": number, "category": category, "in_stock": boolean,
                                "tags": array, "attributes": obj, "notes": {}, "stock": i(),
                                "rank": {"type": "integer", "enum": [1, 2, 3]}}, ["name", "price"],
             "Add a product to the catalog."),
        tool("update_product", {"product_id": s(), "new_price": number, "new_attributes": obj, "new_notes": {},
                                "new_stock": i()}, ["product_id"], "Change a product."),
        tool("delete_product", {"product_id": s()}, ["product_id"], "Remove a product."),
        tool("add_review", {"product_id": s(), "rating": i(), "text": s()}, ["product_id", "rating"],
             "Review a product."),
        tool("remove_review", {"review_id": s()}, ["review_id"], "Delete a review."),
    ]


# Real ToolBench APIs: every kind with range filters (catalogapi), deletes with pages
# (calltrackingmetrics), booleans and limit/page (lemurbot), deletes with limit/offset (craftmypdf).
TOOLBENCH = ("catalogapi", "calltrackingmetrics", "lemurbot", "craftmypdf_pdf_generation")
FUZZ = settings(max_examples=120, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def hand_written() -> list[DomainSimulator]:
    return [DomainSimulator(build_domain(n, tools, rows=5)) for n, tools in enumerate([shop_tools(), catalog_tools()])]


@pytest.fixture(scope="module")
def toolbench(shared_data) -> list[DomainSimulator]:
    groups = [g for g in toolbench_groups(shared_data, limit=400) if g[0].toolkit in TOOLBENCH]
    return [DomainSimulator(build_domain(n, g, rows=5)) for n, g in enumerate(groups)]


def fuzz(sims: list[DomainSimulator], config: settings) -> None:
    @config
    @given(st.data())
    def run(data):
        sim = data.draw(st.sampled_from(sims))
        t, call = data.draw(careless_calls(sim.spec))
        assert_survives(sim, t, call, data.draw(st.integers(0, len(sim.spec.states) - 1)))

    run()


def test_the_fixture_domains_cover_every_kind_role_and_type(hand_written, toolbench):
    tools = [t for sim in hand_written + toolbench for t in sim.spec.tools if t.executable]
    bindings = [b for t in tools for b in t.operation.bindings]
    assert {t.kind for t in tools} == {"read", "create", "update", "delete"}
    assert {b.role for b in bindings} == {"eq", "like", "ge", "le", "value", "limit", "offset", "page"}
    assert {b.json_type for b in bindings} == {"string", "integer", "number", "boolean", "array", "object", "any"}
    assert any(b.enum for b in bindings) and len(toolbench) == len(TOOLBENCH)


def test_careless_calls_on_hand_written_domains(hand_written):
    fuzz(hand_written, FUZZ)


def test_careless_calls_on_real_toolbench_apis(toolbench):
    fuzz(toolbench, FUZZ)


@pytest.mark.slow
def test_careless_calls_at_length(hand_written, shared_data):
    """Every ToolBench group of the first 400 with a write or pagination, and many more calls."""
    sims = []
    for n, group in enumerate(toolbench_groups(shared_data, limit=400)):
        spec = build_domain(n, group, rows=5)
        tools = [t for t in spec.tools if t.executable]
        if any(t.kind != "read" or any(b.role in ("limit", "offset", "page") for b in t.operation.bindings)
               for t in tools):
            sims.append(DomainSimulator(spec))
    assert len(sims) > 20
    fuzz(hand_written + sims, settings(FUZZ, max_examples=4000, derandomize=False))


# --- the failures the issue measured, and how each is answered --------------------------------------

PRODUCT = row_key("uuid", "product", 1)  # the first product's key


@pytest.fixture(scope="module")
def catalog() -> DomainSimulator:
    """The catalog without its derived rules: these tests are about what storage keeps, not what policy allows."""
    spec = build_domain(1, catalog_tools(), rows=5)
    spec.policy = None
    return DomainSimulator(spec)


def create(**overrides):
    return {"name": "create_product", "arguments": {"name": "pen", "price": 1.5, **overrides}}


@pytest.mark.parametrize(("call", "message"), [
    (create(stock=2**64), "'stock' must fit in 64 bits"),
    (create(price=-(2**63) - 1), "'price' must fit in 64 bits"),
    (create(price=math.inf), "'price' must be a finite number"),
    (create(price=math.nan), "'price' must be a finite number"),
    ({"name": "list_products", "arguments": {"limit": math.inf}}, "'limit' must be a integer"),
    ({"name": "browse_products", "arguments": {"skip": "inf"}}, "'skip' must be a whole number"),
    ({"name": "browse_products", "arguments": {"skip": "9" * 5000}}, "'skip' must be a whole number"),
    (create(name="pen\ud800"), "'name' is not valid text: a lone surrogate at position 3"),
    ({"name": "get_product", "arguments": {"product_id": "\udfff"}}, "lone surrogate at position 0"),
    (create(tags=nested(5_000, 1)), "'tags' is nested too deeply"),
    (create(attributes={"a": math.nan}), "'attributes' is not a JSON value"),
    (create(attributes={1: "x", "b": 2}), "'attributes' is not a JSON value"),
    (create(notes={1, 2}), "'notes' must be a JSON value, got a Python set"),
    (create(notes=b"bytes"), "'notes' must be a JSON value, got a Python bytes"),
    (create(category=math.nan), "'category' must be one of"),
    (create(rank=2**70), "'rank' must fit in 64 bits"),
    (create(**{"\ud800" * 100_000: 1}), "unexpected argument(s) ['\\ud800"),
    ({"name": "x" * 100_000, "arguments": {}}, "unknown tool 'xxx"),
    ({"name": "get_product", "arguments": "[" * 100_000 + "]" * 100_000}, "arguments are not valid JSON: maximum"),
    ("[" * 100_000 + "]" * 100_000, "tool call is not valid JSON: maximum recursion depth"),
    (b'{"name": "get_product\xff"}', "tool call is not valid JSON"),
])
def test_values_sqlite_cannot_hold_are_refused_by_name(catalog, call, message):
    catalog.reset(0)
    h, before = catalog.state_hash(), contents(catalog)
    obs = catalog.step(call)
    error = strict_json(obs.observation)["error"]
    assert obs.error and message in error, error
    assert len(error) < 500  # the offending value is quoted, not copied whole
    assert catalog.state_hash() == h and contents(catalog) == before


@pytest.mark.parametrize("extra", [
    {"name": "a\x00b" + "y" * 200_000},
    {"tags": ["\ud800", 2**200, -0.0, {"z": None, "a": [1e308]}], "notes": "\x00"},
    {"attributes": {"deep": nested(500, "leaf")}, "price": 2**63 - 1, "stock": -(2**63), "in_stock": False},
    {"stock": 1e300, "price": 5e-324},
])
def test_values_sqlite_can_hold_are_stored_as_given(catalog, extra):
    catalog.reset(0)
    t = catalog.spec.tool("create_product")
    obs = assert_survives(catalog, t, create(**extra), 0)
    assert not obs.error, obs.observation


REFUSALS = ("must fit in 64 bits", "must be a finite number", "lone surrogate", "nested too deeply",
            "is not a JSON value", "must be one of", "must be a integer, got")  # the last: a float not whole


@FUZZ
@given(st.data())
def test_values_of_the_right_type_are_stored_unless_sqlite_cannot_hold_them(catalog, data):
    """A refusal of a well-typed value names one of the few reasons; otherwise the value is stored as given."""
    t = catalog.spec.tool(data.draw(st.sampled_from(["create_product", "update_product"])))
    rng = data.draw(st.randoms(use_true_random=False))
    args = sample_arguments(t.operation.bindings, catalog.spec.table(t.table), catalog.spec.states[0], 1, rng)
    for b in t.operation.bindings:
        if b.role == "value" and data.draw(st.booleans()):
            args[b.param] = data.draw(BY_TYPE.get(b.json_type, json_values))
    obs = assert_survives(catalog, t, {"name": t.name, "arguments": args}, 0)
    assert not obs.error or any(reason in json.loads(obs.observation)["error"] for reason in REFUSALS), obs


@pytest.mark.parametrize(("arguments", "expected"), [
    ({"offset": 2**63 - 1}, 0), ({"offset": 1e300}, 0), ({"limit": 1e300}, 5), ({"limit": -5}, 0)])
def test_counts_past_any_table_are_clamped_not_refused(catalog, arguments, expected):
    catalog.reset(0)
    obs = catalog.step({"name": "list_products", "arguments": arguments})
    assert not obs.error and len(json.loads(obs.observation)) == expected


def test_a_huge_page_reads_past_the_end(catalog):
    catalog.reset(0)
    obs = catalog.step({"name": "browse_products", "arguments": {"page": 2**62, "per_page": 50}})
    assert not obs.error and json.loads(obs.observation) == []


# --- the last-resort guard -------------------------------------------------------------------------

def test_an_unexpected_error_mid_write_is_an_error_observation_and_is_rolled_back(catalog, monkeypatch):
    """The write statement has run when the bug strikes: the transaction must undo it."""
    catalog.reset(0)
    h, before = catalog.state_hash(), contents(catalog)

    def bug(table, row):
        raise KeyError("a bug the validation missed")

    monkeypatch.setattr(simulator, "row_digest", bug)
    obs = catalog.step({"name": "update_product", "arguments": {"product_id": PRODUCT, "new_stock": 7}})
    error = strict_json(obs.observation)["error"]
    assert obs.error and error.startswith("internal simulator error, please report it as a bug: KeyError in")
    assert "a bug the validation missed" in error
    monkeypatch.undo()
    assert catalog.state_hash() == h == catalog.recompute_hash() and contents(catalog) == before
    obs = catalog.step({"name": "update_product", "arguments": {"product_id": PRODUCT, "new_stock": 7}})
    assert not obs.error and catalog.state_hash() == catalog.recompute_hash() != h


def test_an_unexpected_error_in_validation_is_an_error_observation(catalog, monkeypatch):
    def bug(self, args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(simulator._Tool, "bind", bug)
    obs = catalog.step({"name": "get_product", "arguments": {"product_id": PRODUCT}})
    assert obs.error and "ZeroDivisionError in 'get_product'" in strict_json(obs.observation)["error"]


# --- the hosts of simulators: rollout actors and `agentscaler play` ---------------------------------

NOT_CALLS = [b"\xff\xfe not utf-8\n", b"[]\n", b"42\n", b"null\n", b"1e999\n", b"[" * 100_000 + b"\n",
             b'{"name": 1}\n', b'{"name": "get_user", "arguments": "[1"}\n', b"x" * 1_000_000 + b"\n",
             b'{"name": "get_user", "arguments": {"user_id": "\\ud800"}}\n',
             b'{"name": "create_order", "arguments": {"user_id": "mia_li_3668", "item": "pen", "quantity": 1e999}}\n',
             b'{"name": "create_order", "arguments": {"user_id": "mia_li_3668", "item": "pen", "quantity": '
             + b"9" * 30 + b"}}\n"]


def test_play_answers_every_line_that_is_not_a_call_and_carries_on(tmp_path):
    build_envs(make_run(tmp_path, [shop_tools()]), rows=3, workers=1)
    good = json.dumps({"name": "get_user", "arguments": {"user_id": user(1)}}).encode() + b"\n"
    out = subprocess.run([sys.executable, "-m", "agentscaler.sim.play", "--run", str(tmp_path), "--domain", "0"],
                         input=b"".join(NOT_CALLS) + good, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert [a["error"] for a in answers] == [True] * len(NOT_CALLS) + [False]
    assert all("error" in strict_json(a["observation"]) for a in answers[:-1])
    assert len({a["state_hash"] for a in answers}) == 1


def test_repl_shows_markup_like_values_as_text_and_ends_at_end_of_input(tmp_path, monkeypatch, capsys):
    sim = DomainSimulator(build_domain(0, shop_tools(), rows=3))
    lines = ['get_user {"user_id": "[/red]"}',
             f'create_order {{"user_id": "{user(1)}", "item": "[/bold]", "quantity": 1}}',
             "get_user [1"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))  # no ":quit": input just ends
    repl(sim)
    shown = capsys.readouterr().out
    assert "no user matches user_id='[/red]'" in shown and '"[/bold]"' in shown and "not valid JSON" in shown


def test_a_batch_of_careless_calls_leaves_every_episode_consistent(tmp_path):
    build_envs(make_run(tmp_path, [shop_tools(), catalog_tools()]), rows=3, workers=1)
    host = EpisodeHost(tmp_path)
    host.start([("a", 0, 0), ("b", 1, 0)])
    good = {"name": "create_order", "arguments": {"user_id": user(1), "item": "pen", "quantity": 1}}
    calls = [("a", line) for line in NOT_CALLS] + [("a", good), ("b", create(price=math.nan)),
                                                   ("b", create(stock=2**64)), ("b", create(name="\x00"))]
    results = host.step(calls)
    assert [error for _, error, _ in results] == [True] * len(NOT_CALLS) + [False, True, True, False]
    for episode, last in (("a", len(NOT_CALLS)), ("b", len(calls) - 1)):
        assert host.state_hashes([episode]) == [results[last][2]]
    assert len({h for _, _, h in results[:len(NOT_CALLS)]}) == 1 != len({results[0][2], results[len(NOT_CALLS)][2]})
    hosted = host._hosted[1]
    assert hosted.sim.state_hash() == hosted.sim.recompute_hash() == results[-1][2]


def test_reads_show_booleans_arrays_and_objects_as_json_values_not_as_stored(catalog):
    """SQLite keeps a boolean as 0/1 and an array or object as JSON text; an agent reads true/false, a list, an
    object, whether a read, a create or an update returned the row."""
    catalog.reset(0)
    lamp = {"name": "lamp", "price": 9.5, "in_stock": True, "tags": ["a", "b"], "attributes": {"w": 2}}
    obs = catalog.step({"name": "create_product", "arguments": lamp})
    assert not obs.error
    (row,) = json.loads(obs.observation)["created"]
    assert row["in_stock"] is True and row["tags"] == ["a", "b"] and row["attributes"] == {"w": 2}
    stored = next(r for r in catalog.rows("products") if r["product_id"] == row["product_id"])
    assert stored["in_stock"] == 1 and stored["tags"] == '["a","b"]'  # as kept: the hash reads these
    read = json.loads(catalog.step({"name": "get_product", "arguments": {"product_id": row["product_id"]}}).observation)
    assert read == row
    listed = json.loads(catalog.step({"name": "list_products", "arguments": {"in_stock": False}}).observation)
    assert listed and all(r["in_stock"] is False and isinstance(r["tags"], (list, type(None))) for r in listed)
