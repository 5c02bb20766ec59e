"""The demo's compliance story beyond the figures: a distributor who loads inventory just
before the last month closes (flagged), a published agreement version that the demo distributor
and part of the field accepted, the company's own forbidden phrase, and a buy-back of resaleable
inventory (its commissions clawed back by the open month's run)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

import numpy as np
from sqlalchemy import Engine, func, select

from patronage.clock import Period
from patronage.compliance.agreements import accept, publish_version
from patronage.compliance.buyback import ReturnRules, buy_back
from patronage.compliance.claims import add_claim
from patronage.db.compensation import CommissionRun, RankRecord
from patronage.db.engine import transaction
from patronage.db.tables import Member, Order, OrderLine, Product
from patronage.demo.field import demo_distributor
from patronage.orders.orders import LineRequest, NewOrder, place_order

#: The agreement version the demo company published during the last month.
DEMO_AGREEMENT = "2026-2"
DEMO_AGREEMENT_TEXT = """You run your own business. You are paid on what your customers buy,
never for recruiting anyone.

Buy only what you will use or sell in the coming month: at least 70% of what you buy each month
is used by you or sold to customers.

You may return resaleable products bought in the last twelve months for 90% of what you paid,
and cancel your enrollment within 14 days of joining for a full refund.

Say nothing about what anyone earns beyond the company's income disclosure, and nothing about
products curing, treating or preventing any disease."""
#: Of the distributors, about this share accepted the new version already.
ACCEPTED_SHARE = 0.4


class LoadingPlant:
    """Before the month ``target`` is committed: of the distributors with a record in at least
    two of the three committed months before (so the flag can judge them), the one serving the
    fewest customers buys forty times a product their orders held, an hour before the month
    ends (the flag the compliance page shows)."""

    def __init__(self, engine: Engine, target: Period, tz: tzinfo) -> None:
        self.engine, self.target, self.tz = engine, target, tz
        self.member_id: int | None = None

    def __call__(self, period: Period) -> None:
        if period != self.target or self.member_id is not None:
            return
        before = [period.previous(), period.previous().previous(),
                  period.previous().previous().previous()]
        at = period.end(self.tz) - timedelta(hours=1)
        with transaction(self.engine) as s:
            known = s.execute(
                select(RankRecord.member_id, func.count())
                .join(CommissionRun, CommissionRun.id == RankRecord.run_id)
                .where(CommissionRun.period.in_([str(p) for p in before]))
                .group_by(RankRecord.member_id).having(func.count() >= 2)).all()
            judged = [int(m) for m, _ in known]
            if not judged:
                return
            served = dict(s.execute(
                select(Member.owner_id, func.count()).where(Member.owner_id.in_(judged))
                .group_by(Member.owner_id)).all())
            active = set(s.scalars(select(Member.id).where(
                Member.id.in_(judged), Member.kind == "distributor", Member.status == "active")))
            for buyer in sorted(active, key=lambda m: (served.get(m, 0), m)):
                sku = s.scalar(
                    select(Product.sku).join(OrderLine, OrderLine.product_id == Product.id)
                    .join(Order, Order.id == OrderLine.order_id)
                    .where(Order.credited_to_id == buyer, Order.source != "enrollment",
                           Product.is_enrollment_pack.is_(False))
                    .order_by(Order.placed_at.desc(), OrderLine.id).limit(1))
                if sku is None:
                    continue
                place_order(s, NewOrder(buyer, at, [LineRequest(sku, 40)],
                                        idempotency_key="demo:loading"), now=at)
                self.member_id = buyer
                return


def compliance_story(engine: Engine, now: datetime, *, seed: int,
                     company_zone: str) -> dict[str, int | str]:
    """The agreement version, its acceptances, a forbidden phrase and a buy-back; returns the
    summary's lines."""
    rng = np.random.default_rng(seed + 23)
    published = now - timedelta(days=10)
    out: dict[str, int | str] = {}
    with transaction(engine) as s:
        publish_version(s, DEMO_AGREEMENT, "Distributor agreement and policies",
                        DEMO_AGREEMENT_TEXT, now=published)
        people = [int(m) for m in s.scalars(select(Member.id).where(
            Member.kind == "distributor", Member.status.in_(("active", "inactive")))
            .order_by(Member.id))]
        chosen = [m for m in people if rng.random() < ACCEPTED_SHARE]
        mine = demo_distributor(s)
        if mine is not None and mine not in chosen:
            chosen.append(mine)
        for n, member in enumerate(chosen):
            accept(s, member, DEMO_AGREEMENT, now=published + timedelta(minutes=7 * n + 5),
                   ip="203.0.113.10", user_agent="demo field app")
        out[f"distributors who accepted agreement {DEMO_AGREEMENT}"] = len(chosen)
        add_claim(s, "be your own boss and earn", "income",
                  "implies earnings a participant cannot count on", now=published)
        # A buy-back: the resaleable part of a distributor's own order of the last months.
        window = now - timedelta(days=120)
        candidate = s.execute(
            select(Order.id, Order.buyer_id).join(Member, Member.id == Order.buyer_id)
            .where(Member.kind == "distributor", Member.status == "active",
                   Order.status == "paid", Order.source == "one_time",
                   Order.placed_at >= window, Order.placed_at < now - timedelta(days=30),
                   Order.total > 0)
            .order_by(func.abs(Order.id % 97 - seed % 97), Order.id).limit(1)).first()
        if candidate is not None:
            done = buy_back(s, int(candidate.buyer_id), int(candidate.id), now=now,
                            rules=ReturnRules(), key="demo-buy-back",
                            note="unopened boxes, returned by post",
                            company_zone=company_zone)
            out["buy-backs (90% of the net price)"] = 1
            out["buy-back refunded"] = f"{done.amount / 100:,.2f} {done.currency}"
    return out


