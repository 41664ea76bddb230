"""Swagger 2.0 specs (the APIs.guru directory is written in it): the 2.0 side of ``openapi.py``.

In 2.0 a parameter carries its schema inline (``type``, ``format``, ``enum``... beside ``name``),
the request body is a parameter ``in: body`` whose ``schema`` usually points into ``definitions``,
a form's fields are ``in: formData`` parameters, and a response names its ``schema`` directly.
A form becomes one object body, so its fields become arguments the same way a JSON body's do.
"""

from __future__ import annotations

from typing import Any

from agentscaler.ingest.formats.openapi import OpenApiFamily, Operation, Parameter

SCHEMA_KEYS = frozenset(
    "type format items enum default maximum minimum exclusiveMaximum exclusiveMinimum maxLength minLength "
    "pattern maxItems minItems uniqueItems multipleOf".split()
)
"""The JSON Schema keywords a 2.0 parameter may carry inline (``collectionFormat`` and ``x-`` extensions are not)."""


class Swagger(OpenApiFamily):
    name = "swagger"

    def detect(self, record: dict) -> bool:
        return str(record.get("swagger", "")).startswith("2")

    def parameter_schema(self, param: Parameter) -> dict[str, Any]:
        return {k: v for k, v in (param.model_extra or {}).items() if k in SCHEMA_KEYS}

    def request_body(self, op: Operation, params: list[Parameter], doc: dict) -> tuple[Any, bool]:
        body = next((p for p in params if p.location == "body"), None)
        if body is not None:
            return body.schema_ or None, body.required
        form = [p for p in params if p.location == "formData"]
        if not form:
            return None, False
        properties = {p.name: self.argument(p) for p in form}
        return {"type": "object", "properties": properties, "required": [p.name for p in form if p.required]}, True

    def response_schema(self, response: dict) -> Any:
        return response.get("schema")
