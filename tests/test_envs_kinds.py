"""Tool kinds from the HTTP method where an API has one, with POST-for-search and RPC-style POSTs."""

from __future__ import annotations

import pytest

from agentscaler.envs import classify, infer_schema
from agentscaler.toolspec import ToolSpec


@pytest.mark.parametrize(
    ("name", "description", "method", "path", "kind"),
    [
        ("get_orders", "", "GET", "/orders", "read"),
        ("deleteOrder", "", "HEAD", "/orders/{id}", "read"),  # the method beats the name
        ("createPet", "", "PUT", "/pets/{id}", "update"),
        ("listTags", "", "PATCH", "/tags", "update"),
        ("get_order", "", "DELETE", "/orders/{id}", "delete"),
        ("renew_subscription", "", "POST", "/subscriptions/{id}/renewal", "update"),  # RPC-style: a status change
        ("subscriptions_renewal", "", "POST", "/subscriptions/{id}/renewal", "create"),  # no verb: POST creates
        ("placeOrder", "Place an order for a pet", "POST", "/store/order", "create"),
        ("searchUsers", "", "POST", "/users/query", "read"),  # POST for a search
        ("DescribeTags", "", "POST", "/#DescribeTags", "read"),
        ("sheets_spreadsheets_batchGet", "", "POST", "/v4/spreadsheets:batchGet", "read"),
        ("post_orders_search", "", "POST", "/orders/search", "read"),  # method + path name: the path says search
        ("post_lists_list_id_recipients", "Add a recipient to a list", "POST", "/lists/{list_id}/recipients", "create"),
        ("runReport", "", "POST", "/documents:runQuery", "read"),
        ("orders", "Finds orders by status", "POST", "/orders", "read"),  # no verb in the name: the description's
        ("DeleteEventSubscription", "", "POST", "/#DeleteEventSubscription", "delete"),  # RPC-style POST
        ("compute_instanceGroups_setNamedPorts", "", "POST", "/{project}/instanceGroups/{g}/setNamedPorts", "update"),
        ("post_mailing_lists", "", "POST", "/mailing_lists", "create"),  # a collection named list is no search
    ],
)
def test_http_method_decides_the_kind(name, description, method, path, kind):
    assert classify(name, description, method, path) == kind


def test_without_a_method_the_verbs_decide():
    assert classify("get_orders") == "read" and classify("delete_order") == "delete"
    assert classify("orders", "Updates an order.") == "update" and classify("weather") == "read"


def test_schema_inference_passes_the_method_through():
    def tool(name: str, method: str | None) -> ToolSpec:
        params = {"type": "object", "properties": {"order_id": {"type": "integer"}}, "required": ["order_id"]}
        return ToolSpec.build(name=name, parameters=params, source="swagger", http_method=method,
                              http_path="/orders/{order_id}")

    _, drafts = infer_schema([tool("order_status", "DELETE"), tool("order_details", "PUT"), tool("order_info", None)])
    assert [d.kind for d in drafts] == ["delete", "update", "read"]