#: The notes the demo's staff left on the flag they cleared.
CLEARED_NOTE = "one household: a couple, each with their own business; checked their orders"


def plant_flags(engine: Engine, now: datetime, *, company_zone: str) -> dict[str, int | str]:
    """The other loading patterns, planted on purpose once every closed month is committed: a
    distributor whose paid-as rank rose in the last closed month returns an order of that month
    three days after it closed; a distributor and another distributor's customer share one
    address (spelt differently); two distributors saved one card. Staff cleared the shared
    address after a look. Returns the summary's lines: the flags of the last month by kind."""
    from patronage.clock import zone
    from patronage.compliance.flags import KINDS, SHARED_ADDRESS, FlagRules, clear_flag, load_flags
    from patronage.db.payments import CardFingerprint, PaymentMethod
    from patronage.orders.open_period import open_window
    from patronage.orders.refunds import RefundRequest, refund_order

    tz = zone(company_zone)
    with engine.connect() as conn:
        periods = [Period.parse(p) for p in conn.scalars(
            select(CommissionRun.period).where(CommissionRun.calendar == "month")
            .order_by(CommissionRun.period.desc()).limit(2))]
    if len(periods) < 2:
        return {}
    last, before = periods
    with transaction(engine) as s:
        mine = demo_distributor(s)
        ranks = {period: dict(s.execute(
            select(RankRecord.member_id, RankRecord.paid_as)
            .join(CommissionRun, CommissionRun.id == RankRecord.run_id)
            .where(CommissionRun.period == str(period))).all()) for period in (last, before)}
        risers = sorted(m for m, r in ranks[last].items()
                        if r > ranks[before].get(m, -1) and m != mine)
        # Three days after the month closed, or as soon after as the open window allows (the
        # weeks of a plan paying by the week may be committed already).
        opens = open_window(s, now, company_zone=company_zone).since
        returned_at = min(max(last.end(tz) + timedelta(days=3), opens + timedelta(hours=1)),
                          now - timedelta(hours=1))
        if last.end(tz) <= returned_at and opens <= returned_at:
            for riser in risers:
                order = s.scalar(
                    select(Order.id).join(OrderLine, OrderLine.order_id == Order.id)
                    .where(Order.buyer_id == riser, Order.status == "paid",
                           Order.placed_at >= last.start(tz), Order.placed_at < last.end(tz),
                           OrderLine.cv > 0).order_by(Order.id).limit(1))
                if order is None:
                    continue
                refund_order(s, RefundRequest(order, returned_at, "returned: changed my mind",
                                              idempotency_key="demo:rank-return"),
                             now=now, company_zone=company_zone)
                break
        # One address, two accounts: a distributor and another distributor's customer.
        people = list(s.scalars(select(Member).where(
            Member.kind == "distributor", Member.status == "active",
            Member.address_line1.is_not(None), Member.id != (mine or 0))
            .order_by(Member.id).limit(3)))
        if len(people) == 3:
            home = people[0]
            guest = s.scalar(select(Member).where(
                Member.kind != "distributor", Member.status == "active",
                Member.owner_id.is_not(None), Member.owner_id != home.id)
                .order_by(Member.id).limit(1))
            if guest is not None:
                guest.address_line1 = (home.address_line1 or "").upper()
                guest.address_line2 = home.address_line2
                guest.postal_code, guest.city = home.postal_code, home.city
                guest.region, guest.country = home.region, home.country
            # One card, saved by two distributors.
            for n, who in enumerate(people[1:]):
                ref = f"pm_demo_shared_{n + 1}"
                s.add(PaymentMethod(member_id=who.id, provider="demo", method_ref=ref,
                                    brand="visa", last4="4242", exp_month=9, exp_year=2029,
                                    status="removed", created_at=now - timedelta(days=40 + n)))
                s.add(CardFingerprint(method_ref=ref, fingerprint="demo-card-shared"))
    flags = load_flags(engine, last, FlagRules(), tz)
    with transaction(engine) as s:
        for f in flags:
            if f.kind == SHARED_ADDRESS:
                clear_flag(s, f.member_id, f.subject, CLEARED_NOTE, by="compliance desk",
                           now=now, kind=f.kind)
                break
    return {f"compliance flags in {last}: {kind.replace('_', ' ')}":
            sum(1 for f in flags if f.kind == kind) for kind in KINDS}
