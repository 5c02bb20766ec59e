"""The earnings page of a distributor and the staff's payouts page."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from patronage.clock import Period
from patronage.compensation.runs import commit_period
from patronage.db.engine import transaction
from patronage.payouts.batches import build_batch, return_payment
from patronage.payouts.core.ledger import PayoutRules
from patronage.web.accounts import create_account
from tests.e2e.world import EMAILS, NOW, PASSWORD, app_for, csrf_of, seed, sign_in


def _client(engine: Engine, email: str) -> tuple[TestClient, str]:
    client = TestClient(app_for(engine))
    assert sign_in(client, email).status_code == 303
    return client, csrf_of(client.get("/account").text)


def test_a_distributor_sees_balance_movements_holds_and_next_pay_date(engine: Engine) -> None:
    w = seed(engine)
    commit_period(engine, Period(2026, 9), None, now=NOW, actor="test")
    ann, _ = _client(engine, EMAILS["distributor"])
    page = ann.get("/earnings")
    assert page.status_code == 200
    assert "Commissions for 2026-09" in page.text and "2026-10-15" in page.text
    # Ann has no payout method: the page says so (the batch would hold her balance).
    assert "You have no payout method yet." in page.text
    staff, csrf = _client(engine, EMAILS["staff"])
    r = staff.post("/company/payouts/holds", data={"csrf_token": csrf, "member_id": str(w.ann),
                                                   "note": "identity check"},
                   follow_redirects=False)
    assert r.status_code == 303
    page = ann.get("/earnings")
    assert "The company is holding your payments. identity check" in page.text
    # Zed sees his own earnings, not Ann's hold.
    zed, _ = _client(engine, EMAILS["other_distributor"])
    assert "identity check" not in zed.get("/earnings").text


def test_staff_adjust_with_a_second_approval_and_see_batches(engine: Engine) -> None:
    w = seed(engine)
    with transaction(engine) as s:
        create_account(s, email="sue@example.com", password=PASSWORD, role="staff",
                       member_id=None, now=NOW)
    staff, csrf = _client(engine, EMAILS["staff"])
    r = staff.post("/company/payouts/adjustments", data={
        "csrf_token": csrf, "member_id": str(w.ben), "amount": "750.00",
        "reason": "promotion", "note": "Trip prize"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("adjustment-pending")
    page = staff.get("/company/payouts")
    assert "Trip prize" in page.text and "$750.00" in page.text
    refused = staff.post("/company/payouts/adjustments/decide",
                         data={"csrf_token": csrf, "adjustment_id": "1"})
    assert refused.status_code == 403 and "another staff member" in refused.text
    bad = staff.post("/company/payouts/adjustments", data={
        "csrf_token": csrf, "member_id": str(w.ben), "amount": "1.234",
        "reason": "promotion", "note": "x"})
    assert bad.status_code == 400 and "more than 2 decimal places" in bad.text
    sue, sue_csrf = _client(engine, "sue@example.com")
    ok = sue.post("/company/payouts/adjustments/decide",
                  data={"csrf_token": sue_csrf, "adjustment_id": "1"}, follow_redirects=False)
    assert ok.status_code == 303
    batch = build_batch(engine, date(2026, 10, 15), now=NOW, actor="test",
                        rules=PayoutRules.from_text("20.00", "500.00", 15))
    with transaction(engine) as s:
        return_payment(s, f"PAY-{batch.id}-{w.ben}-USD", "R02 account closed", now=NOW,
                       actor="test")
    page = sue.get("/company/payouts")
    assert "2026-10-15" in page.text and "1 returned" in page.text
    assert "payment PAY-" in page.text  # the returned payment's hold
    ben_page = TestClient(app_for(engine))
    with transaction(engine) as s:
        create_account(s, email="ben@example.com", password=PASSWORD, role="distributor",
                       member_id=w.ben, now=NOW)
    assert sign_in(ben_page, "ben@example.com").status_code == 303
    text = ben_page.get("/earnings").text
    assert "Adjustment (promotion or prize): Trip prize" in text
    assert "came back from the bank" in text and "$750.00" in text


def test_staff_build_a_batch_after_confirming_and_download_its_file(engine: Engine) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select

    from patronage.db.payouts import PayoutBatch, PayoutPayment
    from patronage.payouts.core.accounts import PayoutAccount
    from patronage.payouts.methods import set_method
    from patronage.payouts.tax_ids import set_tax_id
    from tests.e2e.world import settings

    w = seed(engine)
    vault = settings().payout_vault()
    with transaction(engine) as s:  # Ann is paid to her e-wallet; Ben has no payout method
        set_method(s, member_id=w.ann, account=PayoutAccount("ewallet", "Ann", wallet_id="W-1",
                                                          provider="PayQuicker"),
                   actor="test", vault=vault, now=NOW - timedelta(days=60))
        set_tax_id(s, member_id=w.ann, country="US", kind="ssn", number="536-90-4399",
                   actor="test", vault=vault, now=NOW - timedelta(days=60))
    commit_period(engine, Period(2026, 9), None, now=NOW, actor="test")
    staff, csrf = _client(engine, EMAILS["staff"])
    asked = staff.post("/company/payouts/batches",
                       data={"csrf_token": csrf, "pay_date": "2026-10-15"})
    assert asked.status_code == 200 and "Confirm and build the batch" in asked.text
    assert "What the batch would pay now" in asked.text
    with engine.connect() as conn:  # nothing built before the confirmation
        assert conn.scalar(select(func.count()).select_from(PayoutBatch)) == 0
    bad = staff.post("/company/payouts/batches",
                     data={"csrf_token": csrf, "pay_date": "15/10/2026", "confirm": "yes"})
    assert bad.status_code == 400 and "is not a date written YYYY-MM-DD" in bad.text
    for _ in range(2):  # a double click builds one batch
        done = staff.post("/company/payouts/batches", data={
            "csrf_token": csrf, "pay_date": "2026-10-15", "confirm": "yes"},
            follow_redirects=False)
        assert done.status_code == 303 and "done=batch-" in done.headers["location"]
    with engine.connect() as conn:
        batch_id = conn.scalar(select(PayoutBatch.id))
        assert conn.scalar(select(func.count()).select_from(PayoutBatch)) == 1
        paid = conn.scalar(select(func.count()).select_from(PayoutPayment))
    assert paid == 1  # Ann; Ben is held (no payout method)
    again = staff.post("/company/payouts/batches",
                       data={"csrf_token": csrf, "pay_date": "2026-10-15"})
    assert "already built" in again.text
    listing = staff.get("/company/payouts").text
    assert f"/company/payouts/batches/{batch_id}/export" in listing
    url = f"/company/payouts/batches/{batch_id}/export"
    unconfirmed = staff.post(url, data={"csrf_token": csrf, "kind": "csv"})
    assert unconfirmed.status_code == 400 and "exporting locks it" in unconfirmed.text
    with engine.connect() as conn:
        assert conn.scalar(select(PayoutBatch.status)) == "built"
    plain = staff.post(url, data={"csrf_token": csrf, "kind": "csv", "confirm": "yes"})
    assert plain.status_code == 200
    assert f"payouts-2026-10-15-batch{batch_id}.csv" in plain.headers["content-disposition"]
    assert len(plain.text.strip().splitlines()) == 1 + paid
    with engine.connect() as conn:
        assert conn.scalar(select(PayoutBatch.status)) == "exported"
    assert staff.post(url, data={"csrf_token": csrf, "kind": "csv",
                                 "confirm": "yes"}).content == plain.content
    # The bank and e-wallet files: Ann's payment is in the e-wallet file.
    rails = staff.post(url, data={"csrf_token": csrf, "confirm": "yes"})
    assert rails.status_code == 200, rails.text[-600:]
    assert rails.headers["content-disposition"].endswith('ewallet_csv-USD.csv"')
    assert "W-1" in rails.text and len(rails.text.strip().splitlines()) == 1 + paid
    ann, ann_csrf = _client(engine, EMAILS["distributor"])
    assert ann.post(url, data={"csrf_token": ann_csrf, "confirm": "yes"}).status_code == 403
