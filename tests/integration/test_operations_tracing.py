"""Optional OpenTelemetry traces: with an endpoint set, requests and their SQL statements are
exported over OTLP/HTTP to a real collector endpoint (a small HTTP server here that decodes
what it receives); without one nothing is installed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from sqlalchemy import Engine

from patronage.clock import FixedClock
from patronage.errors import PatronageError
from patronage.operations.tracing import install_tracing, traces_url
from patronage.server import create_app
from tests.e2e.world import NOW, app_for, settings

pytestmark = pytest.mark.storage


class Collector(ThreadingHTTPServer):
    """Receives OTLP/HTTP trace exports (protobuf) and keeps the spans."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.spans: list[tuple[str, dict[str, str], str]] = []  # name, attributes, service
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.paths.append(self.path)
        for resource_spans in request.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes
                           if a.key == "service.name")
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    attributes = {a.key: str(a.value.string_value or a.value.int_value or
                                             list(a.value.array_value.values))
                                  for a in span.attributes}
                    self.server.spans.append((span.name, attributes, service))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_requests_and_their_statements_are_exported(engine: Engine,
                                                    collector: Collector) -> None:
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    config = settings().model_copy(update={"otel_endpoint": endpoint,
                                           "otel_service_name": "patronage-test"})
    app = create_app(settings=config, engine=engine, clock=FixedClock(NOW), migrate=False)
    with TestClient(app) as client:
        answer = client.get("/api/v1/members/1")  # refused: no token, but traced
        assert answer.status_code == 401
        assert client.get("/healthz").status_code == 200  # a probe: not traced
        assert client.get("/login").status_code == 200
        app.state.tracer_provider.force_flush()
    assert collector.paths and set(collector.paths) == {"/v1/traces"}
    servers = [(name, attrs) for name, attrs, _ in collector.spans
               if "http.response.header.x_request_id" in attrs]
    names = [name for name, _ in servers]
    assert "GET /api/v1/members/{member_id}" in names and "GET /login" in names
    assert not any("healthz" in name for name, _, _ in collector.spans)
    api = dict(servers)["GET /api/v1/members/{member_id}"]
    assert answer.headers["x-request-id"] in api["http.response.header.x_request_id"]
    assert {service for _, _, service in collector.spans} == {"patronage-test"}


def test_statements_are_spans(engine: Engine, collector: Collector) -> None:
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}/v1/traces"
    config = settings().model_copy(update={"otel_endpoint": endpoint})
    app = create_app(settings=config, engine=engine, clock=FixedClock(NOW), migrate=False)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200  # untraced, but it reads the store
        assert client.get("/join/nobody").status_code in (200, 303, 404)
        app.state.tracer_provider.force_flush()
    statements = [attrs for name, attrs, _ in collector.spans if "db.query.text" in attrs]
    assert statements, "no SQL statement was traced"
    assert collector.paths[0] == "/v1/traces"  # the full URL is taken as given


def test_without_an_endpoint_nothing_is_installed(engine: Engine) -> None:
    app = app_for(engine)
    assert app.state.tracer_provider is None
    assert not any("OpenTelemetry" in type(m.cls).__name__ or "OpenTelemetry" in str(m.cls)
                   for m in app.user_middleware)


def test_the_traces_url() -> None:
    assert traces_url("http://c:4318") == "http://c:4318/v1/traces"
    assert traces_url("http://c:4318/") == "http://c:4318/v1/traces"
    assert traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"


def test_missing_packages_are_named(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    import builtins

    real_import = builtins.__import__

    def without_sdk(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("opentelemetry.sdk"):
            raise ImportError("no sdk", name="opentelemetry.sdk")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", without_sdk)
    with pytest.raises(PatronageError, match=r"patronage\[otel\]"):
        install_tracing(app_for(engine), engine, endpoint="http://c:4318",
                        service_name="patronage")
