"""OpenAPI links: what a client can do next with a record it has just created.

Each creating operation's success answer names the operations that take the new record's id
(``$response.body#/id``): enrol a member, then read, move, upgrade, erase or export them or add
a note; place an order, then read or refund it; start an autoship, then skip, pause, change or
cancel it; add a product, then read it; submit a story, then moderate, publish or withdraw it.
Swagger UI shows them, and Schemathesis follows them in its stateful phase.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from patronage.api import PREFIX

#: (method, path of the creating operation, its success status) -> link name -> (method, path
#: of the next operation, its path parameter, the field of the created record).
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, str, str]]] = {
    ("post", "/members", "201"): {
        "GetMember": ("get", "/members/{member_id}", "member_id", "id"),
        "GetConsents": ("get", "/members/{member_id}/consents", "member_id", "id"),
        "GetUpline": ("get", "/members/{member_id}/upline", "member_id", "id"),
        "GetDownline": ("get", "/members/{member_id}/downline", "member_id", "id"),
        "ExportMember": ("get", "/members/{member_id}/export", "member_id", "id"),
        "RecordConsent": ("post", "/members/{member_id}/consents", "member_id", "id"),
        "MoveMember": ("post", "/members/{member_id}/move", "member_id", "id"),
        "UpgradeMember": ("post", "/members/{member_id}/upgrade", "member_id", "id"),
        "EraseMember": ("post", "/members/{member_id}/erase", "member_id", "id"),
        "AddNote": ("post", "/care/members/{member_id}/notes", "member_id", "id"),
        "GetNotes": ("get", "/care/members/{member_id}/notes", "member_id", "id"),
    },
    ("post", "/orders", "201"): {
        "GetOrder": ("get", "/orders/{order_id}", "order_id", "id"),
        "RefundOrder": ("post", "/orders/{order_id}/refunds", "order_id", "id"),
        "GetRefunds": ("get", "/orders/{order_id}/refunds", "order_id", "id"),
    },
    ("post", "/orders/{order_id}/refunds", "201"): {
        "GetRefundedOrder": ("get", "/orders/{order_id}", "order_id", "order_id"),
        "GetOrderRefunds": ("get", "/orders/{order_id}/refunds", "order_id", "order_id"),
    },
    ("post", "/subscriptions", "201"): {
        name: (method, f"/subscriptions/{{subscription_id}}{tail}", "subscription_id", "id")
        for name, method, tail in (
            ("GetSubscription", "get", ""), ("GetSaveOffers", "get", "/save-offers"),
            ("Skip", "post", "/skip"), ("UndoSkip", "post", "/undo-skip"),
            ("Pause", "post", "/pause"), ("Resume", "post", "/resume"),
            ("ChangeDate", "post", "/change-date"), ("SetItems", "post", "/items"),
            ("AddItem", "post", "/items/add"), ("SwapItem", "post", "/items/swap"),
            ("Cancel", "post", "/cancel"), ("Restart", "post", "/restart"))
    },
    ("post", "/products", "201"): {
        "GetProduct": ("get", "/products/{sku}", "sku", "sku"),
    },
    ("post", "/care/testimonials", "201"): {
        name: ("post", f"/care/testimonials/{{testimonial_id}}/{action}", "testimonial_id", "id")
        for name, action in (("Moderate", "moderate"), ("Publish", "publish"),
                             ("Withdraw", "withdraw"))
    },
}


def _ref(method: str, path: str) -> str:
    """A JSON pointer to an operation of this schema."""
    escaped = (PREFIX + path).replace("~", "~0").replace("/", "~1")
    return f"#/paths/{escaped}/{method}"


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Put :data:`LINKS` into ``schema`` (which must have every operation they name)."""
    paths = schema["paths"]
    for (method, path, status), links in LINKS.items():
        response = paths[PREFIX + path][method]["responses"][status]
        out = response.setdefault("links", {})
        for name, (to_method, to_path, parameter, field) in links.items():
            if to_method not in paths.get(PREFIX + to_path, {}):
                raise KeyError(f"link {name}: no operation {to_method.upper()} {to_path}")
            out[name] = {"operationRef": _ref(to_method, to_path),
                         "parameters": {parameter: f"$response.body#/{field}"}}
    return schema


def install_links(app: FastAPI) -> None:
    """Serve the schema with :data:`LINKS` in it."""
    build: Callable[[], dict[str, Any]] = app.openapi
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not done:
            done.append(add_links(build()))
        return done[0]

    app.openapi = openapi  # type: ignore[method-assign]
