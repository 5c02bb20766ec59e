"""Refer three, yours is free: the customer referral reward paid as product credit, earned when
the period commits and spent by the customer's next autoships before the card is charged; on
both databases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.gateway import ChargeRequest, ChargeResult, SimulatedGateway
from patronage.autoship.run import run_day
from patronage.autoship.subscriptions import Item, subscribe
from patronage.clock import Period
from patronage.compensation.runs import PlanSource, commit_period
from patronage.credit.ledger import (
    apply_to_order,
    balance,
    credit_on_order,
    entries,
    expire,
    post_run,
    refund_credit,
)
from patronage.db.autoship import ChargeAttempt, SimulatedCharge
from patronage.db.compensation import PayoutLine
from patronage.db.credit import CreditEntry
from patronage.db.engine import transaction
from patronage.db.tables import Order
from patronage.errors import Problems
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import catalog, customer, distributor

PLAN_TEXT = """
[plan]
name = "test"
version = "t1"
[active]
min_pv = 100
[[ranks]]
name = "Member"
min_pv = 100
unilevel_depth = 2
[bonuses.customer_referral]
referrals = 3
cap = 350.00
as = "{paid_as}"
"""
OCT = Period(2026, 10)
MID_OCT = datetime(2026, 10, 15, 12, tzinfo=UTC)


def _plan(paid_as: str = "credit") -> PlanSource:
    return PlanSource.from_text(PLAN_TEXT.format(paid_as=paid_as))


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC)


class Declining:
    """A gateway that declines every card."""

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        return [ChargeResult(False, "insufficient_funds") for _ in requests]

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        return ChargeResult(False, "insufficient_funds")


def _company(engine: Engine) -> dict[str, int]:
    """Ria, a preferred customer on autoship (one shake: 45.00), refers Ann, Bo and Cy, who
    each buy a shake at retail (60.00) in October."""
    with transaction(engine) as s:
        catalog(s)
        dana = distributor(s, "Dana")
        ria = customer(s, dana, "Ria", kind="preferred", country="US")
        friends = [customer(s, dana, name, referrer_id=ria, country="US",
                            joined_at=MID_OCT) for name in ("Ann", "Bo", "Cy")]
        for friend in friends:
            place_order(s, NewOrder(friend, MID_OCT, [LineRequest("SHAKE")]), now=MID_OCT)
        sub = subscribe(s, ria, [Item("SHAKE", 1)], Frequency("monthly", day=5),
                        start=date(2026, 11, 1), now=MID_OCT, actor="customer").id
    return {"ria": ria, "sub": sub, "dana": dana}


def test_refer_three_and_the_next_autoship_is_paid_by_credit(engine: Engine) -> None:
    ids = _company(engine)
    ria = ids["ria"]
    run_id = commit_period(engine, OCT, _plan(), now=_at(date(2026, 11, 1)), actor="test")
    with transaction(engine) as s:
        # The commission run's line shows the reward; the ledger holds it as credit.
        line = s.scalar(select(PayoutLine).where(PayoutLine.run_id == run_id,
                                                 PayoutLine.bonus == "customer_referral"))
        assert line is not None and (line.earner_id, line.amount) == (ria, 6000)
        assert balance(s, ria, "USD") == 6000
        earned = entries(s, ria)
        assert [(e.kind, e.amount, e.run_id, e.payout_line_id) for e in earned] == [
            ("earned", 6000, run_id, line.id)]
        # Posting the run again writes nothing twice.
        assert post_run(s, run_id, ["customer_referral"], _at(date(2026, 11, 1))) == 0

    gateway = SimulatedGateway(engine, decline_rate=0.0)
    nov = run_day(engine, date(2026, 11, 5), gateway, now=_at(date(2026, 11, 5)))
    assert nov.approved == 1
    with transaction(engine) as s:
        order = s.scalar(select(Order).where(Order.subscription_id == ids["sub"]))
        assert order is not None and order.total == 4500  # the order is the whole delivery
        assert credit_on_order(s, order.id) == 4500  # ... paid by credit
        attempt = s.scalar(select(ChargeAttempt).where(
            ChargeAttempt.subscription_id == ids["sub"]))
        assert attempt is not None and (attempt.status, attempt.amount) == ("approved", 0)
        assert s.scalar(select(func.count()).select_from(SimulatedCharge)) == 0  # no card
        assert balance(s, ria, "USD") == 1500

    run_day(engine, date(2026, 12, 5), gateway, now=_at(date(2026, 12, 5)))
    with transaction(engine) as s:
        charged = s.scalars(select(SimulatedCharge.amount)).all()
        assert charged == [3000]  # 45.00 less the 15.00 of credit left
        assert balance(s, ria, "USD") == 0
        kinds = [(e.kind, e.amount) for e in entries(s, ria)]
        assert kinds == [("earned", 6000), ("applied", -4500), ("applied", -1500)]


def test_a_declined_card_gives_the_credit_back_for_the_retry(engine: Engine) -> None:
    ids = _company(engine)
    ria = ids["ria"]
    commit_period(engine, OCT, _plan(), now=_at(date(2026, 11, 1)), actor="test")
    gateway = SimulatedGateway(engine, decline_rate=0.0)
    run_day(engine, date(2026, 11, 5), gateway, now=_at(date(2026, 11, 5)))  # 45.00 of credit
    # December: 15.00 of credit left, the card declines the other 30.00.
    run_day(engine, date(2026, 12, 5), Declining(), now=_at(date(2026, 12, 5)))
    with transaction(engine) as s:
        assert balance(s, ria, "USD") == 1500
        assert [e.kind for e in entries(s, ria)][-2:] == ["applied", "released"]
        assert s.scalar(select(func.count()).select_from(Order).where(
            Order.subscription_id == ids["sub"])) == 1
    # The retry applies it again, and the card pays the rest.
    run_day(engine, date(2026, 12, 6), gateway, now=_at(date(2026, 12, 6)))
    with transaction(engine) as s:
        assert balance(s, ria, "USD") == 0
        assert sorted(s.scalars(select(SimulatedCharge.amount)).all()) == [3000]
        orders = s.scalars(select(Order.id).where(Order.subscription_id == ids["sub"])).all()
        assert len(orders) == 2 and credit_on_order(s, max(orders)) == 1500


def test_paid_as_cash_posts_no_credit(engine: Engine) -> None:
    ids = _company(engine)
    commit_period(engine, OCT, _plan("cash"), now=_at(date(2026, 11, 1)), actor="test")
    with transaction(engine) as s:
        assert balance(s, ids["ria"], "USD") == 0
        assert s.scalar(select(func.count()).select_from(PayoutLine).where(
            PayoutLine.bonus == "customer_referral")) == 1


def test_the_plan_option_is_checked() -> None:
    with pytest.raises(Problems, match="as"):
        _plan("gold")
    assert _plan().plan.bonuses.section("customer_referral").paid_as == "credit"  # type: ignore[union-attr]
    default = PlanSource.from_text(PLAN_TEXT.replace('as = "{paid_as}"\n', ""))
    assert default.plan.bonuses.section("customer_referral").paid_as == "cash"  # type: ignore[union-attr]


def test_orders_refunds_clawbacks_and_expiry(engine: Engine) -> None:
    ids = _company(engine)
    ria = ids["ria"]
    run_id = commit_period(engine, OCT, _plan(), now=_at(date(2026, 11, 1)), actor="test")
    now = _at(date(2026, 11, 2))
    with transaction(engine) as s:
        # Any order: the credit comes off before the card, once per order.
        order = place_order(s, NewOrder(ria, now, [LineRequest("TEA")]), now=now).order
        assert apply_to_order(s, ria, order.id, order.total, "USD", now) == 2000
        assert apply_to_order(s, ria, order.id, order.total, "USD", now) == 2000
        assert balance(s, ria, "USD") == 4000
        # A refund of the order gives the credit part back, once.
        assert refund_credit(s, 77, order.id, 2000, now) == 2000
        assert refund_credit(s, 77, order.id, 2000, now) == 2000
        assert balance(s, ria, "USD") == 6000
        # A clawback of a line earned as credit takes it back from the ledger.
        line = s.scalar(select(PayoutLine).where(PayoutLine.run_id == run_id,
                                                 PayoutLine.bonus == "customer_referral"))
        assert line is not None
        s.add(PayoutLine(run_id=run_id, earner_id=ria, bonus="customer_referral",
                         source_kind="member", source_id=ria, level=0, volume=-1,
                         rate_bp=0, amount=-1000, clawback_of=line.id, currency=840,
                         paid_amount=-1000))
        s.flush()
        assert post_run(s, run_id, [], now) == 1
        assert balance(s, ria, "USD") == 5000
    # Expiry: credit older than 30 days and unspent.
    assert expire(engine, _at(date(2026, 11, 20)), 30) == 0
    later = _at(date(2026, 12, 10))
    assert expire(engine, later, 30) == 5000 - 0
    assert expire(engine, later, 30) == 0  # once a day
    with transaction(engine) as s:
        assert balance(s, ria, "USD") == 0
        assert s.scalar(select(CreditEntry.kind).order_by(CreditEntry.id.desc()).limit(1)) \
            == "expired"


def test_the_account_page_shows_the_credit(engine: Engine) -> None:
    """Cory (on autoship) sees "your next delivery is free" with his credit; in Spanish too;
    without credit, nothing."""
    from fastapi.testclient import TestClient

    from tests.e2e.world import EMAILS, NOW, app_for, seed, sign_in

    w = seed(engine)
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["customer"]).status_code == 303
    assert 'id="credit"' not in client.get("/me").text
    with transaction(engine) as s:
        s.add(CreditEntry(member_id=w.cory, kind="earned", amount=12333, currency="USD",
                          key="earned:page", at=NOW, detail="test"))
    page = client.get("/me").text
    assert "Your next delivery is free: $123.33 of credit." in page
    with transaction(engine) as s:
        s.add(CreditEntry(member_id=w.cory, kind="applied", amount=-12000, currency="USD",
                          key="applied:page", at=NOW, detail="test"))
    page = client.get("/me").text
    assert "You have $3.33 of credit: it comes off your next delivery" in page
    client.post("/account/language", data={"language": "es", "csrf_token": _csrf(client)})
    assert "Tienes" in client.get("/me").text


def _csrf(client: object) -> str:
    from tests.e2e.world import csrf_of

    return csrf_of(client.get("/account").text)  # type: ignore[attr-defined]
