"""The synthetic company: reproducible, and every integrity rule holds in what it writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from patronage.db.compliance import RewardMixRecord
from patronage.db.engine import transaction
from patronage.db.markets import ExchangeRate, Market
from patronage.db.tables import GenealogyChange, Member, Order, OrderLine, Product
from patronage.demo.company import build_company
from patronage.errors import PatronageError

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _build(engine: Engine, seed: int = 3) -> None:
    build_company(engine, seed=seed, members=600, months=6, now=NOW, history=True,
                  personal=True)


def test_demo_company_respects_the_integrity_rules(engine: Engine) -> None:
    _build(engine)
    with transaction(engine) as s:
        members = {m.id: m for m in s.scalars(select(Member))}
        for m in members.values():
            if m.kind == "distributor":
                assert m.owner_id is None
                if m.sponsor_id is not None:
                    sponsor = members[m.sponsor_id]
                    assert sponsor.kind == "distributor" and sponsor.joined_at <= m.joined_at
            else:
                assert m.owner_id is not None and members[m.owner_id].kind == "distributor"
            if m.referrer_id is not None:
                assert members[m.referrer_id].joined_at <= m.joined_at
        packs = {p.id for p in s.scalars(select(Product).where(Product.is_enrollment_pack))}
        for line in s.scalars(select(OrderLine)):
            assert (line.volume_kind == "promotional") == (line.product_id in packs)
            assert line.amount == line.unit_price * line.quantity
        assert s.scalar(select(func.count()).select_from(Order)) > 600
        upgrades = s.scalar(select(func.count()).select_from(GenealogyChange)) or 0
        assert upgrades % 3 == 0


def test_same_seed_builds_the_same_company(engine: Engine, tmp_path: object) -> None:
    from patronage.db.engine import make_engine
    from patronage.db.schema import upgrade

    other = make_engine(f"sqlite:///{tmp_path}/other.db")
    upgrade(other)
    _build(engine)
    _build(other)

    def fingerprint(e: Engine) -> list[tuple[object, ...]]:
        with e.connect() as c:
            return [tuple(r) for r in c.execute(select(
                Order.id, Order.buyer_id, Order.total, Order.source).order_by(Order.id))]

    assert fingerprint(engine) == fingerprint(other)
    other.dispose()


def test_building_into_a_database_with_members_is_refused(engine: Engine) -> None:
    _build(engine)
    with pytest.raises(PatronageError, match="already holds 600 members"):
        _build(engine)


def test_demo_runs_the_main_job_closing_every_past_month(engine: Engine) -> None:
    from patronage.clock import Period, Week
    from patronage.compensation.runs import rerun_committed
    from patronage.db.compensation import CommissionRun
    from patronage.demo.build import build_demo

    # Four months of history up to mid-November: July (part) to October close, November open.
    summary = build_demo(engine, seed=4, members=500, months=4,
                         now=datetime(2026, 11, 15, 12, tzinfo=UTC))
    assert summary.extra["commission periods committed"] == 4
    with transaction(engine) as s:
        periods = s.scalars(select(CommissionRun.period).where(CommissionRun.calendar == "month")
                            .order_by(CommissionRun.period)).all()
        weeks = s.scalars(select(CommissionRun.period).where(CommissionRun.calendar == "week")
                          .order_by(CommissionRun.period)).all()
    assert periods == ["2026-07", "2026-08", "2026-09", "2026-10"]
    # The leaders' plan, from October, pays its fast start by the week: every week that ended
    # is committed (the first from 1 October on), and the weeks paid fast start only.
    assert weeks == [f"2026-W{n}" for n in range(40, 46)]
    assert summary.extra["weeks committed (fast start paid by the week)"] == 6
    assert summary.extra["commissions paid in the weeks"] != "0.00"
    from patronage.compensation.committed import locked_run

    paying = 0
    for week in weeks:
        found = locked_run(engine, Week.parse(week))
        assert found is not None and set(found.by_bonus) <= {"fast_start"}
        paying += bool(found.by_bonus)
    october = locked_run(engine, Period(2026, 10))
    assert october is not None and "fast_start" not in october.by_bonus
    # The example plan is the company's stored plan, in force from the first month on.
    from patronage.compensation.core.plan import default_plan_path
    from patronage.compensation.plan_versions import plan_history
    from patronage.demo.build import (
        LEADERSHIP_BONUSES,
        weekly_fast_start,
        with_compliance_rule,
        with_leadership_bonuses,
    )

    example = default_plan_path().read_text(encoding="utf-8")
    leading = with_leadership_bonuses(example)
    leaders = weekly_fast_start(
        (default_plan_path().parent / "leaders.toml").read_text(encoding="utf-8"))
    leaders = leaders.replace('version = "2026.3"', 'version = "2026.3-leadership"',
                              1) + LEADERSHIP_BONUSES
    history = [(e.plan.effective_from, e.plan.text, e.until) for e in plan_history(engine)]
    assert history[:4] == [
        ("2026-06", example, "2026-08"), ("2026-08", leading, "2026-09"),
        ("2026-09", with_compliance_rule(leading), "2026-10"), ("2026-10", leaders, "2026-11")]
    # From the open month on the leaders' plan also pays the hybrid plan's binary bonus: the
    # distributor who joins through the demo distributor's link is placed at once.
    assert history[4][0] == "2026-11" and history[4][2] is None
    assert history[4][1].startswith(leaders.replace('version = "', 'version = "binary-', 1))
    assert "[bonuses.binary]" in history[4][1]
    assert summary.extra["distributors placed on joining through the shop"] == 1
    # The last closed month ran the leaders' plan: rates by rank and a matching bonus, paid.
    assert summary.extra["2026-10: matching paid (leaders' plan)"] != "0.00"
    # Its stair-step pays breakaway generations by the earner's rank.
    assert summary.extra["2026-10: generation paid (leaders' plan)"] != "0.00"
    same, run = rerun_committed(engine, Period.parse(periods[-1]))
    assert same and run.result.payouts.size > 0
    # Distributors are placed in a binary tree; the binary hybrid plan is run as a what-if
    # over the last three committed months, and pays a binary bonus.
    assert summary.extra["distributors placed in the binary tree"] > 0
    assert run.facts.placement is not None
    what_if = [k for k in summary.extra if k.startswith("what-if 2026-")]
    assert len(what_if) == 3
    assert all("binary 0.00" not in str(summary.extra[k]) for k in what_if)
    by_rank = [k for k in summary.extra if k.startswith("what-if by rank over 3 months: ")]
    assert "what-if by rank over 3 months: Associate" in by_rank, by_rank
    from patronage.db.value import CustomerValue, ValueRun

    with transaction(engine) as s:
        runs = s.scalars(select(ValueRun).order_by(ValueRun.as_of)).all()
        valued = s.scalar(select(func.count()).select_from(CustomerValue)
                          .where(CustomerValue.run_id == runs[-1].id))
    assert [r.as_of.astimezone(UTC) for r in runs] == [datetime(2026, 10, 16, 12, tzinfo=UTC),
                                                       datetime(2026, 11, 15, 12, tzinfo=UTC)]
    assert valued is not None and valued >= summary.extra["customers valued"] > 0
    # The demo company passes the integrity check: every reference resolves, every committed
    # run replays, every subscription is where the daily run left it, no touch is left late.
    from patronage.integrity import check_integrity

    report = check_integrity(engine, datetime(2026, 11, 15, 12, tzinfo=UTC))
    assert report.findings == []
    assert summary.extra["care emails sent (simulated outbox)"] > 0
    # The compliance story: where the volume came from and the year's income disclosure,
    # every distributor counted.
    with transaction(engine) as s:
        distributors = s.scalar(select(func.count()).select_from(Member)
                                .where(Member.kind == "distributor"))
    # (the people who join through share links afterwards, and the house account, come later)
    assert 0 < summary.extra["income disclosure 2026: participants"] <= distributors
    assert summary.extra["volume bought by customers (12 months)"].endswith("%")
    # The last closed month ran with the customer-volume rule: some teams' pay was withheld.
    assert summary.extra["payments withheld by the customer-volume rule in 2026-10"] > 0
    # The demo's plans release withheld payments within two committed months: each withheld
    # amount is kept, pending or released, and the summary counts them.
    from patronage.compensation.withheld import PENDING, RELEASED, withheld_summary

    kept = withheld_summary(engine, limit=5)
    assert kept.counts[PENDING] + kept.counts[RELEASED] > 0
    assert summary.extra["withheld amounts pending release"].startswith(
        f"{kept.counts[PENDING]} (")
    assert summary.extra["withheld amounts released"].startswith(f"{kept.counts[RELEASED]} (")
    # A distributor loaded up on inventory just before October closed, and is flagged; the
    # agreement's new version was accepted by part of the field; a buy-back was made in the
    # open month, whose run claws back the commissions paid on that order.
    from patronage.compensation.runs import preview_period
    from patronage.compliance.loading import load_loading_flags
    from patronage.db.compliance import BuyBack
    from patronage.db.shop import AgreementAcceptance as Accepted

    assert summary.extra["distributors flagged for inventory loading in 2026-10"] > 0
    flagged = {f.member_id for f in load_loading_flags(engine, Period(2026, 10))}
    with transaction(engine) as s:
        planted = s.scalar(select(Order.buyer_id).where(Order.idempotency_key == "demo:loading"))
        back = s.scalars(select(BuyBack)).one()
        accepted = s.scalar(select(func.count()).select_from(Accepted)
                            .where(Accepted.version == "2026-2"))
    assert planted in flagged
    # The other patterns, planted: a return three days after a rank rose, one address for a
    # distributor and another's customer (cleared by staff), one card saved by two distributors.
    from patronage.compliance.flags import FlagRules, load_flags
    from patronage.db.tables import Refund
    from patronage.demo.compliance import CLEARED_NOTE

    for kind, least in (("rank returns", 1), ("shared address", 1), ("shared card", 2)):
        assert summary.extra[f"compliance flags in 2026-10: {kind}"] >= least, kind
    from patronage.clock import DEFAULT_COMPANY_ZONE, zone

    flags = load_flags(engine, Period(2026, 10), FlagRules(), zone(DEFAULT_COMPANY_ZONE))
    with transaction(engine) as s:
        returned = s.scalars(select(Refund.order_id)
                             .where(Refund.idempotency_key == "demo:rank-return")).one()
    assert any(r.order_id == returned for f in flags if f.kind == "rank_returns"
               for r in f.refunds)
    assert [f.cleared_note for f in flags if f.kind == "shared_address"] == [CLEARED_NOTE]
    assert {f.shared for f in flags if f.kind == "shared_card"} == {"visa •••• 4242"}
    assert back.share_bp == 9000 and back.amount > 0
    assert accepted is not None and accepted >= summary.extra[
        "distributors who accepted agreement 2026-2"] > 0
    november = preview_period(engine, Period(2026, 11))
    assert any(c.source_id == back.order_id for c in november.clawbacks) or \
        not _paid_on(engine, back.order_id)
    with transaction(engine) as s:
        kept = s.scalar(select(func.count()).select_from(RewardMixRecord))
    assert kept is not None and kept >= 4  # at least the every-earner row of each month
    # Money out: every committed month posted, a prize approved by a second staff member,
    # holds with reasons, the latest pay date's batch and one returned payment.
    from patronage.db.payouts import LedgerEntry, PayoutAdjustment, PayoutPayment
    from patronage.payouts.holds import open_holds

    with transaction(engine) as s:
        posted = s.scalars(select(func.count(func.distinct(LedgerEntry.source_id)))
                           .where(LedgerEntry.kind == "earned")).one()
        prize = s.scalars(select(PayoutAdjustment)).one()
        returned = s.scalars(select(PayoutPayment).where(PayoutPayment.status == "returned")
                             ).all()
        holds = open_holds(s)
    assert posted == 4 + paying  # the weeks that paid anything, too
    assert prize.status == "posted" and prize.decided_by != prize.created_by
    assert len(returned) == 1 and {h.reason for h in holds} == {"manual", "returned"}
    assert str(summary.extra["payout batch"]).startswith("2026-11-15: ")
    # People joined through share links, some through a customer's link (the referrer).
    from patronage.db.shop import Attribution, Checkout, Lead

    assert summary.extra["people who joined through share links"] == 10
    with transaction(engine) as s:
        attributed = s.scalars(select(Attribution)).all()
        assert len(attributed) == 10 and not any(a.house_fallback for a in attributed)
        assert sum(a.referrer_id is not None for a in attributed) == 5  # 4 links + 1 lead
        assert s.scalar(select(func.count()).select_from(Checkout)) == 10
        lead = s.scalar(select(Lead))
        assert lead is not None and lead.joined_member_id is not None
    # The demo distributor has cards of their own to print (the outbox sent the others).
    assert summary.extra["cards left for the demo distributor to print"] > 0
    # One simulation of its own plan, kept for the staff pages, and a what-if replay on its
    # committed months.
    from patronage.simulator.service import list_simulations

    sims = list_simulations(engine)
    assert [s.id for s in sims] == [summary.extra["simulation kept (staff: /company/simulations)"]]
    # The plan in force: the leaders' plan with the binary bonus, from the open month.
    assert sims[0].months == 60 and sims[0].plan_text == history[4][1]
    assert sims[0].last.distributors == summary.extra[
        "simulated distributors after 60 months"] > 0
    replayed = summary.extra["replay of the example plan without the compliance rule: payout "
                             "ratio committed → replayed"]
    assert str(replayed).endswith("over 4 months")
    hybrid = summary.extra["replay of the binary-hybrid plan: payout ratio committed → replayed"]
    assert str(hybrid).endswith("over 4 months")


def _paid_on(engine: Engine, order_id: int) -> bool:
    """Whether a committed run paid a commission on the order."""
    from patronage.db.compensation import PayoutLine

    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(PayoutLine).where(
            PayoutLine.source_kind == "order", PayoutLine.source_id == order_id)) != 0


def test_the_demo_command_ends_with_the_check(engine: Engine, db_url: str) -> None:
    import json

    from typer.testing import CliRunner

    from patronage.cli.main import app

    args = ["--db", db_url, "demo", "--no-serve", "--json", "--members", "300", "--months", "2",
            "--now", "2026-11-15T12:00:00+00:00", "--seed", "5"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    check = json.loads(done.output)["check"]
    assert check["ok"] is True and check["findings"] == []
    assert set(check["seconds"]) == {"references", "commission runs", "earnings ledger",
                                     "open volumes", "subscriptions", "care touches"}
    # Again with --reset: the tables (and the members a trigger keeps from being deleted)
    # are dropped and made anew.
    again = CliRunner().invoke(app, [*args, "--reset"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["check"]["ok"] is True


def test_demo_company_sells_in_four_markets_in_their_currencies(engine: Engine) -> None:
    _build(engine)
    with transaction(engine) as s:
        markets = {m.code: m for m in s.scalars(select(Market))}
        assert {c: m.currency for c, m in markets.items()} == {
            "US": "USD", "CA": "CAD", "GB": "GBP", "MX": "MXN"}
        assert markets["MX"].languages == "es-MX"
        by_market = dict(s.execute(select(Market.code, func.count()).join(
            Member, Member.market_id == Market.id).group_by(Market.code)).all())
        assert set(by_market) == {"US", "CA", "GB", "MX"}
        assert set(s.scalars(select(Member.locale).join(Market, Member.market_id == Market.id)
                             .where(Market.code == "MX"))) == {"es-MX"}
        # Every order is in its buyer's market's currency.
        wrong = s.scalar(select(func.count()).select_from(Order)
                         .join(Member, Member.id == Order.buyer_id)
                         .join(Market, Market.id == Member.market_id)
                         .where(Order.currency != Market.currency))
        assert wrong == 0
        assert set(s.scalars(select(Order.currency))) == {"USD", "CAD", "GBP", "MXN"}
        assert set(s.scalars(select(ExchangeRate.currency))) == {"CAD", "GBP", "MXN"}


def test_demo_contacts_are_valid_in_each_members_country(engine: Engine) -> None:
    """Mexican customers have Mexican numbers (shown nationally to a Mexican viewer), and every
    phone, region and postal code passes the checks of the doors."""
    from patronage.markets.core.contacts import check_address, display_phone, phone_problem

    _build(engine)
    with transaction(engine) as s:
        members = list(s.scalars(select(Member)))
    assert members and all(m.phone for m in members)
    for m in members:
        assert phone_problem(m.phone or "", m.country) == (m.phone, None), (m.id, m.phone)
        assert check_address(m.country, m.region, m.postal_code) == (m.region, m.postal_code)
    mexican = next(m for m in members if m.country == "MX" and m.kind != "distributor")
    assert mexican.phone is not None and mexican.phone.startswith("+5255")
    assert display_phone(mexican.phone, "MX").startswith("55 ")
    assert display_phone(mexican.phone, "US").startswith("+52 55 ")


def test_the_demo_builds_on_the_monday_after_a_committed_week(engine: Engine) -> None:
    """Early on a Monday the week before is committed inside the open month: the demo's
    gifts and the orders of customers who respond to care are dated from the open week on."""
    from patronage.clock import DEFAULT_COMPANY_ZONE
    from patronage.demo.build import build_demo
    from patronage.orders.open_period import open_window

    now = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
    build_demo(engine, seed=7, members=1500, months=18, now=now)
    with transaction(engine) as s:
        window = open_window(s, now, company_zone=DEFAULT_COMPANY_ZONE)
        assert str(window.last_committed) == "2026-W49"
        responses = s.scalars(select(Order.placed_at).where(
            Order.idempotency_key.like("demo-response-%"))).all()
    assert all(r.replace(tzinfo=UTC) >= window.since for r in responses)
