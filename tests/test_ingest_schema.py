"""Dialect normalization: BFCL / Java / ToolBench / Python type names, $ref inlining, rejections."""

from __future__ import annotations

import pytest

from agentscaler.ingest.formats.toolbench import template_schema
from agentscaler.ingest.pytypes import python_type
from agentscaler.ingest.records import RecordError
from agentscaler.ingest.schema import RECURSIVE_REF, normalize_parameters, normalize_schema


def test_bfcl_dialect_becomes_json_schema_with_nesting_kept():
    bfcl = {
        "type": "dict",
        "properties": {
            "ratio": {"type": "float", "description": "A ratio.", "default": 0.5},
            "point": {"type": "tuple", "items": {"type": "float"}},
            "anything": {"type": "any", "description": "Any value."},
            "config": {
                "type": "dict",
                "properties": {"retries": {"type": "long"}, "mode": {"type": "String", "enum": ["a", "b"]}},
                "required": ["retries"],
            },
            "flags": {"type": "HashMap"},
        },
        "required": ["ratio", "config"],
    }
    assert normalize_parameters(bfcl) == {
        "type": "object",
        "properties": {
            "ratio": {"type": "number", "description": "A ratio.", "default": 0.5},
            "point": {"type": "array", "items": {"type": "number"}},
            "anything": {"description": "Any value."},
            "config": {
                "type": "object",
                "properties": {"retries": {"type": "integer"}, "mode": {"type": "string", "enum": ["a", "b"]}},
                "required": ["retries"],
            },
            "flags": {"type": "object"},
        },
        "required": ["ratio", "config"],
    }


@pytest.mark.parametrize(("prop", "normalized"), [
    ({"type": "boolean", "enum": ["True", "False", "dontcare"], "default": "dontcare"},  # BFCL
     {"type": "string", "enum": ["True", "False", "dontcare"], "default": "dontcare"}),
    ({"type": "integer", "enum": ["1", "2"]}, {"type": "string", "enum": ["1", "2"]}),
    ({"type": "array", "items": {"type": "string"}, "enum": ["available", "sold"]},  # a Swagger 2 query array
     {"type": "array", "items": {"type": "string", "enum": ["available", "sold"]}}),
    ({"type": "array", "enum": [1, 2]}, {"type": "array", "items": {"type": "integer", "enum": [1, 2]}}),
    ({"type": "number", "enum": [1, 2.5]}, {"type": "number", "enum": [1, 2.5]}),  # consistent: unchanged
    ({"type": "string", "enum": ["a", None]}, {"type": "string", "enum": ["a", None]}),
    ({"type": "string", "enum": ["a", 1]}, {"type": "string", "enum": ["a", 1]}),  # mixed: left as written
])
def test_a_type_its_own_enum_contradicts_is_read_the_way_the_enum_shows(prop, normalized):
    assert normalize_parameters({"type": "object", "properties": {"p": prop}})["properties"]["p"] == normalized


def test_missing_parameters_mean_no_arguments():
    assert normalize_parameters(None) == {"type": "object", "properties": {}, "required": []}


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ([{"name": "x"}], "parameters is not an object schema: got list"),
        ({"type": "string"}, "parameters is not an object schema: type 'string'"),
        ({"type": "object", "properties": {"a": {}}, "required": ["a", "b"]}, "required names not in properties: b"),
        ({"type": "object", "properties": {"a": {"type": "object", "required": ["x"]}}}, "required names not in properties: x"),
        ({"type": "object", "properties": {"a": {"type": "decimal"}}}, "unknown type: 'decimal'"),
        ({"type": "object", "properties": {"a": "a string"}}, "property is not a schema: parameters.properties.a"),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}}, "unresolvable $ref: #/$defs/Missing"),
        ({"type": "object", "properties": {"a": {"$ref": "other.json#/A"}}}, "unresolvable $ref: 'other.json#/A'"),
    ],
)
def test_malformed_parameters_are_rejected_with_a_reason(parameters, reason):
    with pytest.raises(RecordError) as error:
        normalize_parameters(parameters)
    assert str(error.value).startswith(reason)


def test_pydantic_defs_are_inlined_and_siblings_of_ref_win():
    schema = {
        "$defs": {
            "Unit": {"type": "string", "enum": ["C", "F"], "description": "Generic unit."},
            "Reading": {"type": "object", "properties": {"unit": {"$ref": "#/$defs/Unit"}}, "required": ["unit"]},
        },
        "type": "object",
        "properties": {
            "reading": {"$ref": "#/$defs/Reading"},
            "unit": {"$ref": "#/$defs/Unit", "description": "Display unit."},
        },
        "required": ["reading"],
    }
    assert normalize_parameters(schema) == {
        "type": "object",
        "properties": {
            "reading": {
                "type": "object",
                "properties": {"unit": {"type": "string", "enum": ["C", "F"], "description": "Generic unit."}},
                "required": ["unit"],
                "x-model": "Reading",  # an object model keeps its name; the string enum Unit is no model
            },
            "unit": {"type": "string", "enum": ["C", "F"], "description": "Display unit."},
        },
        "required": ["reading"],
    }


@pytest.mark.timeout(10)
def test_recursive_refs_end_in_a_marker_instead_of_hanging():
    schema = {
        "$defs": {
            "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
            "B": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
        },
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/A"}},
    }
    root = normalize_parameters(schema)["properties"]["root"]
    assert root["properties"]["b"]["properties"]["a"] == {RECURSIVE_REF: "#/$defs/A"}


def test_openapi_refs_resolve_against_the_document_with_escaped_pointers():
    document = {"components": {"schemas": {"a/b": {"type": "integer"}}}}
    assert normalize_schema({"$ref": "#/components/schemas/a~1b"}, document) == {"type": "integer"}


@pytest.mark.parametrize(
    ("annotation", "schema", "optional"),
    [
        ("str", {"type": "string"}, False),
        ("int, optional", {"type": "integer"}, True),
        ("float", {"type": "number"}, False),
        ("bool, optional", {"type": "boolean"}, True),
        ("List[str]", {"type": "array", "items": {"type": "string"}}, False),
        ("List[Dict[str, int]]", {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "integer"}}}, False),
        ("Dict[str, Any]", {"type": "object"}, False),
        ("Optional[int]", {"type": "integer"}, True),
        ("typing.Tuple[int, int]", {"type": "array"}, False),
        ("Union[int, str], optional", {"anyOf": [{"type": "integer"}, {"type": "string"}]}, True),
        ("Any", {}, False),
    ],
)
def test_python_annotations_become_json_schema(annotation, schema, optional):
    assert python_type(annotation) == (schema, optional)


@pytest.mark.parametrize("annotation", ["Callable[[float], float]", "List[str", 3])
def test_unknown_python_annotations_are_rejected(annotation):
    with pytest.raises(RecordError, match="unknown type"):
        python_type(annotation)


def test_toolbench_template_response_becomes_a_schema():
    example = {"id": "int", "tags": ["list of str with length 3"], "items": "empty list", "owner": [{"name": "str"}]}
    assert template_schema(example) == {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "items": {"type": "array"},
            "owner": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        },
    }
