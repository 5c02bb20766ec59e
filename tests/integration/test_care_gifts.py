"""Samples and gifts as care: a gift within budget is sent as a zero-price order with no volume
and counted; one over budget drops its card with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from patronage.care.core.rules import load_rules, parse_rules
from patronage.care.gifts import send_gifts, set_budget
from patronage.care.holdout import holdout_report
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.care_gifts import Gift
from patronage.db.engine import transaction
from patronage.db.tables import Order, OrderLine
from patronage.errors import Problems
from tests.factories import catalog, customer, distributor
from tests.fixtures.care_data import touch

pytestmark = pytest.mark.storage

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _rules(sku: str = "TEA") -> object:
    base = load_rules()
    extra = base.rules[0].model_copy(update={"key": "birthday_sample", "gift": sku})
    return base.model_copy(update={"rules": (*base.rules, extra)})


def _card(s: object, member: int, owner: int, due: datetime) -> int:
    return touch(s, member, owner, channel="card", template="birthday",  # type: ignore[arg-type]
                 rule_key="birthday_sample", occasion="birthday", due_at=due)


def test_a_gift_within_budget_is_sent_and_one_over_is_dropped(engine: Engine) -> None:
    rules = _rules()
    with transaction(engine) as s:
        catalog(s)  # TEA: wholesale 20.00
        dana = distributor(s, "Dana")
        people = [customer(s, dana, f"C{i}", address_line1="1 Elm") for i in range(3)]
        # the company: 50.00 a month, 20.00 a customer a year; Dana: none (the company pays)
        set_budget(s, None, per_month=5_000, per_customer_year=2_000, now=NOW)
        first = _card(s, people[0], dana, NOW - timedelta(hours=2))
        again = touch(s, people[0], dana, channel="card", template="birthday",
                      rule_key="birthday_sample", occasion="birthday", occasion_key="2027",
                      due_at=NOW - timedelta(hours=1))
        second = _card(s, people[1], dana, NOW - timedelta(minutes=30))
        third = _card(s, people[2], dana, NOW - timedelta(minutes=10))
    with transaction(engine) as s:
        report = send_gifts(s, NOW, rules)  # type: ignore[arg-type]
    assert report.sent == [first, second] and report.cost == 4_000
    assert report.dropped[again].startswith("gift over budget: 20.00 a customer a year")
    assert report.dropped[third] == ("gift over budget: the month's budget of 50.00 has 10.00 "
                                     "left, the gift costs 20.00")
    with transaction(engine) as s:
        gifts = list(s.scalars(select(Gift).order_by(Gift.touch_id)))
        assert [(g.touch_id, g.cost, g.payer_id) for g in gifts] == [
            (first, 2_000, None), (second, 2_000, None)]
        order = s.get(Order, gifts[0].order_id)
        assert order is not None and order.buyer_id == people[0] and order.total == 0
        lines = list(s.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))
        assert [(ln.amount, ln.qv, ln.cv) for ln in lines] == [(0, 0, 0)]  # no commission
        statuses = {t.id: (t.status, t.drop_reason) for t in s.scalars(select(Touch))}
    assert statuses[first] == ("planned", None)  # the card still goes, with the gift
    assert statuses[third][0] == "dropped" and statuses[again][0] == "dropped"
    with transaction(engine) as s:  # sending again sends nothing twice
        assert send_gifts(s, NOW + timedelta(minutes=5), rules).sent == []  # type: ignore[arg-type]
    report = holdout_report(engine, NOW + timedelta(days=1))
    assert report.gift_cost == 4_000
    assert report.treated.retained + report.holdout.retained == 0  # a gift is not an order again


def test_a_distributors_own_budget_pays_first(engine: Engine) -> None:
    rules = _rules()
    with transaction(engine) as s:
        catalog(s)
        dana = distributor(s, "Dana")
        sue = customer(s, dana, "Sue")
        set_budget(s, None, per_month=0, per_customer_year=0, now=NOW)
        set_budget(s, dana, per_month=10_000, per_customer_year=10_000, now=NOW)
        card = _card(s, sue, dana, NOW - timedelta(hours=1))
    with transaction(engine) as s:
        assert send_gifts(s, NOW, rules).sent == [card]  # type: ignore[arg-type]
        assert s.get(Gift, card).payer_id == dana  # type: ignore[union-attr]


def test_only_a_card_carries_a_gift() -> None:
    data = {"rules": [{"key": "x", "occasion": "birthday", "channel": "email",
                       "template": "birthday", "gift": "TEA"}]}
    with pytest.raises(Problems) as err:
        parse_rules(data)
    assert "rules[0].gift: only a card carries a gift" in str(err.value.problems[0])


def test_deliver_sends_the_gifts_due(engine: Engine) -> None:
    from patronage.care.deliver import deliver_due

    rules = _rules()
    with transaction(engine) as s:
        catalog(s)
        dana = distributor(s, "Dana")
        sue = customer(s, dana, "Sue")
        set_budget(s, None, per_month=10_000, per_customer_year=10_000, now=NOW)
        _card(s, sue, dana, NOW - timedelta(hours=1))
    report = deliver_due(engine, NOW, settings=Settings(secret_key="x", smtp_port=1),
                         rules=rules)  # type: ignore[arg-type]
    assert report.gifts is not None and len(report.gifts.sent) == 1


def test_gift_budget_from_the_command_line(engine: Engine, db_url: str) -> None:
    from typer.testing import CliRunner

    from patronage.cli.main import app
    from patronage.db.care_gifts import GiftBudget

    runner = CliRunner()
    done = runner.invoke(app, ["--db", db_url, "care", "gifts", "budget", "--per-month",
                               "250.00", "--per-customer-year", "30", "--now",
                               NOW.isoformat()])
    assert done.exit_code == 0, done.output
    bad = runner.invoke(app, ["--db", db_url, "care", "gifts", "budget", "--per-month",
                              "-1", "--per-customer-year", "30"])
    assert bad.exit_code != 0 and "--per-month" in str(bad.exception)
    with transaction(engine) as s:
        budget = s.scalar(select(GiftBudget))
        assert budget is not None and (budget.payer_id, budget.per_month,
                                       budget.per_customer_year) == (None, 25_000, 3_000)
