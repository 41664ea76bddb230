"""Tools that compute: recognized whatever their verbs, compiled to formulas or to a stable pseudo-result,
answering any well-formed call from its arguments alone, the same in every simulator, fork, replay and process."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import pytest
from envs_helpers import call, i, s, shop_tools, tool

from agentscaler.envs import DomainSimulator, build_domain, compute_arguments, computes
from agentscaler.envs.kinds import decide
from agentscaler.tasks.plan import _quantity, sample_plan


def n(description: str = "") -> dict:
    return {"type": "number", "description": description}


def compute_tools():
    return [
        tool("math_hypot", {"x": i("The x-coordinate."), "y": i("The y-coordinate."), "z": i("Optional z.")},
             ["x", "y"], "Calculate the Euclidean norm, the hypotenuse of the right triangle."),
        tool("solve_quadratic", {"a": n(), "b": n(), "c": n()}, ["a", "b", "c"], "Find the roots of a quadratic."),
        tool("unit_conversion_convert", {"value": n(), "from_unit": s(), "to_unit": s()},
             ["value", "from_unit", "to_unit"], "Convert a value from one unit to another."),
        *(tool("currency_exchange_convert", {"amount": n(), "from_currency": s(), "to_currency": s(), **extra},
               ["amount", "from_currency", "to_currency"], "Converts a value from one currency to another.")
          for extra in ({}, {"live": {"type": "boolean"}})),  # BFCL has both: the second is ..._convert_2
        tool("celsius_to_fahrenheit", {"celsius": n()}, ["celsius"], "Converts a Celsius temperature to Fahrenheit."),
        tool("math_triangle_area_heron", {"side1": n(), "side2": n(), "side3": n()}, ["side1", "side2", "side3"],
             "Calculates the area of a triangle using Heron's formula."),
        tool("route_estimate_time", {"start_location": s(), "end_location": s(),
                                     "stops": {"type": "array", "items": {"type": "string"}}},
             ["start_location", "end_location"], "Estimate the travel time for a specific route with optional stops."),
        tool("finance_inflation_adjustment", {"initial_sum": n(), "years": i(), "inflation_rate": n()},
             ["initial_sum", "years", "inflation_rate"],
             "Adjusts a sum of money for inflation based on the consumer price index (CPI)."),
        tool("entropy_change_calculate", {"substance": s(), "mass": i(), "initial_temperature": i(),
                                          "final_temperature": i(), "pressure": {"type": "integer", "default": 1}},
             ["substance", "mass", "initial_temperature", "final_temperature"],
             "Calculate the change in entropy for a mass of a specific substance."),
        tool("calculate_triangle_area", {"base": n(), "height": n(), "unit": s()}, ["base", "height"],
             "Calculate the area of a triangle given its base and height.",
             returns={"type": "object", "properties": {"area": n(), "unit": s()}}),
        tool("check_palindrome", {"text": s()}, ["text"], "Check whether a text reads the same backwards."),
        tool("convert_for_currency_converter", {"amount": s(), "is_from": s(), "to": s()}, ["amount", "is_from", "to"],
             "Convert between currencies."),  # as ToolBench has it: numbers as strings, `from` renamed `is_from`
        tool("temperature_converter_convert", {"temperature": n(), "from_unit": {"type": "string", "enum": ["C", "F"]},
                                               "to_unit": {"type": "string", "enum": ["C", "F"]}},
             ["temperature", "from_unit", "to_unit"], "Convert a temperature from one unit to another."),
    ]


@pytest.fixture(scope="module")
def spec():
    return build_domain(0, compute_tools() + shop_tools(), rows=5)


@pytest.fixture
def sim(spec):
    return DomainSimulator(spec)


def test_a_formula_answers_unseen_arguments(sim):
    start = sim.state_hash()
    assert call(sim, "math_hypot", x=3, y=4) == ({"hypotenuse": 5.0}, False)
    assert call(sim, "math_hypot", x=2, y=3, z=6) == ({"hypotenuse": 7.0}, False)
    assert call(sim, "solve_quadratic", a=1, b=-3, c=2) == ({"roots": [1.0, 2.0]}, False)
    assert call(sim, "solve_quadratic", a=1, b=0, c=1) == ({"roots": ["0-1i", "0+1i"]}, False)
    miles, error = call(sim, "unit_conversion_convert", value=10, from_unit="Kilometers", to_unit="miles")
    assert not error and miles["converted_value"] == pytest.approx(6.2137119, rel=1e-6)
    assert call(sim, "celsius_to_fahrenheit", celsius=100) == ({"converted_value": 212.0}, False)  # units from the name
    assert call(sim, "temperature_converter_convert", temperature=212, from_unit="F", to_unit="C")[0] == {
        "converted_value": 100.0}
    assert call(sim, "convert_for_currency_converter", amount="100", is_from="USD", to="EUR") == (
        {"converted_amount": 92.0, "rate": 0.92}, False)
    assert call(sim, "math_triangle_area_heron", side1=3, side2=4, side3=5) == ({"area": 6.0}, False)
    adjusted, _ = call(sim, "finance_inflation_adjustment", initial_sum=1000, years=2, inflation_rate=5)
    assert adjusted == {"adjusted_amount": 1102.5}  # 5 and 0.05 both mean five percent
    assert call(sim, "check_palindrome", text="Never odd or even") == ({"is_palindrome": True}, False)
    assert call(sim, "check_palindrome", text="agent") == ({"is_palindrome": False}, False)
    assert sim.state_hash() == start == sim.recompute_hash()  # the database was never touched


def test_the_returns_schema_names_the_answer(sim):
    answer, error = call(sim, "calculate_triangle_area", base=10, height=5, unit="cm")
    assert (answer, error) == ({"area": 25.0, "unit": "cm"}, False)


def test_an_unrecognized_computation_answers_deterministically_everywhere(spec, sim):
    args = {"start_location": "Boston", "end_location": "New York", "stops": ["Hartford"]}
    first, error = call(sim, "route_estimate_time", **args)
    assert not error and first["unit"] == "minutes" and 5 <= first["result"] <= 240  # a value beyond the arguments
    fork = sim.fork()
    again = DomainSimulator(build_domain(0, compute_tools() + shop_tools(), rows=5))  # another build, another sim
    assert call(fork, "route_estimate_time", **args)[0] == first == call(again, "route_estimate_time", **args)[0]
    replay = DomainSimulator(spec).replay(1, [{"name": "route_estimate_time", "arguments": json.dumps(args)}])
    assert not replay.failures and json.loads(replay.observations[0].observation) == first
    others = {call(sim, "route_estimate_time", start_location="Boston", end_location=city)[0]["result"]
              for city in ("Austin", "Denver", "Seattle", "Miami", "Chicago")}
    assert len(others) > 1  # the answer depends on the arguments
    entropy = {"substance": "water", "mass": 2, "initial_temperature": 20, "final_temperature": 80}
    with_default = call(sim, "entropy_change_calculate", **entropy, pressure=1)[0]
    assert call(sim, "entropy_change_calculate", **entropy)[0] == with_default  # an omitted default is the default


def test_the_pseudo_result_is_the_same_in_another_process(spec, sim):
    """No Python ``hash`` (salted per process): a fresh interpreter computes the same answer from the same spec."""
    args = {"start_location": "Lima", "end_location": "Cusco"}
    tool_json = spec.tool("route_estimate_time").model_dump_json()
    code = ("import json, sys; from agentscaler.envs import CompiledTool; from agentscaler.envs.compute import answer; "
            "print(json.dumps(answer(CompiledTool.model_validate_json(sys.argv[1]), json.loads(sys.argv[2]))))")
    out = subprocess.run([sys.executable, "-c", code, tool_json, json.dumps(args)], check=True, capture_output=True,
                         text=True, env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout
    assert json.loads(out) == call(sim, "route_estimate_time", **args)[0]


@pytest.mark.parametrize(("name", "arguments", "message"), [
    ("math_hypot", {"x": 3}, "missing required argument 'y'"),
    ("math_hypot", {"x": "three", "y": 4}, "argument 'x' must be a integer"),
    ("solve_quadratic", {"a": 1, "b": 2, "c": 3, "d": 4}, "unexpected argument"),
    ("math_triangle_area_heron", {"side1": 1, "side2": 2, "side3": 10}, "do not form a triangle"),
    ("unit_conversion_convert", {"value": 1, "from_unit": "km", "to_unit": "kg"}, "cannot convert"),
])
def test_malformed_or_undefined_calls_get_errors_and_change_nothing(sim, name, arguments, message):
    before = (sim.state_hash(), {t.name: sim.rows(t.name) for t in sim.spec.tables})
    answer, error = call(sim, name, **arguments)
    assert error and message in answer["error"]
    assert (sim.state_hash(), {t.name: sim.rows(t.name) for t in sim.spec.tables}) == before


def test_computations_once_classified_as_writes_are_compute_reads(spec):
    tools = {t.name: t for t in compute_tools()}
    for name in ("finance_inflation_adjustment", "entropy_change_calculate"):
        assert decide(name, tools[name].description, learned=False)[0] == "update"  # the verbs say: adjust, change
    for name in ("finance_inflation_adjustment", "entropy_change_calculate", "calculate_triangle_area",
                 "route_estimate_time", "math_hypot", "check_palindrome"):
        compiled = spec.tool(name)
        assert computes(tools[name]) and compiled.kind == "read" and compiled.compute is not None, name
        assert compiled.executable, compiled.reason
    assert spec.tool("currency_exchange_convert_2").compute is not None  # a domain's second tool of that name
    assert spec.tool("finance_inflation_adjustment").compute.formula == "inflation_adjustment"
    assert spec.tool("route_estimate_time").compute.formula is None  # answered from the hash


def test_a_statistical_model_and_a_drawing_compute_what_they_are_given():
    """BFCL's ``linear_regression`` had been an update of a settings row ("apply"), ``create_histogram`` a create."""
    numbers = {"type": "array", "items": {"type": "number"}}
    regression = tool("linear_regression", {"independent_var": numbers, "dependent_var": numbers,
                                            "forecast_period": i()}, ["independent_var", "dependent_var"],
                      "Applies linear regression to a given set of independent variables to make a prediction.")
    histogram = tool("create_histogram", {"data": numbers, "bins": i()}, ["data", "bins"],
                     "Create a histogram based on provided data.")
    spec = build_domain(0, [regression, histogram, *shop_tools()], rows=5)
    for name in ("linear_regression", "create_histogram"):
        assert spec.tool(name).kind == "read" and spec.tool(name).compute is not None, name
    sim = DomainSimulator(spec)
    answer, error = call(sim, "create_histogram", data=[1, 2, 2, 3], bins=2)
    assert not error and answer == call(sim, "create_histogram", data=[1, 2, 2, 3], bins=2)[0] and answer
    assert {b.role for b in spec.tool("create_histogram").operation.bindings} == {"eq"}  # its input, no filter
    assert not call(sim, "create_histogram", data=list(range(40)), bins=4)[1]  # more values than a filter lists


