"""What the server gives operations: /healthz, /readyz, Prometheus metrics at /metrics
(requests, latencies, job runs, durations and outcomes, queue sizes), a request id on every
answer and in JSON log lines, and dashboards read from the read replica."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete

from patronage.clock import FixedClock
from patronage.db.engine import make_engine, transaction
from patronage.db.figures import CompanyFigures
from patronage.operations.jobs import Job, JobContext
from patronage.operations.logs import JsonFormatter
from patronage.operations.schedule import Every
from patronage.operations.worker import run_pending
from patronage.server import create_app
from tests import factories as f
from tests.e2e.world import EMAILS, NOW, app_for, seed, settings, sign_in


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """The access log as the server writes it (JSON lines)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("patronage.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_probes(engine: Engine, tmp_path: Path) -> None:
    client = TestClient(app_for(engine))
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    # A database without the migrations: alive, but not ready.
    bare = make_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    bare_app = create_app(settings=settings(), engine=bare, clock=FixedClock(NOW),
                          migrate=False)
    answer = TestClient(bare_app).get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["reason"].startswith("migrations not applied: ")
    assert TestClient(bare_app).get("/healthz").status_code == 200


def test_metrics_expose_requests_latencies_jobs_and_queues(engine: Engine) -> None:
    client = TestClient(app_for(engine))
    client.get("/login")
    client.get("/api/v1/members/123")  # 401, counted under its route template
    def fails(ctx: JobContext) -> str:
        raise RuntimeError("down")
    jobs = {"ok-job": Job("ok-job", Every(5), lambda ctx: "done", ""),
            "bad-job": Job("bad-job", Every(5), fails, "")}
    run_pending(engine, datetime(2026, 11, 1, 10, 0, tzinfo=UTC), settings(), jobs=jobs)
    text = client.get("/metrics").text
    assert re.search(r'patronage_http_requests_total\{method="GET",route="/login",'
                     r'status="200"\} 1\.0', text)
    assert re.search(r'patronage_http_requests_total\{method="GET",'
                     r'route="/api/v1/members/\{member_id\}",status="401"\} 1\.0', text)
    assert re.search(r'patronage_http_request_duration_seconds_bucket\{le="\+Inf",'
                     r'method="GET",route="/login"\} 1\.0', text)
    assert re.search(r'patronage_http_request_duration_seconds_count\{method="GET",'
                     r'route="/login"\} 1\.0', text)
    assert 'patronage_job_runs_total{job="ok-job",outcome="ok"} 1.0' in text
    assert 'patronage_job_runs_total{job="bad-job",outcome="failed"} 1.0' in text
    assert 'patronage_job_duration_seconds_count{job="ok-job"} 1.0' in text
    assert 'patronage_job_last_success_timestamp_seconds{job="ok-job"}' in text
    assert 'patronage_queue_size{queue="care_outbox_due"} 0.0' in text
    assert 'patronage_queue_size{queue="imports_running"} 0.0' in text


def test_request_ids_in_answers_and_json_logs(engine: Engine,
                                              access_lines: io.StringIO) -> None:
    client = TestClient(app_for(engine))
    given = client.get("/login", headers={"X-Request-ID": "proxy-abc.123"})
    assert given.headers["x-request-id"] == "proxy-abc.123"
    made = client.get("/login", headers={"X-Request-ID": "bad id with spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.headers["x-request-id"]
    lines = [json.loads(line) for line in access_lines.getvalue().splitlines()]
    assert [(e["request_id"], e["path"], e["status"]) for e in lines] == [
        ("proxy-abc.123", "/login", 200), (made.headers["x-request-id"], "/login", 200),
        (missing.headers["x-request-id"], "/nowhere", 404)]
    assert all(e["level"] == "INFO" and e["logger"] == "patronage.access"
               and isinstance(e["duration_ms"], float) for e in lines)


def _retail_count(html: str) -> int:
    match = re.search(r"Retails <b>([\d,]+)</b>", html, re.IGNORECASE)
    assert match, "the members-by-kind figure is on the page"
    return int(match.group(1).replace(",", ""))


def test_dashboards_read_the_replica(sqlite_template: Path, tmp_path: Path) -> None:
    primary_path, replica_path = tmp_path / "primary.db", tmp_path / "replica.db"
    shutil.copy(sqlite_template, primary_path)
    primary = make_engine(f"sqlite:///{primary_path}")
    world = seed(primary)
    primary.dispose()
    shutil.copy(primary_path, replica_path)  # the replica as of now...
    with transaction(primary) as s:  # ...then the primary moves on
        for i in range(3):
            f.customer(s, world.ann, name=f"New {i}")
    replica = make_engine(f"sqlite:///{replica_path}")
    pages = {}
    for name, read in (("primary", None), ("replica", replica)):
        with transaction(primary) as s:  # no count stored: the page counts the figures
            s.execute(delete(CompanyFigures))
        app = create_app(settings=settings(), engine=primary, clock=FixedClock(NOW),
                         migrate=False, read_engine=read)
        with TestClient(app) as client:
            sign_in(client, EMAILS["staff"])
            pages[name] = _retail_count(client.get("/company").text)
    assert pages["primary"] == pages["replica"] + 3


def test_staff_see_the_runs_and_the_close_reminder(engine: Engine) -> None:
    seed(engine)
    ran = run_pending(engine, NOW, settings(), only={"close-reminder"})
    assert [r.outcome for r in ran] == ["ok"]
    def fails(ctx: JobContext) -> str:
        raise RuntimeError("gateway away")
    run_pending(engine, NOW, settings(), jobs={"bad-job": Job("bad-job", Every(5), fails, "")})
    month = str(ran[0].detail[:7])
    with TestClient(app_for(engine)) as client:
        sign_in(client, EMAILS["staff"])
        page = client.get("/company/jobs")
        assert page.status_code == 200
        assert f"The commissions of {month} are not committed yet" in page.text
        assert "close-reminder" in page.text and "daily at 08:00" in page.text
        assert "RuntimeError: gateway away" in page.text
        only = client.get("/company/jobs?job=close-reminder")
        assert "RuntimeError" not in only.text
