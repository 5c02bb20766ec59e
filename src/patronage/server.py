"""The composition root: one FastAPI app with the REST API and the web pages.

:func:`create_app` makes (or takes) the database engine, brings the schema up to date, mounts the
API under ``/api/v1`` (OpenAPI at ``/docs``), installs the web back office when it is present and
answers API errors as problem details. Tests call it with their own engine, settings and clock.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from patronage.api import PREFIX, api_router
from patronage.api.problems import install_problem_handlers
from patronage.clock import Clock, SystemClock
from patronage.config import Settings, get_settings
from patronage.db.engine import make_engine
from patronage.db.schema import upgrade


def create_app(*, settings: Settings | None = None, engine: Engine | None = None,
               clock: Clock | None = None, migrate: bool = True) -> FastAPI:
    """The app. Refuses the default secret key outside demo mode."""
    settings = settings or get_settings()
    settings.check_secret()
    settings.proxy_networks()  # a malformed PATRONAGE_TRUSTED_PROXIES is refused at start
    if engine is None:
        engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    app = FastAPI(
        title=f"{settings.company_name} — Patronage",
        summary="A customer-first back office for direct selling: members, genealogy, orders, "
                "autoship, commissions, customer value and care.",
        version="1",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.clock = clock or SystemClock()
    app.include_router(api_router(), prefix=PREFIX)
    import patronage.web as web

    install = getattr(web, "install", None)
    if callable(install):
        install(app)
    install_problem_handlers(app)
    return app
