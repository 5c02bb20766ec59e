"""The holdout report on a real store: retention lift and spend difference with intervals, for
all customers, per join cohort and per rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, update

from patronage.care.core.facts import holdout_draws
from patronage.care.core.rules import load_rules
from patronage.care.holdout import holdout_report
from patronage.care.tick import tick
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import catalog, customer, distributor

pytestmark = pytest.mark.storage

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_the_report_measures_a_planted_effect_per_cohort_and_rule(engine: Engine) -> None:
    rules = load_rules()
    rules = rules.model_copy(update={"settings": rules.settings.model_copy(
        update={"holdout_share": 0.5})})
    birthday = NOW - timedelta(days=20)
    with transaction(engine) as s:
        catalog(s)
        dana = distributor(s, "Dana", joined_at=NOW - timedelta(days=400))
        people = [customer(s, dana, f"C{i}", email=f"c{i}@example.com",
                           joined_at=NOW - timedelta(days=200 + 100 * (i % 2)),
                           birth_month=birthday.month, birth_day=birthday.day,
                           consents={"email": True}) for i in range(160)]
    held = holdout_draws(np.array(people, dtype=np.int64), rules.settings.holdout_salt) < 0.5
    tick(engine, birthday, rules)
    with transaction(engine) as s:
        s.execute(update(Touch).where(Touch.status == "planned")
                  .values(status="sent", sent_at=birthday))
        for i, (person, out) in enumerate(zip(people, held.tolist(), strict=True)):
            if (i % 10) < (3 if out else 8):  # 80% of the treated order again, 30% held out
                place_order(s, NewOrder(person, NOW - timedelta(days=5),
                                        [LineRequest("TEA")]), now=NOW)
    report = holdout_report(engine, NOW, rules)
    overall = report.overall
    assert overall is not None and overall.treated + overall.holdout == 160
    assert overall.lift.holds(0.5) and overall.lift.low > 0.2 and overall.significant
    assert overall.spend.low > 0
    assert [name for name, _ in report.cohorts] == ["2026-Q1", "2026-Q2"]
    assert sum(c.treated + c.holdout for _, c in report.cohorts) == 160
    by_rule = dict(report.rules)
    assert by_rule["birthday_email"].treated + by_rule["birthday_email"].holdout == 160
    assert by_rule["birthday_email"].lift.low > 0
    shown = report.as_dict()
    assert set(shown["rules"]) >= {"birthday_email"}  # type: ignore[call-overload]
