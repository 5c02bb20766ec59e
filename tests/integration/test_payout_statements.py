"""Monthly statements: opening balance, every movement with commissions by bonus, holds and
releases, payments, closing balance; on the web for the distributor and staff, and as PDF."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.clock import FixedClock, Period
from patronage.compensation.runs import commit_period
from patronage.db.compensation import PayoutLine
from patronage.db.engine import transaction
from patronage.db.payouts import LedgerEntry
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.payouts.adjustments import add_adjustment
from patronage.payouts.batches import build_batch
from patronage.payouts.core.ledger import PayoutRules
from patronage.payouts.holds import place_hold, release_hold
from patronage.payouts.statement_pdf import statement_pdf, statement_rows
from patronage.payouts.statements import statement_months, statement_of, statements_for
from tests.e2e.world import EMAILS, NOW, World, app_for, seed, sign_in

pytestmark = pytest.mark.storage

RULES = PayoutRules.from_text("20.00", "500.00", 15)
OCT20 = datetime(2026, 10, 20, 9, tzinfo=UTC)
OCT21 = datetime(2026, 10, 21, 9, tzinfo=UTC)
OCT22 = datetime(2026, 10, 22, 9, tzinfo=UTC)
NOV5 = datetime(2026, 11, 5, 9, tzinfo=UTC)
DEC2 = datetime(2026, 12, 2, 9, tzinfo=UTC)


def _month(engine: Engine) -> World:
    """September committed on 15 October; in October an adjustment and a hold placed and
    released for Ann; in November the pay date's batch pays her."""
    w = seed(engine)
    commit_period(engine, Period(2026, 9), None, now=NOW, actor="test", company_zone="UTC")
    with transaction(engine) as s:
        add_adjustment(s, w.ann, 5_000, "promotion", "Trip prize", now=OCT20, actor="staff",
                       rules=RULES)
        hold = place_hold(s, w.ann, "identity check", now=OCT21, actor="staff")
    with transaction(engine) as s:
        release_hold(s, hold, now=OCT22, actor="staff")
    build_batch(engine, date(2026, 11, 15), now=NOV5, actor="test", rules=RULES)
    return w


def test_a_statement_adds_up_and_chains_month_to_month(engine: Engine) -> None:
    w = _month(engine)
    with engine.connect() as conn:
        earned = int(conn.scalar(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.member_id == w.ann, LedgerEntry.kind == "earned")) or 0)
        lines = int(conn.scalar(select(func.sum(PayoutLine.amount)).where(
            PayoutLine.earner_id == w.ann)) or 0)
    assert earned > 0 and earned == lines
    oct_ = statement_of(engine, w.ann, Period(2026, 10), now=DEC2, company_zone="UTC")
    nov = statement_of(engine, w.ann, Period(2026, 11), now=DEC2, company_zone="UTC")
    oct_.check()
    nov.check()
    assert oct_.opening == {"USD": 0}
    kinds = [line.movement.kind for line in oct_.lines]
    assert kinds == ["earned", "adjusted"]
    commissions = oct_.lines[0]
    # The commissions by bonus add up to the movement.
    assert commissions.bonuses and sum(a for _b, a in commissions.bonuses) == earned
    assert oct_.closing == {"USD": earned + 5_000}
    assert [(h.released, h.note) for h in oct_.holds] == [(False, "identity check"),
                                                          (True, "identity check")]
    assert oct_.ranks and oct_.ranks[0].period == "2026-09"
    # November opens where October closed; the payment takes the balance to zero.
    assert nov.opening == oct_.closing
    assert [line.movement.kind for line in nov.lines] == ["paid"]
    assert nov.closing == {"USD": 0}
    words = [r.words for r in statement_rows(oct_)]
    assert words[0] == "Commissions for 2026-09"
    assert "Adjustment (promotion or prize): Trip prize" in words
    assert "Payments held by the company: identity check" in words
    assert "Payments held by the company ended: identity check" in words
    pdf = statement_pdf(oct_, company_name="Acme")
    assert pdf.startswith(b"%PDF") and b"/Count 1" in pdf
    assert statement_months(engine, w.ann, now=DEC2, company_zone="UTC") == [
        Period(2026, 11), Period(2026, 10)]


def test_an_open_month_and_a_bad_month_are_refused(engine: Engine) -> None:
    w = _month(engine)
    with pytest.raises(PatronageError, match="not over yet"):
        statement_of(engine, w.ann, Period(2026, 12), now=DEC2, company_zone="UTC")
    with pytest.raises(PatronageError, match="not over yet"):
        list(statements_for(engine, Period(2026, 12), now=DEC2, company_zone="UTC"))


