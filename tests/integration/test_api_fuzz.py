"""Schemathesis against the API in-process (ASGI), on a seeded company: for every operation a
few generated requests, valid and not; none may answer 500, and every answer must match the
schema (status code, content type, body). On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from patronage.access import SCOPES
from tests.integration.test_api_support import app_for, bearer, company, token_for

pytestmark = pytest.mark.slow
EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_no_operation_answers_500_or_breaks_its_schema(engine: Engine) -> None:
    company(engine)
    client = app_for(engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    auth = bearer(token_for(engine, *SCOPES))
    failures: list[str] = []
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the schema itself is valid
        operations.append(result.ok())
    assert len(operations) > 40  # every route of the API, not a few
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            response = case.call(headers=auth)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
