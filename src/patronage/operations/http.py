"""What the server adds for operations: a request id and an access log line (JSON) for every
request, request metrics, and the ``/healthz``, ``/readyz`` and ``/metrics`` endpoints.

``/healthz`` answers 200 while the process serves (liveness); ``/readyz`` answers 200 when the
database answers and its schema is at the newest migration, else 503 naming what is wrong
(readiness: a load balancer sends no traffic until then); ``/metrics`` is the Prometheus
exposition. All three are public and carry no personal data: bind the server to a private
network or have the proxy keep ``/metrics`` inside."""

from __future__ import annotations

import logging
import time
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text
from starlette.datastructures import Headers
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

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = accept_request_id(Headers(scope=scope).get("x-request-id"))
        token = request_id.set(rid)
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
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.observe(method, route, status, seconds)
            path = str(scope.get("path", ""))
            if path not in QUIET:
                access_log.info("request", extra={
                    "method": method, "path": path, "route": route, "status": status,
                    "duration_ms": round(seconds * 1000, 1)})
            request_id.reset(token)


def schema_problem(engine: Engine) -> str | None:
    """Why the database cannot serve (unreachable, or not at the newest migration), or None."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # any failure to reach the database is the answer
        return f"database unreachable: {type(exc).__name__}"
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    missing = set(script.get_heads()) - current
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
    app.add_middleware(RequestObservability, metrics=metrics)
