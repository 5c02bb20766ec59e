"""A distributor's Today (ranked, cut, expiring, snooze / not now) and hand-printed cards, on
both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from patronage.care.channels.cards import print_own_cards
from patronage.care.today import NOT_NOW, not_now, snooze, today_list
from patronage.config import Settings
from patronage.db.accounts import AuditEntry
from patronage.db.care import CardBatchRecord, Touch
from patronage.db.engine import transaction
from patronage.db.value import CustomerValue, ValueRun
from patronage.errors import Conflict, NotFound, PatronageError
from tests.fixtures.care_data import customer, distributor, touch

NOW = datetime(2026, 10, 20, 13, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SETTINGS = Settings(today_limit=3, occasion_grace_days=2)
pytestmark = pytest.mark.storage


def _value(s: object, member: int, owner: int, at_risk: int) -> None:
    run = s.scalar(select(func.max(ValueRun.id)))  # type: ignore[attr-defined]
    if run is None:
        row = ValueRun(as_of=NOW, created_at=NOW, discount_monthly=0.01, horizon_months=24,
                       referral_decay=0.5, members=0)
        s.add(row)  # type: ignore[attr-defined]
        s.flush()  # type: ignore[attr-defined]
        run = row.id
    s.add(CustomerValue(  # type: ignore[attr-defined]
        run_id=run, member_id=member, owner_id=owner, model="bgnbd", segment="all",
        p_alive=0.5, expected_orders=1.0, past_value=10_000, future_value=20_000,
        referral_value=0, risk=0.5, value_at_risk=at_risk, risk_flags=0, consumption=50.0,
        consistency=50.0, referral=0.0, rainmaker=0.0, feedback=0.0, testimonial=0.0,
        emotional=0.0, rainmaker_amount=0))


def _world(engine: Engine) -> dict[str, int]:
    with transaction(engine) as s:
        dana, omar = distributor(s), distributor(s, "Omar")
        sally, sam = customer(s, dana), customer(s, dana, "Sam", phone="+1 312 555 0100")
        tia = customer(s, dana, "Tia", address_line1=None)
        _value(s, sam, dana, 90_000)
        ids = {
            "dana": dana, "omar": omar, "sally": sally, "sam": sam, "tia": tia,
            # a birthday four days ago: past the two-day grace, expires
            "old_bday": touch(s, sally, dana, channel="task", template="birthday",
                              due_at=NOW - 4 * DAY),
            # a check-in for Sam, whose value at risk is 900.00: first
            "sam_check": touch(s, sam, dana, channel="task", template="check_in",
                               occasion="no_touch", due_at=NOW - DAY),
            "sally_thanks": touch(s, sally, dana, channel="task", template="order_thanks",
                                  occasion="order", occasion_key="o1", due_at=NOW - DAY),
            "tia_card": touch(s, tia, dana, channel="card", template="birthday",
                              occasion_key="2026c", due_at=NOW - timedelta(hours=1)),
            "sally_card": touch(s, sally, dana, channel="card", template="birthday",
                                occasion_key="2026s", due_at=NOW - timedelta(hours=2)),
            # due next week: not on today's list
            "later": touch(s, sam, dana, channel="task", template="anniversary",
                           due_at=NOW + 7 * DAY),
            "omars": touch(s, sally, omar, channel="task", template="check_in",
                           occasion="no_touch", occasion_key="x", due_at=NOW - DAY),
        }
    return ids


def test_today_is_ranked_by_worth_cut_to_the_limit_and_expires_passed_occasions(
        engine: Engine) -> None:
    w = _world(engine)
    with transaction(engine) as s:
        day = today_list(s, w["dana"], NOW, settings=SETTINGS, tz=UTC)
    assert [i.touch_id for i in day.items] == [w["sam_check"], w["sally_card"], w["tia_card"]]
    top = day.items[0]
    assert (top.name, top.value_at_risk, top.phone, top.days_late) == (
        "Sam Smith", 90_000, "+13125550100", 1)
    assert top.worth == round((90_000 + 1_000) * 7 / 8)
    assert (day.counts.shown, day.counts.more, day.counts.expired) == (3, 1, 1)
    with transaction(engine) as s:
        old = s.get(Touch, w["old_bday"])
        assert old is not None and (old.status, old.drop_reason) == (
            "expired", "expired: the day passed")
        assert s.get(Touch, w["omars"]).status == "planned"  # type: ignore[union-attr]
    with transaction(engine) as s:  # again: nothing more expires, the same list
        again = today_list(s, w["dana"], NOW, settings=SETTINGS, tz=UTC)
    assert [i.touch_id for i in again.items] == [i.touch_id for i in day.items]
    assert again.counts.expired == 1


def test_snooze_and_not_now_update_the_list_and_repeat_without_change(engine: Engine) -> None:
    w = _world(engine)
    with transaction(engine) as s:
        snooze(s, w["sam_check"], w["dana"], now=NOW, actor="dana")
        not_now(s, w["tia_card"], w["dana"], now=NOW, actor="dana")
    with transaction(engine) as s:
        snooze(s, w["sam_check"], w["dana"], now=NOW, actor="dana")  # repeated: no change
        not_now(s, w["tia_card"], w["dana"], now=NOW, actor="dana")
        day = today_list(s, w["dana"], NOW, settings=SETTINGS, tz=UTC)
        assert [i.touch_id for i in day.items] == [w["sally_card"], w["sally_thanks"]]
        assert (day.counts.snoozed, day.counts.more) == (1, 0)
        tia = s.get(Touch, w["tia_card"])
        assert tia is not None and (tia.status, tia.drop_reason) == ("dropped", NOT_NOW)
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.in_(("task.snooze", "task.not_now")))) == 2
    with transaction(engine) as s:  # tomorrow it is back
        back = today_list(s, w["dana"], NOW + DAY + timedelta(minutes=1), settings=SETTINGS,
                          tz=UTC)
        assert w["sam_check"] in [i.touch_id for i in back.items]


def test_actions_refuse_someone_elses_task_and_a_closed_one(engine: Engine) -> None:
    w = _world(engine)
    with transaction(engine) as s:
        with pytest.raises(NotFound, match=f"task {w['omars']} does not exist"):
            snooze(s, w["omars"], w["dana"], now=NOW, actor="dana")
        with pytest.raises(NotFound):
            not_now(s, w["omars"], w["dana"], now=NOW, actor="dana")
    with transaction(engine) as s:
        today_list(s, w["dana"], NOW, settings=SETTINGS, tz=UTC)  # expires the old birthday
    with transaction(engine) as s, pytest.raises(Conflict, match="is expired"):
        snooze(s, w["old_bday"], w["dana"], now=NOW, actor="dana")


def test_printing_cards_makes_one_pdf_marks_them_sent_and_a_repeat_changes_nothing(
        engine: Engine) -> None:
    w = _world(engine)
    cards = [w["sally_card"], w["tia_card"]]
    with transaction(engine) as s:
        printed = print_own_cards(s, w["dana"], cards, NOW, settings=SETTINGS)
    assert printed.pdf.startswith(b"%PDF") and printed.reprinted == []
    assert printed.touch_ids == [w["sally_card"], w["tia_card"]]  # by due time
    with transaction(engine) as s:
        rows = [s.get(Touch, t) for t in cards]
        assert [(t.status, t.sent_at, t.card_batch_id) for t in rows if t] == [
            ("sent", NOW, printed.batch_id)] * 2
        day = today_list(s, w["dana"], NOW, settings=SETTINGS, tz=UTC)
        assert day.counts.done_today == 2
        assert not {i.touch_id for i in day.items} & set(cards)
    with transaction(engine) as s:
        again = print_own_cards(s, w["dana"], cards, NOW + timedelta(minutes=5),
                                settings=SETTINGS)
        assert again.batch_id == printed.batch_id and sorted(again.reprinted) == sorted(cards)
        assert s.scalar(select(func.count()).select_from(CardBatchRecord)) == 1
        sent = s.get(Touch, w["sally_card"])
        assert sent is not None and sent.sent_at == NOW


def test_printing_refuses_another_distributors_card_and_marks_nothing(engine: Engine) -> None:
    w = _world(engine)
    with transaction(engine) as s:
        zoe_card = touch(s, w["sally"], w["omar"], channel="card", template="birthday",
                         occasion_key="omar", due_at=NOW)
    with transaction(engine) as s, pytest.raises(NotFound, match=f"card {zoe_card} does not"):
        print_own_cards(s, w["dana"], [w["sally_card"], zoe_card], NOW, settings=SETTINGS)
    with transaction(engine) as s:
        assert s.get(Touch, w["sally_card"]).status == "planned"  # type: ignore[union-attr]
        with pytest.raises(PatronageError, match="choose at least one card"):
            print_own_cards(s, w["dana"], [], NOW, settings=SETTINGS)
        with pytest.raises(NotFound):  # a task is not a card
            print_own_cards(s, w["dana"], [w["sam_check"]], NOW, settings=SETTINGS)
