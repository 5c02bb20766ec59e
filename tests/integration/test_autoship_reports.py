"""Autoship reports: cohort retention, churn by kind, the forecast's retention."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.reports import by_distributor, churn_by_kind, forecast, retention_by_cohort
from patronage.autoship.subscriptions import Item, cancel, subscribe
from patronage.db.engine import transaction
from tests.factories import catalog, customer, distributor

T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
AS_OF = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_retention_churn_and_forecast(engine: Engine) -> None:
    with transaction(engine) as s:
        catalog(s)
        d = distributor(s)
        subs = []
        for name in "ABCD":
            c = customer(s, d, name)
            subs.append(subscribe(s, c, [Item("SHAKE")], Frequency("monthly", 1),
                                  start=date(2026, 1, 1), now=T0, actor="customer").id)
    with transaction(engine) as s:
        for sub, when in zip(subs[:3], (datetime(2026, 1, 20, tzinfo=UTC),
                                        datetime(2026, 2, 15, tzinfo=UTC),
                                        datetime(2026, 3, 20, tzinfo=UTC)), strict=True):
            cancel(s, sub, "test", now=when, actor="customer")
    [row] = retention_by_cohort(engine, AS_OF)
    assert (row.cohort, row.started) == ("2026-01", 4)
    assert row.retained == [0.75, 0.5, 0.25, 0.25]
    assert churn_by_kind(engine, AS_OF) == {"voluntary": 3, "involuntary": 0, "active": 1}
    # Month-on-month: 7 stayed of 10 chances to leave.
    [first] = forecast(engine, AS_OF, 1)
    assert first.subscriptions == pytest.approx(0.7)
    [owner] = by_distributor(engine, datetime(2026, 3, 1, tzinfo=UTC), AS_OF)
    assert (owner.distributor_id, owner.active, owner.voluntary) == (d, 1, 1)