def test_lookups_and_writes_are_not_compute(spec):
    for t in shop_tools():
        assert not computes(t) and spec.tool(t.name).compute is None, t.name
    assert [spec.tool(t.name).kind for t in shop_tools()] == ["read", "create", "delete", "read", "update", "read"]
    not_compute = [
        tool("compute_instances_resize", {"project": s(), "instance": s(), "size": i()}, [], "",
             http_method="POST", http_path="/{project}/instances/{instance}/resize"),  # Google Compute, a resource
        tool("calculate_order_total", {"order_id": s()}, ["order_id"], "Calculate an order's total."),  # a record
        tool("add_postgres_server", {"host": s(), "port": i()}, ["host"], "Adds a new PostgreSQL server."),
        tool("log_food", {"food_name": s(), "portion_amount": n()}, [], "Logs a food item."),
        tool("calculate_and_save_total", {"amount": n()}, [], "Calculate a total and save it."),
    ]
    assert [t.name for t in not_compute if computes(t)] == []


def test_compute_arguments_are_plausible_and_accepted(spec, sim):
    start = sim.state_hash()
    for compiled in (t for t in spec.tools if t.compute is not None):
        for seed in range(15):
            args = compute_arguments(compiled, random.Random(seed))
            assert args == compute_arguments(compiled, random.Random(seed))  # the seed decides
            answer, error = call(sim, compiled.name, **args)
            assert not error, (compiled.name, args, answer)
            assert answer and all(v is not None for v in answer.values()), (compiled.name, answer)
    sides = compute_arguments(spec.tool("math_triangle_area_heron"), random.Random(3))
    a, b, c = sorted(sides.values())
    assert a + b > c  # a triangle, so Heron's formula has an area
    roots = call(sim, "solve_quadratic", **compute_arguments(spec.tool("solve_quadratic"), random.Random(4)))[0]
    assert all(isinstance(r, float) and math.isfinite(r) for r in roots["roots"])  # a quadratic with real roots
    assert sim.state_hash() == start


