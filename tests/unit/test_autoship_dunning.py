"""Dunning as a pure function: approved charges move on, declines are retried, the last one
suspends; never a second charge on the run day."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patronage.autoship.core.dunning import RETRY_DAYS, Charged, retry_on, settle
from patronage.autoship.core.schedule import Frequency

MONTHLY = Frequency("monthly", 12, 0)
RUN = date(2026, 11, 12)


def _charged(rows: list[tuple[int, date, int, bool, str | None]]) -> Charged:
    """(subscription, cycle, attempt, approved, decline) per row; member = subscription + 100."""
    return Charged(
        sub=[r[0] for r in rows], member=[r[0] + 100 for r in rows],
        cycle=[r[1].toordinal() for r in rows], attempt=[r[2] for r in rows],
        shape=[0] * len(rows), shapes=[(MONTHLY, None)],
        approved=[r[3] for r in rows], declines=[r[4] for r in rows])


def test_an_approved_first_charge_moves_to_the_next_cycle_without_events() -> None:
    out = settle(_charged([(1, RUN, 1, True, None)]), RUN)
    assert out.moves == {"id": [1], "status": ["active"], "next_run": ["2026-12-12"],
                         "retry_on": [None], "failures": [0], "churn": [None]}
    assert out.events["kind"] == [] and (out.recovered, out.suspended) == (0, 0)


def test_an_approved_retry_is_a_recovered_payment() -> None:
    out = settle(_charged([(1, date(2026, 11, 9), 3, True, None)]), RUN)
    assert out.events == {"subscription_id": [1], "member_id": [101],
                          "kind": ["payment_recovered"],
                          "detail": ["cycle 2026-11-09, attempt 3"]}
    assert out.moves["next_run"] == ["2026-12-12"] and out.recovered == 1


def test_declines_are_retried_on_the_schedule_then_suspended() -> None:
    cycle = date(2026, 11, 1)
    rows = [(1, cycle, 1, False, "card_declined"), (2, cycle, 3, False, "expired"),
            (3, cycle, 4, False, "insufficient_funds")]
    out = settle(_charged(rows), date(2026, 11, 1))
    assert out.moves["status"] == ["active", "active", "suspended"]
    assert out.moves["retry_on"] == ["2026-11-02", "2026-11-08", None]
    assert out.moves["next_run"] == ["2026-11-01"] * 3  # the cycle stays until it is paid
    assert out.moves["failures"] == [1, 3, 4]
    assert out.moves["churn"] == [None, None, "involuntary"]
    assert out.events["kind"] == ["payment_failed", "retry_scheduled", "payment_failed",
                                  "retry_scheduled", "payment_failed", "suspended"]
    assert out.events["detail"][0] == "cycle 2026-11-01, attempt 1: card_declined"
    assert out.events["detail"][5] == "involuntary: 4 failed charges for cycle 2026-11-01"
    assert out.suspended == 1


def test_a_late_run_retries_no_earlier_than_the_next_day() -> None:
    assert retry_on(date(2026, 11, 1), 1, date(2026, 11, 10)) == date(2026, 11, 11)
    assert retry_on(date(2026, 11, 1), 2, date(2026, 11, 1)) == date(2026, 11, 4)
    assert retry_on(date(2026, 11, 1), len(RETRY_DAYS) + 1, date(2026, 11, 1)) is None


def test_an_overdue_cycle_is_charged_once_never_for_the_cycles_it_missed() -> None:
    out = settle(_charged([(1, date(2026, 8, 12), 1, True, None)]), RUN)
    assert out.moves["next_run"] == ["2026-12-12"]


def test_rows_of_unequal_length_are_refused() -> None:
    bad = _charged([(1, RUN, 1, True, None)])
    with pytest.raises(ValueError):
        settle(Charged(bad.sub, bad.member, bad.cycle, [1, 2], bad.shape, bad.shapes,
                       bad.approved, bad.declines), RUN)


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 5), st.booleans()), max_size=30),
       st.integers(0, 30))
def test_whatever_happens_the_next_charge_is_after_the_run_day(
        rows: list[tuple[int, int, bool]], late: int) -> None:
    run_day = date(2026, 11, 1).toordinal() + late
    charged = _charged([(i, date.fromordinal(run_day - back), attempt, ok,
                         None if ok else "declined")
                        for i, (back, attempt, ok) in enumerate(rows)])
    out = settle(charged, date.fromordinal(run_day))
    for status, nxt, retry in zip(out.moves["status"], out.moves["next_run"],
                                  out.moves["retry_on"], strict=True):
        if status == "suspended":
            assert retry is None
            continue
        due = date.fromisoformat(retry if retry is not None else nxt)
        assert due.toordinal() > run_day
    assert len(out.moves["id"]) == len(rows)
    assert out.suspended == sum(1 for _, a, ok in rows if not ok and a > len(RETRY_DAYS))
