"""The ledger balances whatever happens: per member and in total, the movements sum to the
balance, and paid + held + carried forward = earned + adjusted − clawed back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from patronage.db.engine import transaction
from patronage.db.payouts import PayoutPayment
from patronage.payouts.adjustments import add_adjustment, approve_adjustment
from patronage.payouts.batches import Standing, build_batch, return_payment, standing
from patronage.payouts.core.ledger import PayoutRules
from patronage.payouts.holds import open_holds, place_hold, release_hold
from patronage.payouts.ledger import balances_of, movements, post_run, totals
from tests.integration.test_payouts import _members, _run

RULES = PayoutRules.from_text("20.00", "100.00", 15)
T0 = datetime(2030, 1, 1, tzinfo=UTC)
TABLES = ("ledger_entries", "payout_adjustments", "payout_holds", "payout_batches",
          "payout_payments", "payout_lines", "commission_runs")

amounts = st.integers(-6000, 9000)
ops = st.lists(st.one_of(
    st.tuples(st.just("run"), st.lists(amounts, min_size=4, max_size=4)),
    st.tuples(st.just("adjust"), st.integers(0, 3), st.integers(-20000, 20000).filter(bool)),
    st.tuples(st.just("hold"), st.integers(0, 3)),
    st.tuples(st.just("release"), st.integers(0, 3)),
    st.tuples(st.just("batch")),
    st.tuples(st.just("return"), st.integers(0, 50)),
), max_size=14)


def _check(engine: Engine, members: list[int], now: datetime) -> None:
    with engine.connect() as conn:
        by_member = {m: totals(conn, m) for m in members}
        for m in members:
            balance = balances_of(conn, m).get("USD", 0)
            assert sum(x.amount for x in movements(conn, m, limit=10_000)) == balance
            t = by_member[m].get("USD")
            if t is not None:
                assert t.balance == balance
                assert t.paid_out + balance == t.earned + t.adjusted + t.clawed_back
        company = totals(conn).get("USD")
        owed = standing(conn, now=now, rules=RULES).get("USD", Standing(0, 0, 0, 0, 0, 0))
        smallest = conn.scalar(select(func.min(PayoutPayment.amount)))
    assert smallest is None or smallest > 0  # never a negative payment
    if company is None:
        return
    assert company.balance == sum(b.get("USD").balance for b in by_member.values()
                                  if b.get("USD"))
    assert (company.paid_out + owed.payable + owed.held + owed.carried
            == company.earned + company.adjusted + company.clawed_back)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=ops)
def test_the_ledger_always_balances(engine: Engine, steps: list[tuple[object, ...]]) -> None:
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
        existing = conn.execute(text("SELECT id FROM members WHERE kind = 'distributor' "
                                     "ORDER BY id")).scalars().all()
    members = list(existing) if len(existing) >= 4 else _members(engine, 4)
    now = T0
    runs = batches = 0
    for step in steps:
        now += timedelta(days=1)
        kind = step[0]
        if kind == "run":
            runs += 1
            lines = [(m, int(a), None, None) for m, a in zip(members, step[1], strict=True)
                     if a]  # type: ignore[call-overload]
            run_id = _run(engine, f"{2000 + runs}-01", lines, clawback=True)
            with engine.begin() as conn:
                post_run(conn, run_id, now=now, actor="t")
        elif kind == "adjust":
            with transaction(engine) as s:
                a = add_adjustment(s, members[int(step[1])], int(step[2]), "correction",  # type: ignore[call-overload]
                                   "n", now=now, actor="staff:a", rules=RULES)
                if a.status == "pending" and int(step[2]) % 2:  # type: ignore[call-overload]
                    approve_adjustment(s, a.id, now=now, actor="staff:b")
        elif kind == "hold":
            with transaction(engine) as s:
                place_hold(s, members[int(step[1])], "check", now=now, actor="staff:a")  # type: ignore[call-overload]
        elif kind == "release":
            with transaction(engine) as s:
                for h in open_holds(s, members[int(step[1])]):  # type: ignore[call-overload]
                    release_hold(s, h.id, now=now, actor="staff:a")
        elif kind == "batch":
            batches += 1
            build_batch(engine, date(2030, 1, 1) + timedelta(days=batches), now=now,
                        actor="t", rules=RULES)
        elif kind == "return":
            with transaction(engine) as s:
                refs = s.scalars(select(PayoutPayment.payment_ref)
                                 .order_by(PayoutPayment.id)).all()
                if refs:
                    return_payment(s, refs[int(step[1]) % len(refs)], "R01", now=now,  # type: ignore[call-overload]
                                   actor="t")
        _check(engine, members, now)
    # A last batch pays everything payable: what is left is held or carried forward.
    build_batch(engine, date(2031, 1, 1), now=now, actor="t", rules=RULES)
    with engine.connect() as conn:
        owed = standing(conn, now=now, rules=RULES).get("USD")
    assert owed is None or owed.payable == 0
    _check(engine, members, now)
