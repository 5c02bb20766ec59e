"""The composition root: one FastAPI app with the REST API and the web pages.

:func:`create_app` makes (or takes) the database engine, brings the schema up to date, mounts the
API under ``/api/v1`` (OpenAPI at ``/openapi.json``, Swagger UI at ``/docs`` from the
package), installs the web back office,
answers API errors as problem details, and adds the transport headers (:class:`SecurityHeaders`).
Tests call it with their own engine, settings and clock.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine, inspect
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patronage.api import PREFIX, api_router
from patronage.api.docs import install_docs
from patronage.api.links import install_links
from patronage.api.problems import install_problem_handlers
from patronage.clock import Clock, SystemClock
from patronage.config import Settings, get_settings
from patronage.db.engine import make_pooled_engine
from patronage.db.schema import upgrade
from patronage.markets.markets import ensure_configured_market
from patronage.operations import http as operations_http
from patronage.operations.tracing import install_tracing
from patronage.proxies import Network, is_https
from patronage.web import install as install_web
from patronage.web.import_jobs import expire_stale

#: Browsers that reached the site over https keep to https for a year, subdomains too.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
API_PATHS = ("/api/",)


class SecurityHeaders:
    """HSTS on every answer served over https (the request's scheme, or ``X-Forwarded-Proto``
    from a trusted proxy), and ``Cache-Control: no-store`` on every API answer (they carry
    members' personal data; pages set their own, see :mod:`patronage.web.auth`)."""

    def __init__(self, app: ASGIApp, proxies: tuple[Network, ...]) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        https = is_https(str(scope.get("scheme", "http")), client[0] if client else None,
                         Headers(scope=scope).get("x-forwarded-proto"), self.proxies)
        api = str(scope.get("path", "")).startswith(API_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and (https or api):
                headers = list(message.get("headers", []))
                if https:
                    headers.append(HSTS)
                if api and not any(name == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: The methods an ``OPTIONS`` answer may list (besides ``OPTIONS`` itself).
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> set[str]:
    """Every method some route answers at the scope's path (not counting mounted apps, such as
    the static files, which take any method)."""
    allowed = set()
    for method in METHODS:
        probe = {**scope, "method": method}
        for route in routes:
            if not isinstance(route, Mount) and route.matches(probe)[0] == Match.FULL:
                allowed.add(method)
                break
    return allowed


class AllowedMethods:
    """``OPTIONS`` on a path of the app answers 204 with an ``Allow`` header listing every
    method of that path (the router alone would name the methods of one route only). A path
    without routes goes on to the usual 404."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "OPTIONS":
            await self.app(scope, receive, send)
            return
        allowed = allowed_methods(self.routes, scope)
        if not allowed:
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted(allowed | {"OPTIONS"}))
        await send({"type": "http.response.start", "status": 204,
                    "headers": [(b"allow", allow.encode("latin-1"))]})
        await send({"type": "http.response.body", "body": b""})


def create_app(*, settings: Settings | None = None, engine: Engine | None = None,
               clock: Clock | None = None, migrate: bool = True,
               read_engine: Engine | None = None) -> FastAPI:
    """The app. Refuses the default secret key outside demo mode. ``read_engine`` (else one
    made from ``PATRONAGE_READ_DATABASE_URL`` when set) serves the dashboards."""
    settings = settings or get_settings()
    settings.check_secret()
    proxies = settings.proxy_networks()  # a malformed PATRONAGE_TRUSTED_PROXIES: refused
    if engine is None:
        engine = make_pooled_engine(settings.database_url, settings.pool_options())
    if migrate:
        upgrade(engine)
        ensure_configured_market(engine, settings.market, currency=settings.currency,
                                 timezone=settings.company_timezone)
    app = FastAPI(
        title=f"{settings.company_name} — Patronage",
        summary="A customer-first back office for direct selling: members, genealogy, orders, "
                "autoship, commissions, customer value and care.",
        version="1",
        docs_url=None,  # served from the package by install_docs
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    if read_engine is None and settings.read_database_url:
        read_engine = make_pooled_engine(settings.read_database_url, settings.pool_options())
    app.state.read_engine = read_engine
    app.state.clock = clock or SystemClock()
    # Jobs left running by a server process that died are failed (their heartbeat stopped);
    # an app made over a database that is not migrated (the documentation build) has none.
    if migrate or inspect(engine).has_table("import_jobs"):
        expire_stale(engine, app.state.clock.now())
    app.include_router(api_router(), prefix=PREFIX)
    install_docs(app)
    install_web(app)
    install_problem_handlers(app)
    install_links(app)
    app.add_middleware(AllowedMethods, routes=app.router.routes)
    app.add_middleware(SecurityHeaders, proxies=proxies)
    # Outermost: every answer, even an error page, carries its request id and is counted.
    operations_http.install(app, engine, app.state.clock)
    app.state.tracer_provider = install_tracing(
        app, engine, endpoint=settings.otel_endpoint, service_name=settings.otel_service_name)
    return app


def from_env() -> FastAPI:
    """The app of one server process among several (``patronage serve --workers N``): settings
    from the environment, the schema already brought up to date by ``serve``."""
    from patronage.operations.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    engine = make_pooled_engine(settings.database_url, settings.pool_options())
    return create_app(settings=settings, engine=engine, migrate=False)
