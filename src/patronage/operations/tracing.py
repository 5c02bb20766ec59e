"""Optional OpenTelemetry traces: with ``PATRONAGE_OTEL_ENDPOINT`` set, every request becomes a
server span (its route, status and the request id, as ``http.response.header.x_request_id``)
with a span for each SQL statement under it (its operation and text, never its parameters),
exported in batches over OTLP/HTTP to ``<endpoint>/v1/traces`` (an OpenTelemetry Collector,
Jaeger, Tempo...).

It needs the ``otel`` extra (``pip install 'patronage[otel]'``: the SDK, the OTLP exporter and the
FastAPI instrumentation), imported only when tracing is on. The probes
(``/healthz``, ``/readyz``, ``/metrics``) are not traced. The tracer provider is the app's own,
not the process-wide one, so nothing else in the process is changed; it is flushed and shut
down with the app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import event

from patronage.errors import PatronageError

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy import Engine

#: The probes, scraped every few seconds: not traced.
UNTRACED = "healthz,readyz,metrics"


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def install_tracing(app: FastAPI, engine: Engine, *, endpoint: str | None,
                    service_name: str) -> Any | None:
    """Trace the app's requests and the engine's statements to ``endpoint``; returns the
    tracer provider (``None`` when ``endpoint`` is not set: nothing is installed)."""
    if not endpoint:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise PatronageError(
            "PATRONAGE_OTEL_ENDPOINT: traces need the OpenTelemetry packages, which are not "
            f"installed ({exc.name}); install them with: pip install 'patronage[otel]'") from exc
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=UNTRACED,
        exclude_spans=["receive", "send"],
        http_capture_headers_server_response=["x-request-id"])
    trace_statements(engine, provider.get_tracer("patronage.db"))
    app.router.add_event_handler("shutdown", provider.shutdown)
    return provider


def trace_statements(engine: Engine, tracer: Any) -> None:
    """A client span for each statement the engine runs, a child of the request's span.
    (OpenTelemetry's SQLAlchemy instrumentation does the same but is one per process and
    declares SQLAlchemy below 2.1.)"""
    system = engine.dialect.name

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = tracer.start_span(f"{operation} {system}", kind=_client_kind(), attributes={
            "db.system.name": system, "db.operation.name": operation,
            "db.query.text": statement[:2000]})
        conn.info.setdefault("patronage.spans", []).append(span)

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        spans = conn.info.get("patronage.spans")
        if spans:
            spans.pop().end()

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        spans = context.connection.info.get("patronage.spans") if context.connection else None
        if spans:
            span = spans.pop()
            span.record_exception(context.original_exception)
            span.end()


def _client_kind() -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind.CLIENT
