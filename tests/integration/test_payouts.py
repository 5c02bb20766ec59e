"""Money out in the store: posting committed runs, adjustments, holds, batches and returns."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError

from patronage.access import Forbidden
from patronage.compensation.runs import commit_period
from patronage.db.accounts import AuditEntry
from patronage.db.engine import transaction
from patronage.db.payouts import LedgerEntry, LedgerPosting, PayoutBatch, PayoutPayment
from patronage.errors import Conflict, NotFound, PatronageError
from patronage.integrity import check_integrity
from patronage.payouts import batches as batch_module
from patronage.payouts.adjustments import (
    add_adjustment,
    adjustments,
    approve_adjustment,
    reject_adjustment,
)
from patronage.payouts.batches import (
    build_batch,
    export_batch,
    read_returns,
    record_returns,
    return_payment,
)
from patronage.payouts.core.ledger import PayoutRules
from patronage.payouts.holds import HOLD_SOURCES, holds_of, place_hold, release_hold
from patronage.payouts.ledger import (
    balances_of,
    movements,
    post_committed,
    post_run,
    run_posted,
    totals,
)
from tests.factories import customer, distributor
from tests.integration.test_commission_runs import MID_NOV, OCT, PLAN, _company

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
LATER = datetime(2026, 11, 21, 9, tzinfo=UTC)
RULES = PayoutRules.from_text("20.00, JPY:2000", "100.00", 15)
USD, EUR = 840, 978


def _members(engine: Engine, n: int = 3) -> list[int]:
    with transaction(engine) as s:
        top = distributor(s, "Ada")
        ids = [top] + [distributor(s, f"D{i}", sponsor=top) for i in range(n - 1)]
    return ids


def _run(engine: Engine, period: str, lines: list[tuple[int, int, int | None, int | None]],
         clawback: bool = False) -> int:
    """A committed run with payout lines (earner, amount, currency, paid amount), as a commit
    stores them; returns the run id."""
    with engine.begin() as conn:
        run_id = conn.execute(text(
            "INSERT INTO commission_runs (period, plan_name, plan_version, plan_text, "
            "facts_digest, committed_at, committed_by, total_cv, total_paid, cap_applied, "
            "volume_mix) VALUES (:p, 'p', '1', '', 'd', :t, 'test', 0, 0, :f, :f) "
            "RETURNING id"), {"p": period, "t": "2026-11-01 00:00:00", "f": False}).scalar_one()
        for i, (earner, amount, currency, paid) in enumerate(lines):
            conn.execute(text(
                "INSERT INTO payout_lines (run_id, earner_id, bonus, source_kind, source_id, "
                "level, volume, rate_bp, amount, clawback_of, currency, paid_amount) VALUES "
                "(:r, :e, 0, 0, :s, 0, 100, 100, :a, :c, :cur, :paid)"),
                {"r": run_id, "e": earner, "s": i + 1, "a": amount,
                 "c": 1 if clawback and amount < 0 else None, "cur": currency, "paid": paid})
    return int(run_id)


def _post(engine: Engine, run_id: int) -> int:
    with engine.begin() as conn:
        return post_run(conn, run_id, now=NOW, actor="test")


def test_committing_a_period_posts_its_lines_once(engine: Engine) -> None:
    ids = _company(engine)
    run_id = commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")
    with engine.connect() as conn:
        assert balances_of(conn, ids["enroller"])["USD"] > 0
        lines = dict(conn.execute(text(
            "SELECT earner_id, SUM(amount) FROM payout_lines WHERE run_id = :r "
            "GROUP BY earner_id"), {"r": run_id}).all())
        entries = dict(conn.execute(select(LedgerEntry.member_id, LedgerEntry.amount)
                                    .where(LedgerEntry.kind == "earned")).all())
        moves = movements(conn, ids["enroller"])
    assert entries == {m: a for m, a in lines.items() if a}
    assert moves[0].period == "2026-10" and moves[0].kind == "earned"
    # Posting again (the catch-up command, a retry) posts nothing.
    assert _post(engine, run_id) == 0
    assert post_committed(engine, now=NOW, actor="test") == {}
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(LedgerEntry)) == len(entries)


def test_lines_post_in_the_earners_currency_and_clawbacks_negative(engine: Engine) -> None:
    a, b, c = _members(engine)
    run1 = _run(engine, "2026-09", [(a, 1000, None, None), (a, 500, None, None),
                                    (b, 2000, EUR, 1800), (c, 0, None, None)])
    assert _post(engine, run1) == 2
    run2 = _run(engine, "2026-10", [(a, -4000, None, None), (b, 700, EUR, 650)],
                clawback=True)
    assert _post(engine, run2) == 2
    with engine.connect() as conn:
        assert balances_of(conn, a) == {"USD": -2500}
        assert balances_of(conn, b) == {"EUR": 2450}
        assert balances_of(conn, c) == {}
        t = totals(conn, a)["USD"]
    assert (t.earned, t.clawed_back, t.balance) == (1500, -4000, -2500)


def test_a_negative_balance_is_repaid_first_and_never_paid(engine: Engine) -> None:
    a, b, _ = _members(engine)
    _post(engine, _run(engine, "2026-09", [(a, -3000, None, None), (b, 5000, None, None)],
                       clawback=True))
    first = build_batch(engine, date(2026, 11, 15), now=NOW, actor="test", rules=RULES)
    assert first.payments == 1 and first.totals == {"USD": 5000}
    _post(engine, _run(engine, "2026-10", [(a, 4000, None, None)]))
    second = build_batch(engine, date(2026, 12, 15), now=LATER, actor="test", rules=RULES)
    # 40.00 earned repays the 30.00 owed; the 10.00 left is below the 20.00 minimum.
    assert second.payments == 0
    _post(engine, _run(engine, "2026-11", [(a, 1500, None, None)]))
    third = build_batch(engine, date(2027, 1, 15), now=LATER, actor="test", rules=RULES)
    assert third.totals == {"USD": 2500}
    with engine.connect() as conn:
        assert conn.scalar(select(func.min(PayoutPayment.amount))) > 0
        assert balances_of(conn, a) == {"USD": 0}


def test_a_batch_is_built_once_per_date_and_never_pays_twice(engine: Engine,
                                                              tmp_path: Path) -> None:
    a, b, c = _members(engine)
    _post(engine, _run(engine, "2026-09", [(a, 2500, None, None), (b, 1999, None, None),
                                           (c, 9000, EUR, 8000)]))
    batch = build_batch(engine, date(2026, 11, 15), now=NOW, actor="test", rules=RULES)
    assert batch.built_now and batch.payments == 2
    assert batch.totals == {"EUR": 8000, "USD": 2500}
    again = build_batch(engine, date(2026, 11, 15), now=LATER, actor="test", rules=RULES)
    assert (again.id, again.built_now, again.payments) == (batch.id, False, 2)
    other = build_batch(engine, date(2026, 11, 16), now=LATER, actor="test", rules=RULES)
    assert other.payments == 0  # nothing left to pay: b's 19.99 is carried forward
    path, = export_batch(engine, batch.id, tmp_path, now=LATER, actor="test").paths
    body = path.read_text(encoding="utf-8").splitlines()
    assert body[0] == "payment_ref,member_id,payee_name,amount,currency"
    assert body[1] == f"PAY-{batch.id}-{a}-USD,{a},Ada,25.00,USD"
    assert body[2].endswith(",80.00,EUR")
    first = path.read_bytes()
    export_batch(engine, batch.id, tmp_path, now=LATER, actor="test")
    assert path.read_bytes() == first
    with transaction(engine) as s:
        stored = s.get(PayoutBatch, batch.id)
        assert stored is not None and stored.status == "exported"
    with pytest.raises(PatronageError, match="the sepa files need the payout keys"):
        export_batch(engine, batch.id, tmp_path, now=LATER, actor="test", kind="sepa")
    with pytest.raises(PatronageError, match="file kind 'swift' is not one of csv, sepa"):
        export_batch(engine, batch.id, tmp_path, now=LATER, actor="test", kind="swift")


def test_a_batch_killed_half_way_leaves_nothing_and_runs_again(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, _ = _members(engine)
    _post(engine, _run(engine, "2026-09", [(a, 2500, None, None), (b, 3000, None, None)]))

    def killed(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(batch_module.audit, "record", killed)
    with pytest.raises(KeyboardInterrupt):
        build_batch(engine, date(2026, 11, 15), now=NOW, actor="test", rules=RULES)
    monkeypatch.undo()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(PayoutBatch)) == 0
        assert conn.scalar(select(func.count()).select_from(PayoutPayment)) == 0
    batch = build_batch(engine, date(2026, 11, 15), now=NOW, actor="test", rules=RULES)
    with engine.connect() as conn:
        per_member = conn.execute(select(PayoutPayment.member_id, func.count())
                                  .group_by(PayoutPayment.member_id)).all()
        paid = conn.scalar(select(func.count()).select_from(LedgerEntry)
                           .where(LedgerEntry.kind == "paid"))
    assert batch.payments == 2 and sorted(n for _, n in per_member) == [1, 1] and paid == 2


def test_holds_keep_a_balance_with_the_reason(engine: Engine) -> None:
    a, b, c = _members(engine, 4)[:3]
    with transaction(engine) as s:
        s.execute(text("UPDATE members SET status = 'terminated' WHERE id = :m"), {"m": b})
        hold = place_hold(s, c, "identity check", now=NOW, actor="staff:ann")
    _post(engine, _run(engine, "2026-09", [(a, 2500, None, None), (b, 2500, None, None),
                                           (c, 2500, None, None)]))
    with engine.connect() as conn:
        reasons = holds_of(conn, [a, b, c], LATER)
    assert {m: [(r.code, r.detail) for r in rs] for m, rs in reasons.items()} == {
        b: [("terminated", "")], c: [("manual", "identity check")]}
    batch = build_batch(engine, date(2026, 11, 15), now=LATER, actor="test", rules=RULES)
    assert batch.payments == 1
    with transaction(engine) as s:
        release_hold(s, hold, now=LATER, actor="staff:ann")
        with pytest.raises(Conflict, match="already released"):
            release_hold(s, hold, now=LATER, actor="staff:ann")
        with pytest.raises(PatronageError, match="a note saying why"):
            place_hold(s, a, " ", now=LATER, actor="staff:ann")
    later = build_batch(engine, date(2026, 12, 15), now=LATER, actor="test", rules=RULES)
    assert later.payments == 1  # c now; b stays held


def test_hold_sources_from_other_modules_hold_too(engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from patronage.payouts.core.ledger import HoldReason

    a, b, _ = _members(engine)
    _post(engine, _run(engine, "2026-09", [(a, 2500, None, None), (b, 2500, None, None)]))
    monkeypatch.setattr("patronage.payouts.holds.HOLD_SOURCES", [
        *HOLD_SOURCES, lambda conn, ids, now: {a: [HoldReason("no_payout_method")]}])
    batch = build_batch(engine, date(2026, 11, 15), now=NOW, actor="test", rules=RULES)
    assert batch.payments == 1


def test_adjustments_above_the_limit_wait_for_a_second_approver(engine: Engine) -> None:
    a, _, _ = _members(engine)
    with transaction(engine) as s:
        small = add_adjustment(s, a, 5000, "missed_bonus", "September fast start missed",
                               now=NOW, actor="staff:ann", rules=RULES)
        big = add_adjustment(s, a, -15000, "debt_recovery", "Starter kit unpaid",
                             now=NOW, actor="staff:ann", rules=RULES, request_key="k1")
        retry = add_adjustment(s, a, -15000, "debt_recovery", "Starter kit unpaid",
                               now=NOW, actor="staff:ann", rules=RULES, request_key="k1")
    assert (small.status, big.status, retry.id) == ("posted", "pending", big.id)
    with engine.connect() as conn:
        assert balances_of(conn, a) == {"USD": 5000}
    with transaction(engine) as s, pytest.raises(Forbidden, match="another staff member"):
        approve_adjustment(s, big.id, now=LATER, actor="staff:ann")
    with transaction(engine) as s:
        approve_adjustment(s, big.id, now=LATER, actor="staff:bob")
        with pytest.raises(Conflict, match="is posted, not pending"):
            approve_adjustment(s, big.id, now=LATER, actor="staff:cy")
        assert [x.status for x in adjustments(s, member_id=a)] == ["posted", "posted"]
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["payout.adjustment.add", "payout.adjustment.add",
                       "payout.adjustment.approve"]
    with engine.connect() as conn:
        assert balances_of(conn, a) == {"USD": -10000}
        kinds = [m.reason for m in movements(conn, a)]
    assert kinds == ["debt_recovery", "missed_bonus"]


def test_adjustments_refuse_bad_input(engine: Engine) -> None:
    a, _, _ = _members(engine)
    with transaction(engine) as s:
        shopper = customer(s, a)
        big = add_adjustment(s, a, 50000, "promotion", "Trip", now=NOW, actor="staff:ann",
                             rules=RULES)
        with pytest.raises(PatronageError, match="amount must not be zero"):
            add_adjustment(s, a, 0, "promotion", "x", now=NOW, actor="s", rules=RULES)
        with pytest.raises(PatronageError, match="reason 'gift' is not one of"):
            add_adjustment(s, a, 10, "gift", "x", now=NOW, actor="s", rules=RULES)
        with pytest.raises(PatronageError, match="a note saying why is required"):
            add_adjustment(s, a, 10, "promotion", "", now=NOW, actor="s", rules=RULES)
        with pytest.raises(PatronageError, match="is a customer"):
            add_adjustment(s, shopper, 10, "promotion", "x", now=NOW, actor="s", rules=RULES)
        with pytest.raises(NotFound, match="member 999999 does not exist"):
            add_adjustment(s, 999999, 10, "promotion", "x", now=NOW, actor="s", rules=RULES)
        with pytest.raises(PatronageError, match="not an ISO 4217"):
            add_adjustment(s, a, 10, "promotion", "x", now=NOW, actor="s", rules=RULES,
                           currency="XYZ")
        reject_adjustment(s, big.id, now=LATER, actor="staff:bob")
    with engine.connect() as conn:
        assert balances_of(conn, a) == {}


def test_a_returned_payment_comes_back_held(engine: Engine) -> None:
    a, b, _ = _members(engine)
    _post(engine, _run(engine, "2026-09", [(a, 2500, None, None), (b, 3000, None, None)]))
    batch = build_batch(engine, date(2026, 11, 15), now=NOW, actor="test", rules=RULES)
    ref_a, ref_b = f"PAY-{batch.id}-{a}-USD", f"PAY-{batch.id}-{b}-USD"
    with transaction(engine) as s:
        assert return_payment(s, ref_a, "account closed", now=LATER, actor="staff:ann")
        assert not return_payment(s, ref_a, "account closed", now=LATER, actor="staff:ann")
    with pytest.raises(PatronageError, match="line 3: payment_ref and reason are both"):
        read_returns(f"payment_ref,reason\n{ref_b},R01\n{ref_b},\n")
    with pytest.raises(PatronageError, match="no payment has the reference 'PAY-x'; nothing"):
        record_returns(engine, [(ref_b, "R01"), ("PAY-x", "R01")], now=LATER, actor="s")
    assert record_returns(engine, read_returns(f"payment_ref,reason\n{ref_b},R01\n"
                                               f"{ref_a},again\n"), now=LATER, actor="s") == 1
    with engine.connect() as conn:
        assert balances_of(conn, a) == {"USD": 2500}
        assert sorted(holds_of(conn, [a, b], LATER)) == [a, b]
        t = totals(conn)["USD"]
    assert (t.earned, t.paid, t.returned, t.balance, t.paid_out) == (5500, -5500, 5500, 5500, 0)
    again = build_batch(engine, date(2026, 12, 15), now=LATER, actor="test", rules=RULES)
    assert again.payments == 0


def test_the_command_line_adjusts_pays_exports_and_takes_returns(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    from cryptography.fernet import Fernet
    from typer.testing import CliRunner

    from patronage.cli.main import app
    from patronage.payouts.core.accounts import PayoutAccount
    from patronage.payouts.methods import set_method
    from patronage.payouts.secrets import Vault
    from patronage.payouts.tax_ids import set_tax_id

    runner = CliRunner()
    a, b, c = _members(engine)
    _post(engine, _run(engine, "2026-09", [(a, 2500, None, None), (b, 900, None, None),
                                           (c, 4000, None, None)]))
    vault = Vault(Fernet.generate_key().decode())
    with transaction(engine) as s:  # a and b can be paid; c has no payout method: held
        for member in (a, b):
            set_method(s, member_id=member, account=PayoutAccount(
                "us_ach", "Ada", routing_number="021000021", account_number="123456789"),
                actor="test", vault=vault, now=NOW - timedelta(days=60))
            set_tax_id(s, member_id=member, country="US", kind="ssn", number="536-90-4399",
                       actor="test", vault=vault, now=NOW - timedelta(days=60))

    def run(*args: str) -> str:
        result = runner.invoke(app, ["--db", db_url, "payouts", *args,
                                     "--now", NOW.isoformat()])
        assert result.exit_code == 0, result.output
        return result.output

    assert "every committed run is on the ledger" in run("post")
    out = run("adjust", "--member", str(b), "--amount", "600.00", "--reason", "promotion",
              "--note", "Trip prize", "--actor", "staff:ann")
    assert "pending, needs a second staff member" in out
    refused = runner.invoke(app, ["--db", db_url, "payouts", "approve", "1", "--actor",
                                  "staff:ann", "--now", NOW.isoformat()])
    assert isinstance(refused.exception, Forbidden)
    assert "you made it, so another staff member must approve it" in str(refused.exception)
    assert "adjustment 1: posted" in run("approve", "1", "--actor", "staff:bob")
    out = run("batch", "--date", "2026-11-15")
    assert "built now" in out and "2 payments" in out and "634.00 USD" in out
    assert "already built: the same batch" in run("batch", "--date", "2026-11-15")
    assert "held: no_method: no payout method" in run("balance", "--member", str(c))
    out = run("export", "--batch", "1", "--kind", "csv", "--out", str(tmp_path))
    assert (tmp_path / "payouts-2026-11-15-batch1.csv").is_file()
    returns = tmp_path / "returns.csv"
    returns.write_text(f"payment_ref,reason\nPAY-1-{a}-USD,R03 no account\n", encoding="utf-8")
    assert "1 returned payment(s) recorded" in run("returned", "--file", str(returns))
    out = run("balance", "--member", str(a))
    assert "25.00 USD" in out and "held: returned: payment PAY-1-" in out
    assert "next pay date: 2026-12-15" in out


def test_the_integrity_check_finds_a_run_not_on_the_ledger(engine: Engine) -> None:
    from patronage.integrity import unposted_runs

    a, b, _ = _members(engine)
    run_id = _run(engine, "2026-09", [(a, 2500, None, None), (b, 3000, EUR, 2700)])
    with engine.connect() as conn:
        found = unposted_runs(conn)
    assert [f.count for f in found] == [2]
    assert found[0].examples == [f"run {run_id} (2026-09), USD: lines 2500, on the ledger 0",
                                 f"run {run_id} (2026-09), EUR: lines 2700, on the ledger 0"]
    _post(engine, run_id)
    with engine.connect() as conn:
        assert unposted_runs(conn) == []


def test_a_posted_run_is_recorded_once_and_its_movements_keep_their_key(engine: Engine) -> None:
    a, b, _ = _members(engine)
    run_id = _run(engine, "2026-09", [(a, 1000, None, None), (a, -300, None, None),
                                      (b, 2000, EUR, 1800)], clawback=True)
    assert _post(engine, run_id) == 3
    with engine.connect() as conn:
        assert run_posted(conn, run_id)
        recorded = conn.execute(select(LedgerPosting.movements, LedgerPosting.posted_by)
                                .where(LedgerPosting.run_id == run_id)).one()
        moved = conn.execute(select(LedgerEntry.member_id, LedgerEntry.kind,
                                    LedgerEntry.currency, LedgerEntry.amount)
                             .order_by(LedgerEntry.member_id, LedgerEntry.kind)).all()
    assert tuple(recorded) == (3, "test")
    assert [tuple(r) for r in moved] == [(a, "clawed_back", 840, -300), (a, "earned", 840, 1000),
                                         (b, "earned", 978, 1800)]
    # The movement key (member, currency, kind, source) still refuses a second copy.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO ledger_entries (member_id, counter_account, kind, amount, currency, "
            "source_id, posted_at, posted_by) VALUES (:m, 'company:commissions_expense', "
            "'earned', 5, 840, :r, :t, 'x')"), {"m": a, "r": run_id, "t": NOW})


def test_movements_without_their_posting_record_are_found_and_not_posted_twice(
        engine: Engine) -> None:
    a, _, _ = _members(engine)
    run_id = _run(engine, "2026-09", [(a, 1000, None, None)])
    assert _post(engine, run_id) == 1
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_postings"))
    found = {f.check: f for f in check_integrity(engine, NOW).findings}
    assert found["ledger postings"].count == 1
    assert "run " + str(run_id) in found["ledger postings"].examples[0]
    # Posting it again is refused by the movement key: the balance is not doubled.
    with pytest.raises(IntegrityError):
        _post(engine, run_id)
    with engine.connect() as conn:
        assert balances_of(conn, a) == {"USD": 1000}
