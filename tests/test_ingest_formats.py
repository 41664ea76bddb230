"""Each loader on real records and on broken ones, and detection by content (no Ray needed)."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
import yaml

from agentscaler.ingest import detect, parse_file
from agentscaler.toolspec import ToolSpec

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def reasons(quarantined) -> dict[str, str]:
    return {q.locator: q.reason for q in quarantined}


def types_in(schema) -> set:
    """Every ``type`` value anywhere in a schema."""
    if isinstance(schema, dict):
        own = {schema["type"]} if isinstance(schema.get("type"), str) else set()
        return own.union(*(types_in(v) for k, v in schema.items() if k not in ("enum", "default")))
    if isinstance(schema, list):
        return set().union(*(types_in(v) for v in schema))
    return set()


def real_lines(path: Path, keep, n: int) -> list[str]:
    with path.open() as handle:
        return list(itertools.islice((line for line in handle if keep(json.loads(line))), n))


def test_toolbench_real_tools(shared_data, tmp_path):
    lines = real_lines(
        shared_data / "toolbench" / "toolbench_tools.jsonl",
        lambda t: t["in_toolbench_3451"] and any(p.get("default") for a in t["api_list"] for p in a["optional_parameters"]),
        5,
    )
    (tmp_path / "tools.jsonl").write_text("".join(lines))
    specs, quarantined = parse_file(tmp_path / "tools.jsonl")
    tools = [json.loads(line) for line in lines]
    assert quarantined == []
    assert len(specs) == sum(len(t["api_list"]) for t in tools)
    spec, tool = specs[0], tools[0]
    api = tool["api_list"][0]
    assert spec.name == ToolSpec.build(name=f"{api['name']}_for_{tool['tool_name']}", source="x").name
    assert (spec.toolkit, spec.category, spec.licence, spec.source) == (
        tool["tool_name"], tool["category_name"], "Apache-2.0", "toolbench"
    )  # fmt: skip
    assert spec.parameters["required"] == [p["name"] for p in api["required_parameters"]]
    for spec, api in zip(specs, (a for t in tools for a in t["api_list"])):
        for param in api["required_parameters"] + api["optional_parameters"]:
            prop = spec.parameters["properties"][param["name"]]
            assert prop["type"] == {"STRING": "string", "NUMBER": "number", "BOOLEAN": "boolean"}[param["type"]]
            assert prop.get("default") == param.get("default")


def test_toolbench_real_template_response_becomes_returns(shared_data, tmp_path):
    lines = real_lines(
        shared_data / "toolbench" / "toolbench_tools.jsonl",
        lambda t: all("template_response" in a for a in t["api_list"]),
        1,
    )
    (tmp_path / "t.jsonl").write_text(lines[0])
    specs, _ = parse_file(tmp_path / "t.jsonl")
    template = json.loads(lines[0])["api_list"][0]["template_response"]
    assert specs[0].returns["type"] == "object"
    assert set(specs[0].returns["properties"]) == set(template)


def test_bfcl_real_records_python_and_java(shared_data, tmp_path):
    bfcl = shared_data / "bfcl"
    lines = real_lines(bfcl / "BFCL_v4_simple_python.json", lambda r: True, 30)
    lines += real_lines(bfcl / "BFCL_v4_simple_java.json", lambda r: True, 30)
    (tmp_path / "bfcl.jsonl").write_text("".join(lines))
    specs, quarantined = parse_file(tmp_path / "bfcl.jsonl")
    docs = [doc for line in lines for doc in json.loads(line)["function"]]
    assert quarantined == [] and len(specs) == len(docs)
    assert all(types_in(s.parameters) <= {"object", "string", "integer", "number", "boolean", "array"} for s in specs)
    math = next(s for s in specs if s.raw["name"] == "math.factorial")
    assert math.name == "math_factorial" and math.category == "simple_python"
    assert math.parameters["required"] == ["number"]


def test_bfcl_real_defect_is_quarantined_and_siblings_kept(shared_data):
    specs, quarantined = parse_file(shared_data / "bfcl" / "BFCL_v4_parallel.json")
    assert [q.reason for q in quarantined] == [
        "required names not in properties: adults, children, singles at parameters.properties.population"
    ]
    assert len(specs) == sum(len(json.loads(l)["function"]) for l in open(shared_data / "bfcl" / "BFCL_v4_parallel.json")) - 1


def test_bfcl_broken_fixture():
    specs, quarantined = parse_file(FIXTURES / "bfcl_broken.json")
    assert [s.name for s in specs] == ["calculate_triangle_area", "calculate_triangle_area", "geometry_plot"]
    assert specs[0].tool_id == specs[1].tool_id  # the same doc in two records: dedup will drop one
    assert reasons(quarantined) == {
        "line 2 / function 1": "required names not in properties: adults at parameters.properties.population",
        "line 2 / function 2": "invalid name: String should have at least 1 character",
    }
    plot = specs[2].parameters["properties"]
    assert plot["points"] == {"type": "array", "items": {"type": "array", "items": {"type": "number"}}, "description": "Points as (x, y) pairs."}
    assert "type" not in plot["style"]


def test_toolbench_broken_fixture_keeps_the_good_apis():
    specs, quarantined = parse_file(FIXTURES / "toolbench_broken.jsonl")
    assert [s.name for s in specs] == ["realtime_weather_api_for_weatherapi_com"] * 2
    assert specs[0].returns["properties"]["alerts"] == {"type": "array", "items": {"type": "string"}}
    assert reasons(quarantined) == {
        "line 1 / api 1": "missing name",
        "line 1 / api 2": "unknown type: 'WHATEVER'",
        "line 2": "invalid JSON: Expecting ',' delimiter: line 1 column 83 (char 82)",
        "line 3": "invalid api_list: Input should be a valid list",
        "line 5": "unrecognized record",
    }
    assert next(q for q in quarantined if q.locator == "line 2").raw.startswith('{"tool_name": "truncated_tool"')


def test_openai_tool_list():
    specs, quarantined = parse_file(FIXTURES / "openai_tools.json")
    assert [s.name for s in specs] == ["get_current_weather", "create_calendar_event", "book_flight"]
    weather, calendar, flight = specs
    assert weather.parameters["properties"]["unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}
    attendees = calendar.parameters["properties"]["attendees"]
    assert attendees["items"]["required"] == ["email"] and "optional" in attendees["items"]["properties"]
    passenger = flight.parameters["properties"]["passenger"]
    assert passenger["properties"]["seat"]["enum"] == ["window", "aisle", "middle"]
    assert "$defs" not in json.dumps(flight.parameters)
    assert reasons(quarantined) == {
        "item 3": "required names not in properties: subject at parameters",
        "item 4": "missing name",
        "item 5": "parameters is not an object schema: type 'string'",
    }


def test_openai_jsonl_bad_line_does_not_stop_the_file():
    specs, quarantined = parse_file(FIXTURES / "openai_tools.jsonl")
    assert [s.name for s in specs] == ["get_current_weather", "convert_currency"]
    assert [s.source_file for s in specs] == ["openai_tools.jsonl:1", "openai_tools.jsonl:3"]
    assert [(q.locator, q.reason.split(":")[0]) for q in quarantined] == [("line 2", "invalid JSON")]
    same, _ = parse_file(FIXTURES / "openai_tools.json")
    assert specs[0].tool_id == same[0].tool_id  # property order differs in the source: same content, same id


def test_xlam_records():
    specs, quarantined = parse_file(FIXTURES / "xlam.jsonl")
    by_name = {s.name: s for s in specs}
    assert sorted(by_name) == ["find_n_largest_numbers", "live_giveaways_by_type", "merge_dictionaries"]
    merge = by_name["merge_dictionaries"].parameters
    assert merge["required"] == ["dict1", "dict2"]
    assert merge["properties"]["overwrite"] == {"type": "boolean", "description": "Whether dict2 wins on conflicts.", "default": True}
    assert by_name["find_n_largest_numbers"].parameters["properties"]["nums"]["items"] == {"type": "integer"}
    assert by_name["live_giveaways_by_type"].parameters["properties"]["type"]["default"] == "game"
    assert reasons(quarantined) == {
        "line 2 / tool 2": "unknown type: 'Callable[[float], float]'",
        "line 3": "invalid tools JSON: Expecting property name enclosed in double quotes: line 1 column 64 (char 63)",
    }


def test_mcp_tools_list_in_a_json_rpc_response():
    specs, quarantined = parse_file(FIXTURES / "mcp_tools_list.json")
    assert [s.name for s in specs] == ["read_file", "get_weather_data"]
    assert specs[0].parameters == {
        "type": "object",
        "properties": {"path": {"type": "string", "description": "Path of the file to read."}},
        "required": ["path"],
    }
    assert specs[0].returns is None
    assert specs[1].returns["required"] == ["temperature", "conditions", "humidity"]
    assert reasons(quarantined) == {"document / tool 2": "missing inputSchema"}


@pytest.mark.parametrize("as_json", [False, True])
def test_openapi_operations(tmp_path, as_json):
    path = FIXTURES / "petstore.yaml"
    if as_json:  # the same spec as JSON, under a name that says nothing about its format
        path = tmp_path / "spec.data"
        path.write_text(json.dumps(yaml.safe_load((FIXTURES / "petstore.yaml").read_text())))
    specs, quarantined = parse_file(path)
    by_name = {s.name: s for s in specs}
    assert sorted(by_name) == ["createPet", "get_pets_petId", "listPets"]
    assert all((s.toolkit, s.licence, s.source) == ("Swagger Petstore", "MIT", "openapi") for s in specs)
    listing = by_name["listPets"]
    assert listing.parameters["properties"]["limit"] == {
        "type": "integer", "maximum": 100, "description": "How many items to return at one time (max 100)"
    }  # fmt: skip
    assert listing.parameters["required"] == [] and "X-Request-ID" in listing.parameters["properties"]
    assert listing.returns["type"] == "array" and listing.returns["items"]["allOf"][1]["required"] == ["id"]
    assert listing.category == "pets"
    create = by_name["createPet"].parameters
    assert create == {"type": "object", "properties": {"name": {"type": "string"}, "tag": {"type": "string"}}, "required": ["name"]}
    assert by_name["get_pets_petId"].parameters["required"] == ["petId"]
    assert by_name["get_pets_petId"].description == "Info for a specific pet"
    assert [(s.http_method, s.http_path) for s in specs] == [("GET", "/pets"), ("POST", "/pets"), ("GET", "/pets/{petId}")]
    assert [(q.locator, q.reason) for q in quarantined] == [
        ("document / DELETE /pets/{petId}", "unresolvable $ref: 'owners.yaml#/components/schemas/Owner' (only local references are supported)")
    ]


def test_recursive_pydantic_schema_is_kept_with_a_marker():
    (spec,), quarantined = parse_file(FIXTURES / "recursive_tree.json")
    assert quarantined == []
    reports = spec.parameters["properties"]["root"]["properties"]["reports"]
    assert reports == {"type": "array", "items": {"x-recursive-ref": "#/$defs/Employee"}}


@pytest.mark.parametrize("name", ["notes.txt", "settings.json"])
def test_unrecognized_file_is_one_quarantine_row(name):
    specs, quarantined = parse_file(FIXTURES / name)
    assert specs == []
    assert [(q.locator, q.reason) for q in quarantined] == [("file", "unrecognized format")]
    assert quarantined[0].raw == (FIXTURES / name).read_text()


@pytest.mark.parametrize(("content", "reason"), [(b"\xff\xfe\x00garbage", "unrecognized format: not UTF-8"), (b"", "unrecognized format")])
def test_binary_and_empty_files_are_quarantined(tmp_path, content, reason):
    (tmp_path / "f").write_bytes(content)
    specs, quarantined = parse_file(tmp_path / "f")
    assert specs == [] and len(quarantined) == 1 and quarantined[0].reason.startswith(reason)


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [
        ("toolbench_broken.jsonl", "toolbench"),
        ("bfcl_broken.json", "bfcl"),
        ("xlam.jsonl", "xlam"),
        ("openai_tools.jsonl", "openai"),
        ("mcp_tools_list.json", "mcp"),
        ("petstore.yaml", "openapi"),
    ],
)
def test_detection_is_by_content_not_file_name(tmp_path, fixture, fmt):
    renamed = tmp_path / "upload.bin"
    shutil.copy(FIXTURES / fixture, renamed)
    specs, _ = parse_file(renamed)
    assert specs and {s.source for s in specs} == {fmt}
    record = json.loads((FIXTURES / fixture).read_text().splitlines()[0]) if fixture.endswith(".jsonl") else None
    if record is not None:
        assert detect(record).name == fmt


def test_detect_rejects_non_tool_records():
    assert detect({"question": "hi"}) is None and detect(["a"]) is None
    assert detect({"tools": [{"type": "function", "function": {"name": "f"}}]}) is None
