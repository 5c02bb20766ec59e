"""The other loading patterns read from the store, on both databases: returns right after a
rank, accounts sharing an address or a card, volume without customers; each flagged case with
its evidence beside a normal one that is not, and open flags as payout holds only when the
company turns that on (clearing a flag lifts its hold)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from patronage.clock import Period
from patronage.compensation.runs import PlanSource, commit_period
from patronage.compliance.flags import (
    HOLD_FLAG,
    NO_CUSTOMERS,
    RANK_RETURNS,
    SHARED_ADDRESS,
    SHARED_CARD,
    Flag,
    FlagRules,
    clear_flag,
    flag_hold_source,
    load_flags,
)
from patronage.db.engine import transaction
from patronage.db.payments import CardFingerprint, PaymentMethod
from patronage.errors import PatronageError
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.orders.refunds import RefundRequest, refund_order
from patronage.payouts.core.ledger import PayoutRules
from patronage.payouts.holds import holds_of
from patronage.payouts.statement import earnings_of
from tests.factories import customer, distributor

pytestmark = pytest.mark.storage

JAN = datetime(2026, 1, 1, tzinfo=UTC)
SEP, OCT = Period(2026, 9), Period(2026, 10)
REFUNDED = datetime(2026, 11, 5, 12, tzinfo=UTC)
NOW = datetime(2026, 11, 6, tzinfo=UTC)
RULES = FlagRules()
PLAN = PlanSource.from_text("""
[plan]
name = "test"
version = "t1"
[active]
min_pv = 100
[[ranks]]
name = "Member"
min_pv = 100
unilevel_depth = 1
[[ranks]]
name = "Star"
min_pv = 300
unilevel_depth = 1
[bonuses.unilevel]
rates = [0.10]
""")


def _mid(p: Period) -> datetime:
    return datetime(p.year, p.month, 15, 12, tzinfo=UTC)


def _card(s: object, member: int, ref: str, fingerprint: str, last4: str) -> None:
    s.add(PaymentMethod(member_id=member, provider="stripe",  # type: ignore[attr-defined]
                        method_ref=ref, brand="visa", last4=last4, exp_month=12,
                        exp_year=2030, status="active", created_at=JAN))
    s.add(CardFingerprint(method_ref=ref, fingerprint=fingerprint))  # type: ignore[attr-defined]


def _company(engine: Engine) -> dict[str, int]:
    """Ray goes from one shake in September (Member) to three in October (Star), with no
    customer, and returns October's order five days after it closed; Ned rises the same way
    and keeps his order; Sam buys three both months (no rise) and returns October's. Ray and
    Sam's customer Cy live at one address, spelt two ways; Ned and Sam saved one card. Con
    buys one shake a month: a consumer."""
    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 6000, 5000, 10000, 4000))
        ray = distributor(s, "Ray", joined_at=JAN, address_line1="12 Elm Street",
                          address_line2="Apt. 4", postal_code="10115", country="DE")
        ned = distributor(s, "Ned", sponsor=ray, joined_at=JAN, address_line1="14 Elm Street",
                          postal_code="10115", country="DE")
        sam = distributor(s, "Sam", sponsor=ray, joined_at=JAN)
        con = distributor(s, "Con", sponsor=ray, joined_at=JAN)
        cy = customer(s, sam, "Cy", joined_at=JAN, address_line1="12 elm st",
                      address_line2="apartment 4", postal_code="10115", country="de")
        nina = customer(s, ned, "Nina", joined_at=JAN)
        _card(s, ned, "pm_ned", "fp_shared", "4242")
        _card(s, sam, "pm_sam", "fp_shared", "4242")
        _card(s, con, "pm_con", "fp_other", "1881")
    orders = {}
    for period in (SEP, OCT):
        with transaction(engine) as s:
            for who, sep, oct_ in ((ray, 1, 3), (ned, 1, 3), (sam, 3, 3), (con, 1, 1),
                                   (cy, 1, 1), (nina, 1, 1)):
                placed = place_order(s, NewOrder(who, _mid(period), [
                    LineRequest("SHAKE", sep if period == SEP else oct_)]), now=_mid(period))
                orders[(who, period)] = placed.order.id
        commit_period(engine, period, PLAN, now=_mid(period.next()) if period == SEP
                      else datetime(2026, 11, 2, tzinfo=UTC), actor="test")
    with transaction(engine) as s:
        for who in (ray, sam):
            refund_order(s, RefundRequest(orders[(who, OCT)], REFUNDED, "changed my mind"),
                         now=REFUNDED, company_zone="UTC")
    return {"ray": ray, "ned": ned, "sam": sam, "con": con, "cy": cy,
            "ray_order": orders[(ray, OCT)]}


def _by_kind(flags: list[Flag]) -> dict[str, list[Flag]]:
    out: dict[str, list[Flag]] = {}
    for f in flags:
        out.setdefault(f.kind, []).append(f)
    return out


def test_each_pattern_is_flagged_with_its_evidence_and_normal_ones_are_not(
        engine: Engine) -> None:
    ids = _company(engine)
    flags = _by_kind(load_flags(engine, OCT, RULES, UTC))
    # Returns after a rank: Ray only (Ned kept his order; Sam's rank did not rise).
    [ray] = flags[RANK_RETURNS]
    assert (ray.member_id, ray.rank_from, ray.rank_to, ray.subject) == (
        ids["ray"], "Member", "Star", "2026-10")
    assert [(r.order_id, r.cv, r.amount, r.currency, str(r.placed_on), str(r.refunded_on))
            for r in ray.refunds] == [
        (ids["ray_order"], 12000, 15000, "USD", "2026-10-15", "2026-11-05")]
    assert ray.reason.startswith("paid as Star in 2026-10 (from Member the month before); "
                                 "within 30 days after the month closed")
    assert "refunded 2026-11-05" in ray.reason
    # A company watching one day only: the refund five days after is not flagged.
    assert RANK_RETURNS not in _by_kind(load_flags(engine, OCT, FlagRules(refund_days=1), UTC))
    # September has no month before to compare ranks with.
    assert RANK_RETURNS not in _by_kind(load_flags(engine, SEP, RULES, UTC))
    # Shared address: Ray (a distributor) with his neighbour-in-spelling Cy; Ned's is his own.
    [shared] = flags[SHARED_ADDRESS]
    assert (shared.member_id, [o.member_id for o in shared.others]) == (ids["ray"], [ids["cy"]])
    assert shared.others[0].kind == "retail"
    assert shared.shared == "12 Elm Street, Apt. 4, 10115, DE"
    # Shared card: Ned and Sam, the card masked; Con's card is his own.
    cards = flags[SHARED_CARD]
    assert [(f.member_id, f.shared) for f in cards] == [
        (ids["ned"], "visa •••• 4242"), (ids["sam"], "visa •••• 4242")]
    assert "fp_shared" not in " ".join(f.reason + f.notice + f.subject for f in cards)
    # Volume without customers: Ray's 120.00 points (Ned's and Sam's customers ordered; Con's
    # 40.00 is a consumer's month).
    [lone] = flags[NO_CUSTOMERS]
    assert (lone.member_id, lone.own) == (ids["ray"], 12000)
    assert lone.reason == ("bought 120.00 points for themselves in 2026-10 (more than 100.00) "
                           "and no customer of theirs ordered")
    assert NO_CUSTOMERS not in _by_kind(load_flags(engine, OCT, FlagRules(no_customer_cv=12000),
                                                   UTC))
    # Three accounts to a group: none of these is flagged.
    strict = _by_kind(load_flags(engine, OCT, FlagRules(shared_accounts=3), UTC))
    assert SHARED_ADDRESS not in strict and SHARED_CARD not in strict


def test_open_flags_hold_payouts_only_when_turned_on_and_clearing_lifts_the_hold(
        engine: Engine) -> None:
    ids = _company(engine)
    everyone = [ids["ray"], ids["ned"], ids["sam"], ids["con"]]
    off = flag_hold_source(RULES, UTC)
    on = flag_hold_source(FlagRules(holds=True), UTC)
    with engine.connect() as conn:
        assert holds_of(conn, everyone, NOW, extra=[off]) == {}
        held = holds_of(conn, everyone, NOW, extra=[on])
    assert sorted(held) == sorted([ids["ray"], ids["ned"], ids["sam"]])
    assert {r.code for r in held[ids["ray"]]} == {HOLD_FLAG}
    assert [r.detail for r in held[ids["ray"]]] == [
        "orders of 2026-10, the month you were first paid as Star, were refunded within 30 days "
        "after it closed",
        "your shipping address is also the address of 1 other account(s)",
        "you bought 120.00 points in 2026-10 while no customer of yours ordered"]
    # The distributor sees the reason on their earnings.
    view = earnings_of(engine, ids["ned"], now=NOW, rules=PayoutRules.from_text("", "", 15),
                       company_zone="UTC", extra_holds=[on])
    assert [h.detail for h in view.holds] == [
        "a card saved on your account (visa •••• 4242) is also saved on 1 other account(s)"]
    # Staff clear Ray's flags one by one; the last one cleared lifts his hold.
    flags = [f for f in load_flags(engine, OCT, RULES, UTC) if f.member_id == ids["ray"]]
    with transaction(engine) as s:
        for f in flags[:-1]:
            clear_flag(s, f.member_id, f.subject, "looked into it", by="ana", now=NOW,
                       kind=f.kind)
    with engine.connect() as conn:
        assert len(holds_of(conn, [ids["ray"]], NOW, extra=[on])[ids["ray"]]) == 1
    with transaction(engine) as s:
        clear_flag(s, ids["ray"], flags[-1].subject, "gift for his mother", by="ana", now=NOW,
                   kind=flags[-1].kind)
    with engine.connect() as conn:
        assert ids["ray"] not in holds_of(conn, everyone, NOW, extra=[on])
    cleared = [f for f in load_flags(engine, OCT, RULES, UTC) if f.member_id == ids["ray"]]
    assert {(f.kind, f.cleared_by) for f in cleared} == {(f.kind, "ana") for f in flags}


def test_a_clearance_names_its_kind_and_subject(engine: Engine) -> None:
    ids = _company(engine)
    with transaction(engine) as s, pytest.raises(PatronageError, match="kind: 'rank' is none"):
        clear_flag(s, ids["ray"], "2026-10", "x", by="ana", now=NOW, kind="rank")
    with transaction(engine) as s, pytest.raises(PatronageError, match="subject: the flag's"):
        clear_flag(s, ids["ray"], " ", "x", by="ana", now=NOW, kind=SHARED_CARD)
    with transaction(engine) as s, pytest.raises(PatronageError):
        clear_flag(s, ids["ray"], "October", "x", by="ana", now=NOW, kind=RANK_RETURNS)


def test_the_staff_page_lists_every_kind_and_clears_one(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from patronage.clock import FixedClock
    from patronage.web.accounts import create_account
    from tests.e2e.world import PASSWORD, app_for, csrf_of, sign_in

    ids = _company(engine)
    with transaction(engine) as s:
        create_account(s, email="staff@example.com", password=PASSWORD, role="staff",
                       member_id=None, now=NOW)
    with TestClient(app_for(engine, FixedClock(NOW))) as staff:
        assert sign_in(staff, "staff@example.com").status_code == 303
        page = staff.get("/company/compliance?period=2026-10")
        assert page.status_code == 200, page.text
        for words in ("Returns after a rank", "Shared address", "Shared card",
                      "Volume without customers", "Paid as Star in 2026-10 (from Member",
                      "Shares the card visa •••• 4242 with:",
                      "Shares the shipping address 12 Elm Street, Apt. 4, 10115, DE with:",
                      "Flags act on nothing"):
            assert words in page.text, words
        subject = next(f.subject for f in load_flags(engine, OCT, RULES, UTC)
                       if f.kind == SHARED_CARD and f.member_id == ids["ned"])
        done = staff.post("/company/compliance/flags/clear", data={
            "csrf_token": csrf_of(page.text), "member_id": str(ids["ned"]), "period": "2026-10",
            "kind": SHARED_CARD, "subject": subject, "note": "spouses, one household card"},
            follow_redirects=False)
        assert done.status_code == 303, done.text
        assert "spouses, one household card" in staff.get(
            "/company/compliance?period=2026-10").text


def test_the_cli_lists_every_kind_and_clears_a_shared_account(engine: Engine,
                                                              db_url: str) -> None:
    import json

    from typer.testing import CliRunner

    from patronage.cli.main import app as cli

    ids = _company(engine)
    out = CliRunner().invoke(cli, ["--db", db_url, "compliance", "flags", "--period", "2026-10",
                                   "--json"])
    assert out.exit_code == 0, out.output
    listed = json.loads(out.stdout)
    card = next(f for f in listed if f["kind"] == SHARED_CARD and f["member_id"] == ids["sam"])
    assert {f["kind"] for f in listed} == {RANK_RETURNS, SHARED_ADDRESS, SHARED_CARD,
                                           NO_CUSTOMERS}
    missing = CliRunner().invoke(cli, ["--db", db_url, "compliance", "clear-flag", "--member",
                                       str(ids["sam"]), "--kind", SHARED_CARD, "--note", "ok"])
    assert missing.exit_code != 0 and "--subject" in str(missing.exception)
    done = CliRunner().invoke(cli, ["--db", db_url, "compliance", "clear-flag", "--member",
                                    str(ids["sam"]), "--kind", SHARED_CARD, "--subject",
                                    card["subject"], "--note", "a family card", "--by", "ana"])
    assert done.exit_code == 0, done.output
    again = json.loads(CliRunner().invoke(cli, ["--db", db_url, "compliance", "flags",
                                                "--period", "2026-10", "--json"]).stdout)
    assert [f["cleared"] for f in again if f["kind"] == SHARED_CARD
            and f["member_id"] == ids["sam"]] == ["a family card"]
