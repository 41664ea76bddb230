"""Builders shared by the environment, simulator and play tests: tools, run dirs, real corpora."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from agentscaler.artifacts import RunDir, write_table
from agentscaler.envs import EnvSpec, build_domain
from agentscaler.envs.keys import row_key
from agentscaler.toolspec import ToolSpec

_TOOLBENCH_TYPES = {"STRING": "string", "NUMBER": "number", "BOOLEAN": "boolean"}


def tool(name: str, properties: dict | None = None, required: list[str] | None = None, description: str = "",
         **fields) -> ToolSpec:
    parameters = {"type": "object", "properties": properties or {}, "required": required or []}
    return ToolSpec.build(name=name, description=description, parameters=parameters, source="test", **fields)


def key(spec, table: str, n: int, state: int = 0):
    """Row ``n``'s (from 1) primary key in a synthesized state: keys take real shapes (``envs.keys``), a user's
    is a handle made of their name."""
    return spec.states[state][table][n - 1][0]


@lru_cache
def _shop(domain: int) -> EnvSpec:
    return build_domain(domain, shop_tools(), rows=5)


def user(n: int, state: int = 0, domain: int = 0) -> str:
    """The shop's ``n``-th user's key (a handle of their name) in ``state`` of domain ``domain`` as ``shop_run``
    and ``build_domain(domain, shop_tools(), rows=5)`` build it."""
    return key(_shop(domain), "users", n, state)


def order(n: int) -> str:
    """The shop's ``n``-th order number (the n-th row's, or the one a create makes as row n)."""
    return row_key("number", "order", n)


def s(description: str = "") -> dict:
    return {"type": "string", "description": description}


def i(description: str = "") -> dict:
    return {"type": "integer", "description": description}


def shop_tools() -> list[ToolSpec]:
    """The domain whose schema is obvious: users and their orders."""
    return [
        tool("get_user", {"user_id": s()}, ["user_id"], "Get a user's profile."),
        tool("create_order", {"user_id": s(), "item": s(), "quantity": i()}, ["user_id", "item", "quantity"],
             "Place an order for a user."),
        tool("cancel_order", {"order_id": s()}, ["order_id"], "Cancel an order.", http_method="DELETE",
             http_path="/orders/{order_id}"),  # a REST API that cancels by deleting: the method decides
        tool("list_orders", {"user_id": s(), "limit": i()}, ["user_id"], "List a user's orders."),
        tool("update_order", {"order_id": s(), "new_quantity": i()}, ["order_id", "new_quantity"],
             "Change the quantity of an order."),
        tool("search_users", {"q": s(), "min_age": i(), "max_age": i()}, [], "Find users by name and age."),
    ]


def toolbench_groups(data: Path, limit: int | None = None) -> list[list[ToolSpec]]:
    """ToolBench APIs grouped by their RapidAPI tool: one group per line of the corpus."""
    groups = []
    with (data / "toolbench" / "toolbench_tools.jsonl").open() as handle:
        for line in handle:
            record = json.loads(line)
            specs = []
            for api in record["api_list"]:
                props, required = {}, []
                for key in ("required_parameters", "optional_parameters"):
                    for p in api.get(key) or []:
                        props[p["name"]] = {"type": _TOOLBENCH_TYPES.get(p.get("type"), "string"),
                                            "description": p.get("description") or ""}
                        if p.get("default") not in (None, ""):
                            props[p["name"]]["default"] = p["default"]
                        if key == "required_parameters":
                            required.append(p["name"])
                specs.append(ToolSpec.build(
                    name=api["name"], description=api.get("description") or "", source="toolbench",
                    parameters={"type": "object", "properties": props, "required": required},
                    toolkit=record["tool_name"], category=record["category_name"]))
            groups.append(list({t.tool_id: t for t in specs}.values()))
            if limit and len(groups) >= limit:
                break
    return groups


def bfcl_groups(data: Path, file: str = "BFCL_v4_live_multiple.json", limit: int | None = None) -> list[list[ToolSpec]]:
    """BFCL function docs grouped as each question offers them (the functions of one record)."""
    groups, seen = [], set()
    with (data / "bfcl" / file).open() as handle:
        for line in handle:
            docs = json.loads(line)["function"]
            specs = {}
            for doc in docs:
                params = dict(doc.get("parameters") or {})
                params["type"] = "object"
                spec = ToolSpec.build(name=doc["name"], description=doc.get("description") or "",
                                      parameters=params, source="bfcl")
                specs[spec.tool_id] = spec
            key = tuple(sorted(specs))
            if key not in seen:
                seen.add(key)
                groups.append(list(specs.values()))
            if limit and len(groups) >= limit:
                break
    return groups


def make_run(path: Path, groups: list[list[ToolSpec]]) -> RunDir:
    """A run directory as stages 1 and 3 leave it: tools.parquet and domains.parquet."""
    run = RunDir(path)
    tools = {t.tool_id: t for group in groups for t in group}
    write_table(pa.Table.from_pylist([t.to_row() for t in tools.values()]), run.tools)
    rows = [{"tool_id": t.tool_id, "name": t.name, "domain_id": d, "attached": False}
            for d, group in enumerate(groups) for t in group]
    write_table(pa.Table.from_pylist(rows, schema=pa.schema([("tool_id", pa.string()), ("name", pa.string()),
                                                              ("domain_id", pa.int64()), ("attached", pa.bool_())])),
                run.domains)
    return run


def call(sim, name: str, **arguments):
    """(the parsed observation, whether it is an error) of one call on a simulator."""
    obs = sim.step({"name": name, "arguments": arguments})
    return json.loads(obs.observation), obs.error


CERTIFICATE_TOOLS = [  # AWS Certificate Manager's shape: list filters take lists
    tool("ListCertificates", {"CertificateStatuses": {"type": "array", "items": {
        "type": "string", "enum": ["ISSUED", "PENDING", "EXPIRED"]}}, "MaxItems": {"type": "integer"}}, [],
        "Lists the certificates."),
    tool("GetCertificates", {"ids": {"type": "array", "items": {"type": "string"}}}, ["ids"], "Gets certificates."),
    tool("CreateCertificate", {"DomainName": {"type": "string"}, "Status": {"type": "string", "enum": [
        "ISSUED", "PENDING", "EXPIRED"]}}, ["DomainName"], "Requests a certificate."),
]
