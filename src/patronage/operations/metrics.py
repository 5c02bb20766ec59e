"""Prometheus metrics (prometheus_client): requests and their latencies counted by the server
process that served them; the scheduled jobs' runs and the queues read from the database when
scraped, so every server process answers the same whichever worker ran the jobs.

With several server processes (``patronage serve --workers N``) the request metrics of every
process are added up through prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by ``serve``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.import_jobs import ImportJob
from patronage.db.job_runs import JobRun

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    """``patronage_http_requests_total`` and ``patronage_http_request_duration_seconds`` by
    method and route (the route's template, so ``/company/members/{member_id}`` is one
    series)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("patronage_http_requests", "HTTP requests answered",
                                ("method", "route", "status"), registry=registry)
        self.latency = Histogram("patronage_http_request_duration_seconds",
                                 "Time to answer an HTTP request", ("method", "route"),
                                 buckets=LATENCY_BUCKETS, registry=registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class StoreCollector(Collector):
    """Job runs, durations and outcomes, and the queue sizes, read from the store."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        runs = CounterMetricFamily("patronage_job_runs", "Recorded runs of each scheduled job "
                                   "by outcome", labels=("job", "outcome"))
        durations = SummaryMetricFamily("patronage_job_duration_seconds",
                                        "Time the finished runs of each job took",
                                        labels=("job",))
        last = GaugeMetricFamily("patronage_job_last_success_timestamp_seconds",
                                 "When each job last finished a run successfully",
                                 labels=("job",))
        queues = GaugeMetricFamily("patronage_queue_size", "Work waiting in each queue",
                                   labels=("queue",))
        with transaction(self.engine) as session:
            for job, outcome, count in session.execute(
                    select(JobRun.job, JobRun.outcome, func.count())
                    .group_by(JobRun.job, JobRun.outcome)):
                runs.add_metric((job, outcome), count)
            for job, count, total_ms in session.execute(
                    select(JobRun.job, func.count(), func.sum(JobRun.duration_ms))
                    .where(JobRun.duration_ms.is_not(None)).group_by(JobRun.job)):
                durations.add_metric((job,), count, (total_ms or 0) / 1000)
            for job, finished in session.execute(
                    select(JobRun.job, func.max(JobRun.finished_at))
                    .where(JobRun.outcome == "ok").group_by(JobRun.job)):
                if finished is not None:
                    last.add_metric((job,), finished.timestamp())
            outbox = session.scalar(select(func.count()).select_from(Touch).where(
                Touch.status == "planned", Touch.due_at <= now))
            imports = session.scalar(select(func.count()).select_from(ImportJob).where(
                ImportJob.status == "running"))
        queues.add_metric(("care_outbox_due",), outbox or 0)
        queues.add_metric(("imports_running",), imports or 0)
        yield from (runs, durations, last, queues)


def make_registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


def exposition(registry: CollectorRegistry, store: StoreCollector) -> bytes:
    """The text a scrape gets: this process's (or, in multiprocess mode, every process's)
    request metrics and the store's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        combined.register(store)
        return generate_latest(combined)
    return generate_latest(registry) + generate_latest(_only(store))


def _only(collector: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
