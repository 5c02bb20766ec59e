"""What the server adds for operations: a request id and an access log line (JSON) for every
request, request metrics, and the ``/healthz``, ``/readyz`` and ``/metrics`` endpoints.

``/healthz`` answers 200 while the process serves (liveness); ``/readyz`` answers 200 when the
database answers and its schema is at the newest migration, else 503 naming what is wrong
(readiness: a load balancer sends no traffic until then); ``/metrics`` is the Prometheus
exposition. All three are public and carry no personal data: bind the server to a private
network or have the proxy keep ``/metrics`` inside."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Mount, Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patronage.db.schema import alembic_config
from patronage.operations.logs import accept_request_id, request_id
from patronage.operations.metrics import (
    RequestMetrics,
    StoreCollector,
    exposition,
    make_registry,
)

access_log = logging.getLogger("patronage.access")
#: Paths scraped or probed every few seconds: counted, but not written to the access log.
QUIET = ("/healthz", "/readyz", "/metrics")


class RequestObservability:
    """Gives every request an id (``X-Request-ID`` when the client or proxy sent a usable one,
    else a new one), answers with it, logs one access line and counts the request."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics, routes: list[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self._labels: dict[tuple[str, str], str] = {}
        self._templates: list[tuple[str, re.Pattern[str], frozenset[str]]] | None = None

    def route_of(self, scope: Scope) -> str:
        """The template of the route that answers (``/api/v1/members/{member_id}``), so that
        one route is one series however many ids it is called with; ``unmatched`` for none."""
        if self._templates is None:  # every route is added by the first request
            self._templates = route_templates(self.routes)
        method, path = str(scope.get("method", "")), str(scope.get("path", ""))
        key = (method, path)
        label = self._labels.get(key)
        if label is None:
            label = next((template for template, pattern, methods in self._templates
                          if (not methods or method in methods) and pattern.match(path)),
                         "unmatched")
            if len(self._labels) > 10_000:  # paths with ids are many: keep the cache bounded
                self._labels.clear()
            self._labels[key] = label
        return label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = accept_request_id(Headers(scope=scope).get("x-request-id"))
        token = request_id.set(rid)
        route = self.route_of(scope)  # before the app adds its own keys to the scope
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            method = str(scope.get("method", ""))
            self.metrics.observe(method, route, status, seconds)
            path = str(scope.get("path", ""))
            if path not in QUIET:
                access_log.info("request", extra={
                    "method": method, "path": path, "route": route, "status": status,
                    "duration_ms": round(seconds * 1000, 1)})
            request_id.reset(token)


def route_templates(routes: list[BaseRoute]) -> list[tuple[str, re.Pattern[str],
                                                            frozenset[str]]]:
    """Every route's full template (included routers' prefixes added; a mount as
    ``<mount>/{path}``), its pattern and methods (none: any)."""
    out: list[tuple[str, re.Pattern[str], frozenset[str]]] = []

    def walk(items: list[BaseRoute], prefix: str) -> None:
        for route in items:
            included = getattr(route, "original_router", None)
            if included is not None:
                walk(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
            elif isinstance(route, Mount):
                template = prefix + route.path + "/{path:path}"
                out.append((prefix + route.path + "/{path}", compile_path(template)[0],
                            frozenset()))
            elif isinstance(route, Route | APIRoute):
                template = prefix + route.path
                out.append((template, compile_path(template)[0],
                            frozenset(route.methods or ())))

    walk(routes, "")
    return out


def schema_problem(engine: Engine) -> str | None:
    """Why the database cannot serve (unreachable, or not at the newest migration), or None."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # any failure to reach the database is the answer
        return f"database unreachable: {type(exc).__name__}"
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    # Applied: the database's heads and everything below them (dependencies too).
    applied = {rev.revision for rev in script.iterate_revisions(tuple(current), "base")
               if rev is not None}
    missing = set(script.get_heads()) - applied
    if missing:
        return f"migrations not applied: {', '.join(sorted(missing))} (run patronage init)"
    return None


def install(app: FastAPI, engine: Engine, clock: Any) -> None:
    """Add the request middleware's metrics, and the three endpoints, to ``app``."""
    registry = make_registry()
    metrics = RequestMetrics(registry)
    store = StoreCollector(engine, clock.now)
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        return JSONResponse({"status": "ok"}, headers={"cache-control": "no-store"})

    @router.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        problem = schema_problem(engine)
        if problem:
            return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503,
                                headers={"cache-control": "no-store"})
        return JSONResponse({"status": "ready"}, headers={"cache-control": "no-store"})

    @router.get("/metrics", include_in_schema=False)
    def metrics_endpoint(request: Request) -> Response:
        return Response(exposition(registry, store), media_type=CONTENT_TYPE_LATEST,
                        headers={"cache-control": "no-store"})

    app.include_router(router)
    app.add_middleware(RequestObservability, metrics=metrics, routes=app.router.routes)
