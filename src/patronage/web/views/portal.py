"""The customer portal's reads and small self-service changes: profile, consent, testimonial,
progress toward the referral reward."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patronage import audit
from patronage.care import testimonials
from patronage.compensation.core.bonuses import customer_referral
from patronage.compensation.runs import PlanSource
from patronage.credit.ledger import CreditSummary, summary
from patronage.db.autoship import Subscription, SubscriptionItem
from patronage.db.care import Testimonial
from patronage.db.tables import CONSENT_CHANNELS, Member, Order, OrderLine, Product
from patronage.errors import PatronageError
from patronage.markets.core.contacts import check_address
from patronage.markets.markets import market_of
from patronage.markets.prices import prices_in
from patronage.money import round_half_away
from patronage.network.members import (
    check_birthday,
    consents_in_force,
    get_member,
    market_country,
    record_consent,
)

ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "region", "postal_code", "country")


@dataclass
class ReferralProgress:
    needed: int
    ordered: int
    referred: int
    estimate: int  # credit if reached now, minor units
    cap: int


@dataclass(frozen=True)
class AutoshipLine:
    """One line of an autoship as the customer sees it: the product by name, at their price."""

    sku: str
    name: str
    quantity: int
    unit_price: int  # minor units, what this member pays for one
    amount: int


def subscriptions(session: Session, member_id: int) -> list[tuple[Subscription,
                                                                  list[AutoshipLine]]]:
    """The member's autoships with their lines, named and priced as the next delivery charges
    them in the member's market (retail customers the retail price, everyone else the wholesale
    price)."""
    member = get_member(session, member_id)
    subs = list(session.scalars(select(Subscription).where(Subscription.member_id == member_id)
                                .order_by(Subscription.id)))
    items: dict[int, list[AutoshipLine]] = {s.id: [] for s in subs}
    if subs:
        found = session.execute(
            select(SubscriptionItem, Product)
            .outerjoin(Product, Product.sku == SubscriptionItem.sku)
            .where(SubscriptionItem.subscription_id.in_(list(items)))
            .order_by(SubscriptionItem.id)).tuples()
        rows = list(found)
        market = market_of(session, member)
        prices = prices_in(session, market.id, [p.id for _, p in rows if p is not None])
        for item, product in rows:
            price = prices.get(product.id) if product is not None else None
            unit = 0 if price is None else (
                price.retail_price if member.kind == "retail" else price.wholesale_price)
            name = product.name if product is not None else item.sku
            items[item.subscription_id].append(AutoshipLine(
                item.sku, name, item.quantity, unit, unit * item.quantity))
    return [(s, items[s.id]) for s in subs]


@dataclass(frozen=True)
class PastLine:
    name: str
    quantity: int
    unit_price: int
    amount: int


@dataclass(frozen=True)
class PastOrder:
    """An order as its buyer sees it in their history: products by name, in its currency."""

    id: int
    placed_at: datetime
    source: str
    status: str
    currency: str
    total: int
    lines: list[PastLine]


def order_history(session: Session, member_id: int, *, limit: int = 12) -> list[PastOrder]:
    """The member's last ``limit`` orders, newest first, each with its lines (two queries: the
    orders through the buyer index, then their lines with the products' names)."""
    orders = list(session.scalars(
        select(Order).where(Order.buyer_id == member_id)
        .order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)))
    lines: dict[int, list[PastLine]] = {o.id: [] for o in orders}
    if orders:
        for line, name in session.execute(
                select(OrderLine, Product.name).join(Product, Product.id == OrderLine.product_id)
                .where(OrderLine.order_id.in_(list(lines))).order_by(OrderLine.id)).all():
            lines[line.order_id].append(
                PastLine(name, line.quantity, line.unit_price, line.amount))
    return [PastOrder(o.id, o.placed_at, o.source, o.status, o.currency, o.total, lines[o.id])
            for o in orders]


def consents(session: Session, member_id: int) -> dict[str, bool | None]:
    given = consents_in_force(session, member_id)
    return {c: given.get(c) for c in CONSENT_CHANNELS}


