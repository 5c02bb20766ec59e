"""A longer Schemathesis run against the REST API, on the demo company: counts per operation.

    .venv/bin/python benchmarks/api_fuzz.py                      # 100 examples per operation
    .venv/bin/python benchmarks/api_fuzz.py --examples 500 --database postgresql
    .venv/bin/python benchmarks/api_fuzz.py --examples 5 --stateful 300   # and linked sequences

Builds the demo company (``--members``, 18 months) into a scratch database, serves the app
in-process (ASGI, no network), and lets Schemathesis generate ``--examples`` requests per
operation, valid and not, with a token that holds every scope. Every answer is checked: no server
error, a documented status code and content type, a body matching the schema. Prints the cases,
the answers by status and every failure (first line), and exits 1 when anything failed. The test
suite runs the same checks with a few examples per operation (tests/integration/test_api_fuzz.py).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Flaky
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from scratch import scratch_database  # benchmarks/scratch.py, beside this script

from patronage.access import SCOPES
from patronage.api.tokens import create_token
from patronage.clock import FixedClock
from patronage.config import Settings
from patronage.db.engine import make_engine, transaction
from patronage.db.schema import upgrade
from patronage.demo.build import build_demo
from patronage.server import create_app

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def run(url: str, members: int, examples: int, scenarios: int = 0) -> int:
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    build_demo(engine, seed=7, members=members, months=18, now=NOW)
    print(f"demo company of {members:,} members built in {time.perf_counter() - started:.0f} s")
    with transaction(engine) as s:
        token = create_token(s, name="fuzz", scopes=sorted(SCOPES), now=NOW,
                             created_by="benchmark")[1]
    app = create_app(settings=Settings(database_url=url, secret_key="fuzz-secret-0123456789abcd"),
                     engine=engine, clock=FixedClock(NOW), migrate=False)
    client = TestClient(app, raise_server_exceptions=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    cases = 0
    started = time.perf_counter()
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"schema: {result}")
            continue
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def one(case: Any) -> None:
            nonlocal cases
            cases += 1
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            one()
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            failures.append(f"{operation.method.upper()} {operation.path}: {first}")
    seconds = time.perf_counter() - started
    print(f"{cases:,} cases in {seconds:.0f} s; answers by status: "
          + ", ".join(f"{code}: {n:,}" for code, n in sorted(statuses.items())))
    print(f"{len(failures)} operation(s) failed")
    for line in failures:
        print(f"  {line}")
    if scenarios:
        failures += stateful(schema, token, scenarios)
    engine.dispose()
    return 1 if failures else 0


def stateful(schema: Any, token: str, scenarios: int) -> list[str]:
    """The stateful phase: ``scenarios`` sequences of up to 8 calls that follow the schema's
    links, every check but positive data acceptance (as in the test suite); prints its counts
    and returns its failures."""
    machine = schema.as_state_machine()
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    class Workflow(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def after_call(self, response: Any, case: Any) -> None:
            statuses[response.status_code] += 1

        def validate_response(self, response: Any, case: Any,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            try:
                case.validate_response(response, excluded_checks=[positive_data_acceptance],
                                       transport_kwargs=kwargs or None)
            except Exception as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                failures.append(f"{case.operation.method.upper()} {case.operation.path}: "
                                f"{first}")

    started = time.perf_counter()
    done = 0
    while sum(statuses.values()) < scenarios and done < 20:
        done += 1
        with contextlib.suppress(Flaky):  # the database changed under a replay
            Workflow.run(settings=settings(max_examples=scenarios, stateful_step_count=8,
                                           deadline=None, database=None,
                                           phases=[Phase.generate],
                                           suppress_health_check=list(HealthCheck)))
    print(f"stateful: {sum(statuses.values()):,} calls in "
          f"{time.perf_counter() - started:.0f} s over "
          f"{schema.statistic.transitions.total} links; answers by status: "
          + ", ".join(f"{code}: {n:,}" for code, n in sorted(statuses.items())))
    print(f"stateful: {len(failures)} failure(s)")
    for line in failures:
        print(f"  {line}")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--stateful", type=int, default=0, metavar="SCENARIOS",
                        help="then run the stateful phase (sequences following the links)")
    args = parser.parse_args()
    with scratch_database(args.database) as url:
        sys.exit(run(url, args.members, args.examples, args.stateful))


if __name__ == "__main__":
    main()