def test_a_computation_goes_on_from_the_number_the_last_one_returned():
    """The factorial of the gcd just found: a parameter that takes any number (``number``) takes the result, and a
    quantity said another way (a final speed as an initial velocity) is the same quantity."""
    spec = build_domain(0, [
        tool("math_gcd", {"num1": i(), "num2": i()}, ["num1", "num2"], "Greatest common divisor of two numbers."),
        tool("math_factorial", {"number": i()}, ["number"], "Factorial of a number."),
    ])
    sim, rng = DomainSimulator(spec), random.Random(0)
    gcd, factorial = spec.tool("math_gcd"), spec.tool("math_factorial")
    plan = sample_plan(sim, 0, gcd, rng, goals=2, tools=[gcd, factorial])
    assert [s.tool.name for s in plan.steps] == ["math_gcd", "math_factorial"] and plan.goals[1].relation == "result"
    assert plan.steps[1].arguments["number"] == json.loads(plan.steps[0].observation)["gcd"]
    assert plan.steps[1].found == {"number": 0}
    assert _quantity("final_speed") & _quantity("initial_velocity")


def test_transforms_of_a_text_are_computations_that_answer_text():
    """ToolBench POSTs that summarize, encrypt or convert (no method: the learned kind model read them as creates
    of a row of summaries) compute: a read answering text, the same for the same arguments, other for others."""
    transforms = [
        tool("summarizer_for_linguakit", {"text": s(), "lang_input": s()}, ["text", "lang_input"],
             "Create a summary or abstract from a text."),
        tool("encrypt_with_aes_for_securityapi", {"text": s(), "key": s()}, ["text"], "Encrypt a text with AES."),
        tool("html_to_pdf_for_html_to_pdf", {"html": s()}, ["html"], "Turn a web page into a document."),
        tool("sentiment_analysis", {"text": s()}, ["text"], "Tell how positive a text is."),
    ]
    spec = build_domain(0, transforms, rows=5)
    sim = DomainSimulator(spec)
    for t in transforms:
        compiled = spec.tool(t.name)
        assert computes(t) and compiled.kind == "read" and compiled.compute is not None, t.name
        args = {p: "Ships leave at dawn." for p in t.parameters["required"]}
        first, error = call(sim, t.name, **args)
        assert not error and isinstance(first["result"], str) and first["result"] not in args.values(), t.name
        assert call(sim.fork(), t.name, **args)[0] == first
        assert call(sim, t.name, **{p: "Rain by noon." for p in args})[0] != first
    assert decide("test_for_test_api", "test")[0] == "read" and decide("random_pixel_for_maskmaker")[0] == "read"
