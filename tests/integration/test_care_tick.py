"""The care tick on a real store (SQLite and PostgreSQL): what it writes, and only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.gateway import ChargeResult
from patronage.autoship.run import run_day
from patronage.autoship.subscriptions import Item, subscribe
from patronage.care.core.rules import load_rules
from patronage.care.tick import explain_member, tick
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.network.members import erase_member, record_consent
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import catalog, customer, distributor

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
JOINED = datetime(2025, 3, 1, tzinfo=UTC)


def _company(engine: Engine) -> dict[str, int]:
    with transaction(engine) as s:
        catalog(s)
        dana = distributor(s, "Dana", joined_at=JOINED, email="dana@example.com",
                           timezone="America/Los_Angeles")
        sally = customer(s, dana, "Sally", kind="preferred", joined_at=JOINED,
                         email="sally@example.com", phone="+12125550100", address_line1="1 Elm",
                         timezone="Pacific/Auckland", birth_month=11, birth_day=27,
                         consents={"email": True, "post": True})
        quiet = customer(s, dana, "Quinn", joined_at=JOINED, email="quinn@example.com",
                         timezone="Pacific/Auckland", birth_month=11, birth_day=27,
                         consents={"email": True})
        gone = customer(s, dana, "Gail", joined_at=JOINED, email="gail@example.com",
                        birth_month=11, birth_day=26, consents={"email": True})
        place_order(s, NewOrder(sally, NOW - timedelta(hours=30), [LineRequest("SHAKE")]), now=NOW)
    with transaction(engine) as s:
        record_consent(s, quiet, "email", False, at=NOW - timedelta(days=2), method="unsubscribe")
        erase_member(s, gone, at=NOW - timedelta(days=1), actor="support")
    return {"dana": dana, "sally": sally, "quiet": quiet, "gone": gone}


def _touches(engine: Engine) -> list[tuple[str, int, str, str, str | None]]:
    with transaction(engine) as s:
        return sorted((t.rule_key, t.member_id, t.occasion_key, t.status, t.drop_reason)
                      for t in s.scalars(select(Touch)))


def test_tick_plans_touches_once_and_records_the_dropped(engine: Engine) -> None:
    ids = _company(engine)
    rules = load_rules().model_copy(update={"settings": load_rules().settings.model_copy(
        update={"holdout_share": 0.0})})
    first = tick(engine, NOW, rules)
    rows = _touches(engine)
    sally, quiet = ids["sally"], ids["quiet"]
    assert ("birthday_email", sally, "2026", "planned", None) in rows
    assert ("birthday_call", sally, "2026", "planned", None) in rows
    # One email a week: the birthday (priority 80) wins over the first-order thanks (75).
    assert ("first_order_thanks", sally, str(_order_id(engine, sally)), "dropped", "cap") in rows
    assert ("birthday_email", quiet, "2026", "dropped", "suppressed") in rows
    # Nothing at all for an erased member.
    assert not [r for r in rows if r[1] == ids["gone"]]
    assert first.written == len(rows) and first.planned > 0
    # A second tick at the same instant writes nothing, and says everything was already there.
    again = tick(engine, NOW, rules)
    assert again.written == 0 and again.planned == 0 and not again.dropped
    assert again.already >= first.planned
    assert _touches(engine) == rows
    # The owner's task reads like one.
    with transaction(engine) as s:
        task = s.scalars(select(Touch).where(Touch.rule_key == "birthday_call",
                                               Touch.member_id == sally)).one()
        assert task.owner_id == ids["dana"] and task.summary == "Call Sally today: birthday"
        assert task.due_at == datetime(2026, 11, 26, 21, 0, tzinfo=UTC)  # 10:00 in Auckland


def test_explain_member_says_what_and_why_not(engine: Engine) -> None:
    ids = _company(engine)
    lines = {line["rule"]: line for line in explain_member(engine, ids["quiet"], NOW).lines}
    assert lines["birthday_email"]["outcome"] == "dropped: suppressed"
    assert lines["referral_thanks"]["outcome"] == "no occasion in this tick's window"
    assert lines["payment_failed_owner"]["outcome"] == "no occasion in this tick's window"


def _order_id(engine: Engine, member: int) -> int:
    from patronage.db.tables import Order

    with transaction(engine) as s:
        return s.scalars(select(Order.id).where(Order.buyer_id == member)).one()


def test_daily_ticks_on_a_demo_company_plan_touches_and_owner_tasks(engine: Engine) -> None:
    from sqlalchemy import func

    from patronage.demo.build import care_ticks
    from patronage.demo.company import build_company

    build_company(engine, seed=3, members=400, months=3, now=NOW, history=True, personal=True)
    planned = care_ticks(engine, NOW, days=5)
    with transaction(engine) as s:
        by_status = {status: count for status, count in s.execute(
            select(Touch.status, func.count()).group_by(Touch.status))}
        tasks = s.scalar(select(func.count()).where(Touch.channel == "task",
                                                    Touch.status == "planned",
                                                    Touch.owner_id.is_not(None)))
    assert by_status["planned"] == planned > 0
    assert tasks and by_status.get("dropped", 0) > 0
    # Ticking the same days again adds nothing.
    assert care_ticks(engine, NOW, days=5) == 0


def test_tasks_of_an_erased_distributors_customers_have_no_owner(engine: Engine) -> None:
    ids = _company(engine)
    with transaction(engine) as s:
        erase_member(s, ids["dana"], at=NOW - timedelta(hours=1), actor="support")
    tick(engine, NOW)
    rows = _touches(engine)
    assert ("birthday_call", ids["sally"], "2026", "dropped", "no owner") in rows


class _Declines:
    """A gateway that declines every charge."""

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        return ChargeResult(approved=False, decline="insufficient_funds")


def test_failed_autoship_payment_gives_help_and_an_owner_task_and_mutes_check_ins(
        engine: Engine) -> None:
    ids = _company(engine)
    sally = ids["sally"]
    day = (NOW - timedelta(days=1)).date()
    with transaction(engine) as s:
        subscribe(s, sally, [Item("SHAKE", 1)], Frequency("monthly", day=day.day), start=day,
                  now=NOW - timedelta(days=3), actor="sally")
    run_day(engine, day, _Declines(), now=NOW - timedelta(days=1))
    rules = load_rules().model_copy(update={"settings": load_rules().settings.model_copy(
        update={"holdout_share": 0.0})})
    # A check-in window of a day, so that everyone's overdue check-in falls in this tick.
    rules = rules.model_copy(update={"rules": tuple(
        r.model_copy(update={"days": 1}) if r.key == "check_in" else r for r in rules.rules)})
    tick(engine, NOW, rules)
    every = _touches(engine)
    rows = [r for r in every if r[1] == sally]
    attempt = _first_declined_attempt(engine)
    assert ("payment_help", sally, str(attempt), "planned", None) in rows
    assert ("payment_failed_owner", sally, str(attempt), "planned", None) in rows
    # Sally has not been touched since she joined, but no check-in while her payment is
    # being recovered.
    check_ins = {r[1]: r[3:] for r in every if r[0] == "check_in"}
    assert check_ins[sally] == ("dropped", "muted")
    assert check_ins[ids["quiet"]] == ("planned", None)


def _first_declined_attempt(engine: Engine) -> int:
    from patronage.db.autoship import ChargeAttempt

    with transaction(engine) as s:
        return s.scalars(select(ChargeAttempt.id).where(ChargeAttempt.status == "declined",
                                                        ChargeAttempt.attempt == 1)).one()
