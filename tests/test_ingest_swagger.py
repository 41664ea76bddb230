"""The Swagger 2.0 loader on a hand-written spec, on real specs of the shared corpus, and on broken specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentscaler.ingest import detect, parse_file
from agentscaler.ingest.formats.openapi import METHODS

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
SPEC = json.loads((FIXTURES / "swagger_store.json").read_text())


def parse_spec(tmp_path: Path, spec) -> tuple[list, dict[str, str]]:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    specs, quarantined = parse_file(path)
    return specs, {q.locator: q.reason for q in quarantined}


def test_operations_keep_method_path_and_spec_metadata():
    specs, quarantined = parse_file(FIXTURES / "swagger_store.json")
    assert quarantined == []
    assert [(s.name, s.http_method, s.http_path) for s in specs] == [
        ("get_orders", "GET", "/orders"),  # no operationId: method + path
        ("createOrder", "POST", "/orders"),
        ("updateOrder", "PUT", "/orders/{orderId}"),
        ("deleteOrder", "DELETE", "/orders/{orderId}"),
        ("uploadReceipt", "POST", "/orders/{orderId}/receipt"),
        ("addTags", "POST", "/tags"),
    ]
    assert all((s.source, s.toolkit, s.licence) == ("swagger", "Tiny Store", "MIT") for s in specs)
    by_name = {s.name: s for s in specs}
    assert by_name["createOrder"].description == "Place an order" and by_name["createOrder"].category == "orders"
    assert by_name["updateOrder"].description == "Replace an order's items."


def test_query_parameters_carry_their_inline_schema():
    (listing,) = [s for s in parse_file(FIXTURES / "swagger_store.json")[0] if s.name == "get_orders"]
    assert listing.parameters == {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["open", "shipped"]},  # collectionFormat is not schema
            "limit": {"type": "integer", "maximum": 100, "default": 20},
        },
        "required": [],
    }
    assert listing.returns["type"] == "array"
    assert listing.returns["items"]["properties"]["status"]["enum"] == ["open", "shipped"]


def test_body_is_flattened_refs_resolved_and_credentials_dropped():
    by_name = {s.name: s for s in parse_file(FIXTURES / "swagger_store.json")[0]}
    create = by_name["createOrder"].parameters
    # the declared API-key header and Authorization are credentials; an ordinary header stays
    assert set(create["properties"]) == {"X-Request-Id", "customer", "items", "ship_to", "category"}
    assert create["required"] == ["customer", "items"]
    assert create["properties"]["ship_to"] == {
        "type": "object", "required": ["city"], "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
        "x-model": "Address",  # the model's name is kept for the environment compiler
    }  # fmt: skip
    assert create["properties"]["category"]["properties"]["parent"] == {"x-recursive-ref": "#/definitions/Category"}
    returns = by_name["createOrder"].returns  # the 201 response; required may name an allOf part's field
    assert returns["required"] == ["id", "customer"] and "customer" in returns["allOf"][0]["properties"]
    # an optional body's fields are optional; the path parameter (a #/parameters ref on the path) is required
    update = by_name["updateOrder"].parameters
    assert update["required"] == ["orderId"]
    assert update["properties"]["orderId"] == {"type": "integer", "format": "int64"}
    assert by_name["updateOrder"].returns is None  # 204: no schema


def test_form_fields_and_non_object_bodies():
    by_name = {s.name: s for s in parse_file(FIXTURES / "swagger_store.json")[0]}
    upload = by_name["uploadReceipt"].parameters
    assert upload["properties"]["file"] == {"type": "string"} and upload["required"] == ["orderId", "file"]
    tags = by_name["addTags"]
    assert tags.parameters["properties"] == {"body": {"type": "array", "items": {"type": "string"}}}
    assert tags.parameters["required"] == ["body"] and tags.returns is None  # only 2xx responses count


def test_a_body_field_a_parameter_declares_is_that_parameter_and_read_only_fields_are_no_arguments(tmp_path):
    """``PUT /devices/{id}`` with a Device body (traccar's shape): the device's fields are the arguments, the path's
    ``id`` is the device's own, and what only the server sets (``readOnly``, an ETag, a field whose description
    says so, when the device was made or last changed) is not asked for."""
    device = {"type": "object", "required": ["name"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "category": {"type": "string"},
        "lastUpdate": {"type": "string", "format": "date-time", "readOnly": True}, "etag": {"type": "string"},
        "kind": {"type": "string", "description": "Type of the resource. This is always \"trackers#device\"."},
        "created": {"type": "string", "description": "Output only. When the device was added."},
        "modified_at": {"type": "string"}, "seen": {"type": "string", "description": "Last update time of the device."},
        "expires": {"type": "string", "format": "date-time", "description": "The time the tracking plan ends."}}}
    spec = {"swagger": "2.0", "info": {"title": "Trackers", "version": "1"}, "definitions": {"Device": device},
            "paths": {"/devices/{id}": {"put": {"operationId": "updateDevice", "parameters": [
                {"name": "id", "in": "path", "required": True, "type": "integer"},
                {"name": "body", "in": "body", "required": True, "schema": {"$ref": "#/definitions/Device"}}],
                "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Device"}}}}}}}
    (update,), quarantined = parse_spec(tmp_path, spec)
    assert quarantined == {}
    assert set(update.parameters["properties"]) == {"id", "name", "category", "expires"}
    assert update.parameters["required"] == ["id", "name"]
    assert "lastUpdate" in update.returns["properties"]  # the response still shows it


def test_bad_ref_quarantines_one_operation_and_keeps_its_siblings(tmp_path):
    spec = json.loads(json.dumps(SPEC))
    spec["paths"]["/orders"]["post"]["parameters"][-1]["schema"] = {"$ref": "#/definitions/Missing"}
    specs, reasons = parse_spec(tmp_path, spec)
    assert len(specs) == 5 and "createOrder" not in {s.name for s in specs}
    assert reasons == {"document / POST /orders": "unresolvable $ref: #/definitions/Missing"}


@pytest.mark.parametrize(
    ("paths", "locator", "reason"),
    [
        (None, "document", "no paths: the spec defines no operations"),
        ({}, "document", "no paths: the spec defines no operations"),
        (["/orders"], "document", "invalid paths: not a mapping but list"),
        ({"/a": "nothing"}, "document / /a", "invalid path item: not an object at /a"),
        ({"/a": {"get": ["x"]}}, "document / GET /a", "invalid operation: not a mapping but list"),
        ({"/a": {"get": {"parameters": [{"in": "query"}]}}}, "document / GET /a", "missing name"),
    ],
)
def test_broken_specs_are_quarantined_with_a_reason(tmp_path, paths, locator, reason):
    spec = {k: v for k, v in SPEC.items() if k != "paths"}
    if paths is not None:
        spec["paths"] = paths
    specs, reasons = parse_spec(tmp_path, spec)
    assert specs == [] and reasons[locator].startswith(reason)


def test_a_spec_that_is_not_a_mapping_is_unrecognized(tmp_path):
    (tmp_path / "spec.yaml").write_text("swagger 2.0 is not a mapping\n")
    specs, quarantined = parse_file(tmp_path / "spec.yaml")
    assert specs == [] and [q.reason for q in quarantined] == ["unrecognized format"]
    assert detect({"swagger": "2.0"}).name == "swagger" and detect({"openapi": "3.0.0"}).name == "openapi"


REAL_SPECS = ["rbaskets.in/0.5.json", "launchdarkly.com/2.0.0.json", "traccar.org/3.14.json",
              "postmarkapp.com/account/0.9.0.json", "azure.com/arm-network/2016-06-01.json"]  # fmt: skip


@pytest.mark.parametrize("name", REAL_SPECS)
def test_real_specs_give_one_tool_per_operation(shared_data, name):
    path = shared_data / "openapi" / name
    raw = json.loads(path.read_text())
    expected = [(m.upper(), p) for p, item in raw["paths"].items() for m in METHODS if m in item]
    specs, quarantined = parse_file(path)
    assert quarantined == [] and [(s.http_method, s.http_path) for s in specs] == expected
    for spec in specs:
        params = spec.parameters
        assert set(params["required"]) <= set(params["properties"])
        assert {p.strip("{}") for p in spec.http_path.split("/") if p.startswith("{")} <= set(params["required"])
        assert not any(n.lower() in ("authorization", "x-postmark-account-token") for n in params["properties"])
        assert spec.toolkit == raw["info"]["title"] and spec.source == "swagger"


def test_real_body_parameters_become_arguments(shared_data):
    specs, _ = parse_file(shared_data / "openapi" / "traccar.org" / "3.14.json")
    devices = next(s for s in specs if (s.http_method, s.http_path) == ("POST", "/devices"))
    assert {"name", "uniqueId"} <= set(devices.parameters["properties"])  # the Device definition's fields
