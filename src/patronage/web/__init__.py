"""The web back office: server-rendered pages (Jinja2 + htmx) for staff, distributors and
customers, with signed session cookies, CSRF protection and role-scoped queries.

:func:`install` adds everything to an application that has its store on ``app.state.engine``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from patronage.config import Settings, get_settings
from patronage.db.bulk import planner_rows
from patronage.web.auth import SessionMiddleware
from patronage.web.deps import LoginRequired, PageError, login_url
from patronage.web.forms import checked_fields
from patronage.web.routes import (
    agreement,
    business,
    card,
    company,
    compliance,
    customers,
    imports,
    jobs,
    links,
    payout_method,
    payouts,
    playbooks,
    portal,
    runs,
    session,
    share,
    shop,
    simulations,
    team,
    today,
    webhooks,
)

#: The page routers, in the order they are added.
ROUTERS = (session.router, today.router, customers.router, business.router, team.router,
           portal.router, links.router, company.router, runs.router, imports.router,
           compliance.router, payouts.router, payout_method.router, webhooks.router,
           shop.router, share.router, simulations.router, agreement.router, jobs.router,
           playbooks.router, card.router)


def refresh_planner_statistics(engine: Engine) -> None:
    """On SQLite, gather the query planner's statistics when the members table has none yet
    (about a second at a million members; bulk writers such as the customer value fit analyse
    only their own table). Without them the planner may find a distributor's customers by
    scanning every customer value instead of through the owner index. PostgreSQL keeps its own
    statistics."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        if planner_rows(conn, "members") == 0:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def install(app: FastAPI) -> None:
    """Add the pages (every field they take checked by :mod:`patronage.web.forms`),
    ``/static``, the session cookie middleware and the error pages."""
    settings = getattr(app.state, "settings", None)
    if not isinstance(settings, Settings):
        settings = get_settings()
    engine = getattr(app.state, "engine", None)
    if isinstance(engine, Engine):
        refresh_planner_statistics(engine)
    app.add_middleware(SessionMiddleware, settings=settings)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")),
              name="static")
    for router in ROUTERS:
        app.include_router(router, include_in_schema=False,
                           dependencies=[Depends(checked_fields)])

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": login_url(exc.next_url)})
        return RedirectResponse(login_url(exc.next_url), status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        from patronage.web.templating import render

        return render(request, "error.html", None, status=exc.status, status_code=exc.status,
                      message=exc.message)
