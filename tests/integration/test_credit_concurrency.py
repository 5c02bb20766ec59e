"""Two processes spending the same customer's credit at once spend it once (PostgreSQL: the
member's row lock; SQLite has one writer at a time)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import Engine

from patronage.compensation.runs import commit_period
from patronage.credit.ledger import apply_to_order, balance
from patronage.db.engine import transaction
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.integration.test_credit import OCT, _at, _company, _plan

pytestmark = pytest.mark.storage


def test_two_spenders_at_once_spend_the_credit_once(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the concurrent spenders need PostgreSQL (SQLite has one writer)")
    ria = _company(engine)["ria"]
    commit_period(engine, OCT, _plan(), now=_at(date(2026, 11, 1)), actor="test")
    with transaction(engine) as s:
        assert balance(s, ria, "USD") == 6000
    now = _at(date(2026, 11, 2))
    with transaction(engine) as s:
        orders = [place_order(s, NewOrder(ria, now, [LineRequest("SHAKE")]), now=now).order.id
                  for _ in range(2)]
    first_applied = threading.Event()
    taken: dict[str, int] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction(engine) as s:
                taken["first"] = apply_to_order(s, ria, orders[0], 5000, "USD", now)
                first_applied.set()
                # Still in its transaction: the second spender starts now and must wait.
                threading.Event().wait(0.5)
        except BaseException as exc:
            errors.append(exc)
            first_applied.set()

    def second() -> None:
        first_applied.wait(5)
        try:
            with transaction(engine) as s:
                taken["second"] = apply_to_order(s, ria, orders[1], 5000, "USD", now)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors, errors
    assert taken == {"first": 5000, "second": 1000}
    with transaction(engine) as s:
        assert balance(s, ria, "USD") == 0