def change_consent(session: Session, member_id: int, channel: str, granted: bool, *,
                   actor: str, now: datetime, via: str) -> None:
    record_consent(session, member_id, channel, granted, at=now, method=via[:50])
    audit.record(session, actor=actor, action="consent.change", target=f"member {member_id}",
                 detail=f"{channel} {'granted' if granted else 'withdrawn'} via {via}", at=now)


def _int_or_none(text: str, place: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise PatronageError(f"{place}: {text!r} is not a whole number")
    return int(text)


def update_profile(session: Session, member_id: int, form: dict[str, str], *,
                   actor: str, now: datetime) -> None:
    """Birthday (month, day, optional year) and postal address, all checked before anything
    is written."""
    member = get_member(session, member_id)
    month = _int_or_none(form.get("birth_month", ""), "birthday month")
    day = _int_or_none(form.get("birth_day", ""), "birthday day")
    year = _int_or_none(form.get("birth_year", ""), "birthday year")
    if (month is None) != (day is None):
        raise PatronageError("birthday: give both the month and the day, or neither")
    check_birthday(month, day, year, "birthday")
    values = {f: (form.get(f, "").strip() or None) for f in ADDRESS_FIELDS}
    country = values["country"]
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise PatronageError(f"country: {country!r} is not a two-letter country code")
    for f, limit in (("address_line1", 200), ("address_line2", 200), ("city", 100),
                     ("region", 100), ("postal_code", 20)):
        if values[f] is not None and len(values[f] or "") > limit:
            raise PatronageError(f"{f.replace('_', ' ')}: at most {limit} characters")
    if country is not None:
        values["country"] = country = country.upper()
    place = country or market_country(market_of(session, member).code)
    values["region"], values["postal_code"] = check_address(place, values["region"],
                                                            values["postal_code"])
    member.birth_month, member.birth_day, member.birth_year = month, day, year
    for f in ADDRESS_FIELDS:
        setattr(member, f, values[f])
    audit.record(session, actor=actor, action="profile.change", target=f"member {member_id}",
                 detail="birthday and address", at=now)


def submit_testimonial(session: Session, member_id: int, text: str, *, consent: bool,
                       now: datetime) -> Testimonial:
    """A customer's story, waiting for moderation (published only with their consent)."""
    return testimonials.submit(session, member_id, text, consent_to_publish=consent, now=now)


def referral_progress(session: Session, member_id: int, start: datetime, end: datetime,
                      plan: PlanSource | None) -> ReferralProgress | None:
    """Customers the member referred who ordered in the period, against the reward of
    ``plan``, the plan in force (None when no plan is stored or it has no customer referral
    reward)."""
    rule = customer_referral.BONUS.section_of(plan.plan) if plan is not None else None
    if rule is None:
        return None
    referred = session.scalar(select(func.count()).select_from(Member).where(
        Member.referrer_id == member_id, Member.kind != "distributor")) or 0
    spends = [int(v) for _, v in session.execute(
        select(Order.buyer_id, func.sum(Order.total))
        .join(Member, Member.id == Order.buyer_id)
        .where(Member.referrer_id == member_id, Member.kind != "distributor",
               Order.status == "paid", Order.placed_at >= start, Order.placed_at < end)
        .group_by(Order.buyer_id)).all()]
    top = sorted(spends, reverse=True)[: rule.referrals]
    estimate = min(rule.cap, round_half_away(sum(top), rule.referrals)) if top else 0
    return ReferralProgress(rule.referrals, len(spends), int(referred), estimate, rule.cap)


def next_delivery(subs: list[tuple[Subscription, list[AutoshipLine]]]) -> int:
    """What the member's next autoship delivery costs (the earliest active one; 0: none)."""
    active = sorted((s.next_run, sum(i.amount for i in items)) for s, items in subs
                    if s.status == "active")
    return active[0][1] if active else 0


def credit_summary(session: Session, member_id: int, currency: str,
                   next_amount: int) -> CreditSummary | None:
    """The member's product credit against their next delivery (``None``: no credit)."""
    return summary(session, member_id, currency, next_amount)
