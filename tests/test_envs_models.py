"""A spec's data models become the tables they describe; operations map onto them through their paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentscaler.envs import build_domain
from agentscaler.envs.schema import path_subject, render_ddl
from agentscaler.ingest import parse_file
from agentscaler.envs import DomainSimulator

FIXTURES = Path(__file__).parent / "fixtures"


def test_swagger_definitions_become_the_orders_table():
    specs, quarantined = parse_file(FIXTURES / "ingest" / "swagger_store.json")
    assert quarantined == []
    spec = build_domain(0, specs, rows=4, states=1)
    orders = spec.table("orders")
    columns = {c.name: c for c in orders.columns}
    # Order = NewOrder (customer, items, ship_to: Address, category: Category) + id + status enum
    assert orders.primary_key == "order_id" and "id" not in columns  # the model's id is the table's key
    assert {"customer", "items", "ship_to", "category", "status"} <= set(columns)
    assert columns["status"].enum == ["open", "shipped"]
    assert (columns["items"].json_type, columns["ship_to"].json_type) == ("array", "object")  # nested: JSON
    tables = {t.name: t.table for t in spec.tools}
    assert {tables[n] for n in ("get_orders", "createOrder", "updateOrder", "deleteOrder")} == {"orders"}
    assert [(fk.column, fk.table) for fk in spec.table("receipts").foreign_keys] == [("order_id", "orders")]
    update = spec.tool("updateOrder").operation
    assert [b.column for b in update.bindings if b.role == "eq"] == ["order_id"]  # the path's {orderId}
    sim = DomainSimulator(spec)
    obs = sim.step({"name": "updateOrder", "arguments": {"orderId": 2, "customer": "Ada", "items": ["pen"]}})
    assert not obs.error and sim.rows("orders")[1]["customer"] == "Ada"


def test_the_path_names_the_table_whatever_the_operation_is_called(tmp_path):
    pet = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                             "status": {"type": "string", "enum": ["available", "sold"]}}}
    paths = {
        "/pet/findByStatus": {"get": {"operationId": "findByStatus", "parameters": [
            {"name": "status", "in": "query", "type": "string", "enum": ["available", "sold"]}],
            "responses": {"200": {"description": "ok", "schema": {"type": "array", "items": {"$ref": "#/definitions/Pet"}}}}}},
        "/pet/{petId}": {"get": {"operationId": "fetchOne", "parameters": [
            {"name": "petId", "in": "path", "required": True, "type": "integer"}],
            "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}}}},
        "/pet": {"post": {"operationId": "add", "parameters": [
            {"name": "body", "in": "body", "required": True, "schema": {"$ref": "#/definitions/Pet"}}],
            "responses": {"200": {"description": "ok"}}}},
    }
    path = tmp_path / "pets.json"
    path.write_text(json.dumps({"swagger": "2.0", "info": {"title": "Pets", "version": "1"}, "paths": paths,
                                "definitions": {"Pet": pet}}))
    specs, _ = parse_file(path)
    spec = build_domain(0, specs, rows=3, states=1)
    assert [t.name for t in spec.tables] == ["pets"]
    assert {t.name: (t.kind, t.table) for t in spec.tools} == {
        "findByStatus": ("read", "pets"), "fetchOne": ("read", "pets"), "add": ("create", "pets")}
    assert spec.table("pets").column("status").enum == ["available", "sold"]
    assert spec.tool("fetchOne").operation.single_row  # keyed by the path's petId
    assert all(t.executable for t in spec.tools)


@pytest.mark.parametrize(("path", "entity"), [
    ("/pets/{petId}", "pet"), ("/pet/findByStatus", "pet"), ("/orders/{orderId}/receipt", "receipt"),
    ("/v2/users/{id}", "user"), ("/user/login", "user"), ("/#DeleteTags", None), ("/{id}", None),
    ("/v1/projects/{p}/locations/{l}/keyRings:create", "ring"), (None, None),
])
def test_path_subject(path, entity):
    assert path_subject(path) == entity


def test_a_property_holding_another_model_is_a_foreign_key_to_its_table(tmp_path):
    category = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                                  "parent": {"$ref": "#/definitions/Category"}}}
    pet = {"type": "object", "required": ["name"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "category": {"$ref": "#/definitions/Category"},
        "tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}}}}
    tag = {"type": "object", "properties": {"label": {"type": "string"}}}
    paths = {
        "/pets/{petId}": {"get": {"operationId": "getPet", "parameters": [
            {"name": "petId", "in": "path", "required": True, "type": "integer"}],
            "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}}}},
        "/pets": {"post": {"operationId": "addPet", "parameters": [
            {"name": "name", "in": "formData", "required": True, "type": "string"}],
            "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}}}},
    }
    path = tmp_path / "pets.json"
    path.write_text(json.dumps({"swagger": "2.0", "info": {"title": "Pets", "version": "1"}, "paths": paths,
                                "definitions": {"Pet": pet, "Category": category, "Tag": tag}}))
    specs, _ = parse_file(path)
    assert specs[0].returns["properties"]["category"]["x-model"] == "Category"
    spec = build_domain(0, specs, rows=5, states=1)
    pets, categories = spec.table("pets"), spec.table("categories")
    assert [(fk.column, fk.table, fk.ref_column, fk.on_delete) for fk in pets.foreign_keys] == [
        ("category_id", "categories", "category_id", "SET NULL")]  # a pet outlives its category
    assert "category" not in {c.name for c in pets.columns}  # a key, not a JSON copy of the category
    assert "name" in {c.name for c in categories.columns}  # the model's own scalar properties
    assert categories.column("category_id").type == "INTEGER"  # Category.id is an integer
    assert pets.column("tags").json_type == "array"  # a list of models stays JSON
    assert pets.column("name").required and not pets.column("category_id").required  # Pet.required, set by addPet
    assert any('"name" TEXT NOT NULL' in sql for sql in render_ddl([pets]))
    sim = DomainSimulator(spec)
    category_ids = {row["category_id"] for row in sim.rows("categories")}
    assert {row["category_id"] for row in sim.rows("pets")} <= category_ids
    assert all(t.executable for t in spec.tools)
