"""The REST API (``/api/v1``): thin routes over the services, scoped by role.

Callers are integrations with bearer tokens (:mod:`patronage.api.tokens`) or signed-in web
sessions; every list and read is limited to what the caller may see (:mod:`patronage.access`);
errors are problem details (:mod:`patronage.api.problems`).
"""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every resource's routes, to be included under :data:`PREFIX`."""
    from patronage.api import (
        care,
        care_actions,
        commissions,
        genealogy,
        members,
        orders,
        plans,
        products,
        refunds,
        subscriptions,
        values,
    )

    router = APIRouter()
    for module in (members, genealogy, products, orders, refunds, subscriptions, commissions,
                   plans, values, care, care_actions):
        router.include_router(module.router)
    return router