def test_the_bulk_run_gives_everyone_with_money_their_statement(engine: Engine) -> None:
    _month(engine)
    every = list(statements_for(engine, Period(2026, 10), now=DEC2, company_zone="UTC",
                                chunk=2))
    one_by_one = [statement_of(engine, s.member_id, Period(2026, 10), now=DEC2,
                               company_zone="UTC") for s in every]
    assert every == one_by_one
    with engine.connect() as conn:
        end = Period(2026, 10).end(UTC)
        ledger = int(conn.scalar(select(func.sum(LedgerEntry.amount))
                                 .where(LedgerEntry.posted_at < end)) or 0)
        earners = set(conn.scalars(select(LedgerEntry.member_id).distinct()
                                   .where(LedgerEntry.posted_at < end)))
    assert {s.member_id for s in every} == earners
    assert sum(sum(s.closing.values()) for s in every) == ledger
    for s in every:
        s.check()


def test_the_distributor_and_staff_open_statements_in_their_language(engine: Engine) -> None:
    w = _month(engine)
    clock = FixedClock(DEC2)
    ann = TestClient(app_for(engine, clock))
    assert sign_in(ann, EMAILS["distributor"]).status_code == 303
    assert "/earnings/statements/2026-10" in ann.get("/earnings").text
    page = ann.get("/earnings/statements/2026-10")
    assert page.status_code == 200
    assert "Statement for 2026-10" in page.text and "Commissions for 2026-09" in page.text
    assert "Trip prize" in page.text and "identity check" in page.text
    assert re.search(r"Closing balance <b>\$[\d,]+\.\d\d</b>", page.text)
    pdf = ann.get("/earnings/statements/2026-10/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert ann.get("/earnings/statements/2026-12").status_code == 400
    assert ann.get("/earnings/statements/October").status_code == 400
    # Ann reads in Spanish once she chooses it.
    with transaction(engine) as s:
        s.get_one(Member, w.ann).locale = "es"
    spanish = ann.get("/earnings/statements/2026-10").text
    assert "Estado de cuenta de 2026-10" in spanish and "Comisiones de 2026-09" in spanish
    staff = TestClient(app_for(engine, clock))
    assert sign_in(staff, EMAILS["staff"]).status_code == 303
    assert f"/company/members/{w.ann}/statements/2026-10" in staff.get(
        f"/company/members/{w.ann}").text
    seen = staff.get(f"/company/members/{w.ann}/statements/2026-11")
    assert seen.status_code == 200 and "Payment PAY-" in seen.text
    assert staff.get(f"/company/members/{w.ann}/statements/2026-11/pdf").content.startswith(
        b"%PDF")
    zed = TestClient(app_for(engine, clock))
    assert sign_in(zed, EMAILS["other_distributor"]).status_code == 303
    assert zed.get(f"/company/members/{w.ann}/statements/2026-10").status_code == 403
    assert "Trip prize" not in zed.get("/earnings/statements/2026-10").text


def test_a_pdf_keeps_every_letter_of_any_alphabet(engine: Engine) -> None:
    w = _month(engine)
    latin = statement_of(engine, w.ann, Period(2026, 10), now=DEC2, company_zone="UTC")
    plain = statement_pdf(latin, company_name="Acme")
    assert b"/BaseFont /Helvetica" in plain and b"WinAnsiEncoding" in plain
    latin.name = "Анна Ωμέγα"
    other = statement_pdf(latin, company_name="Acme")
    assert b"DejaVuSans" in other and b"/BaseFont /Helvetica" not in other


def test_the_statements_command_writes_everyones_pdf_once(engine: Engine, db_url: str,
                                                          tmp_path: Path) -> None:
    w = _month(engine)
    run = CliRunner().invoke
    out = tmp_path / "statements"
    args = ["--db", db_url, "payouts", "statements", "--month", "2026-10", "--out",
            str(out), "--now", DEC2.isoformat()]
    done = run(cli, args)
    assert done.exit_code == 0, done.output
    expected = {f"statement-2026-10-{s.member_id}.pdf" for s in statements_for(
        engine, Period(2026, 10), now=DEC2, company_zone="UTC")}
    assert {p.name for p in out.iterdir()} == expected
    assert f"statement-2026-10-{w.ann}.pdf" in expected
    first = (out / f"statement-2026-10-{w.ann}.pdf").read_bytes()
    assert first.startswith(b"%PDF")
    again = run(cli, args)  # the same files, nothing more
    assert again.exit_code == 0 and {p.name for p in out.iterdir()} == expected
    early = run(cli, [*args[:-1], "2026-10-20T00:00:00+00:00"])
    assert early.exit_code != 0 and "not over yet" in str(early.exception)
