"""The REST API (``/api/v1``): thin routes over the services, scoped by role.

Callers are integrations with bearer tokens (:mod:`patronage.api.tokens`) or signed-in web
sessions; every list and read is limited to what the caller may see (:mod:`patronage.access`);
errors are problem details (:mod:`patronage.api.problems`).
"""

from __future__ import annotations

from fastapi import APIRouter, Security
from fastapi.security import APIKeyCookie, HTTPBearer

PREFIX = "/api/v1"

#: How a caller proves who they are (shown by ``/docs``' Authorize button). Both only read the
#: credentials; :func:`patronage.api.deps.get_principal` checks them.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="An API token: 'Authorization: Bearer <token>'.")
SESSION_COOKIE = APIKeyCookie(name="patronage_session", auto_error=False, scheme_name="session",
                              description="A signed-in web session (changes also need the "
                              "X-CSRF-Token header).")


def api_router() -> APIRouter:
    """Every resource's routes, to be included under :data:`PREFIX`."""
    from patronage.api import (
        care,
        care_actions,
        commissions,
        genealogy,
        markets,
        members,
        orders,
        plans,
        products,
        refunds,
        subscriptions,
        values,
    )
    from patronage.api.problems import PROBLEM_RESPONSES

    router = APIRouter(responses=PROBLEM_RESPONSES,
                       dependencies=[Security(BEARER), Security(SESSION_COOKIE)])
    for module in (members, genealogy, products, orders, refunds, subscriptions, commissions,
                   plans, values, care, care_actions, markets):
        router.include_router(module.router)
    return router
