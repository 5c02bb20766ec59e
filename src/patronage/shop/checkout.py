"""Checkout: the cart priced in the visitor's market, checked, charged, and only then written.

The order of things, so that nothing is half-done and nothing is done twice:

1. the form is checked; every problem is reported next to its field and nothing happens;
2. the cart is priced as :func:`patronage.orders.orders.place_order` will price it (retail for
   a one-time buyer, wholesale for a preferred customer, an autoship customer and a
   distributor), plus the tax line (:mod:`patronage.shop.core.tax`);
3. the card is charged through the :class:`~patronage.autoship.gateway.PaymentGateway` with the
   key ``shop:<key>``, where ``<key>`` is the page's idempotency key (a hidden field made when
   the form was shown): a double click, a retry or a reload asks again with the same key, and
   the gateway answers the first answer without moving money again;
4. only on approval, in one transaction: the customer (or distributor) with their attribution,
   the checkout record under the key (unique: a concurrent twin of the request fails here and
   shows the first one's result), the order through the normal order path (volume kind and
   buyer class classified, idempotency key ``shop:<key>``), the autoship, the agreement
   acceptance and the confirmation email (a care email touch).

A decline writes nothing (the gateway keeps its own ledger); the page shows the reason and a new
key, so the next try is a new charge.

A price changed between the quote and the order (staff changed it while the shopper paid): the
order would not come to what was charged, so nothing is written, the charge is refunded in full
through the gateway (key ``shop-refund:<key>``, idempotent) and the shopper is told, with a new
key for the next try at the new price (:class:`PriceChanged`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine, Select, null, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.gateway import PaymentGateway
from patronage.autoship.subscriptions import Item, company_today, subscribe
from patronage.clock import DEFAULT_COMPANY_ZONE
from patronage.compensation.carry import place_on_enrollment
from patronage.compliance.agreements import current_version
from patronage.db.care import Contact, Touch
from patronage.db.engine import reading, transaction
from patronage.db.markets import Market, ProductPrice
from patronage.db.shop import AgreementAcceptance, Attribution, Checkout, Lead
from patronage.db.tables import Member, Order, OrderLine, Product
from patronage.errors import Conflict, PatronageError
from patronage.languages import N_, _
from patronage.languages.formatting import format_money
from patronage.markets.core.contacts import phone_problem, postal_problem, region_problem
from patronage.markets.markets import default_market, market_of, shipping_countries
from patronage.markets.prices import MarketPrice
from patronage.network.intake import normalise_email
from patronage.network.members import NewMember, enroll_member, market_country
from patronage.orders.core.pricing import price_lines
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.shop.core.attribution import Credit
from patronage.shop.core.cart import clean_cart
from patronage.shop.core.tax import TaxCalculator, TaxLine, TaxQuestion
from patronage.shop.links import credit_of

PLANS = ("once", "autoship", "preferred", "enroll")
#: The kind of member each plan makes of a new buyer.
KIND_OF_PLAN = {"once": "retail", "autoship": "preferred", "preferred": "preferred",
                "enroll": "distributor"}
KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
PHONE = re.compile(r"\+?[0-9 ()./-]{6,40}")


@dataclass
class CheckoutForm:
    """What the checkout page sends (every field a string, as typed)."""

    key: str
    plan: str = "once"
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    autoship_day: str = ""
    agreement: bool = False
    pack: str = ""
    #: What a card field (Stripe Elements) hands over; the simulated gateway needs none.
    payment_token: str = ""


@dataclass
class Visitor:
    """Who checks out: a signed-in member (or nobody), the share code their cookie keeps, the
    market they shop in, and their address and browser (stored with an agreement)."""

    member_id: int | None = None
    code: str | None = None
    market_code: str | None = None
    ip: str = ""
    user_agent: str = ""


@dataclass
class ShopRules:
    """The company's shop settings, passed in by the composition root.

    ``agreement_version`` is the version a new distributor accepts; ``None`` reads it when one
    enrolls: the newest the company published, else ``agreement_fallback`` (the settings')."""

    tax: TaxCalculator
    agreement_version: str | None = "2026-1"
    agreement_fallback: str = "2026-1"
    pack_required: bool = False
    company_zone: str = DEFAULT_COMPANY_ZONE
    company_name: str = "House"


@dataclass(frozen=True)
class QuoteLine:
    sku: str
    name: str
    quantity: int
    unit_price: int
    amount: int
    is_pack: bool = False


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: list[QuoteLine]
    subtotal: int
    tax: TaxLine

    @property
    def total(self) -> int:
        return self.subtotal + (self.tax.amount if self.tax.added else 0)


class FormProblems(PatronageError):
    """The form is refused: ``fields`` maps each field to its reason."""

    code = "invalid_form"

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class PriceChanged(Conflict):
    """The order came to another amount than the one charged: nothing written, the charge
    refunded (``refunded``: whether the gateway took it back; a gateway that cannot refund
    leaves it to staff, and the message says so)."""

    code = "price_changed"

    def __init__(self, message: str, refunded: bool = False) -> None:
        super().__init__(message)
        self.refunded = refunded


def _refund_charge(gateway: PaymentGateway, key: str, priced: Quote) -> bool:
    """Give back the whole charge of ``key`` through the gateway, if it refunds."""
    refund = getattr(gateway, "refund", None)
    if refund is None:
        return False
    answer = refund(f"shop-refund:{key.removeprefix('shop:')}", key, priced.total)
    return getattr(answer, "status", "succeeded") != "failed"


class PaymentDeclined(PatronageError):
    code = "payment_declined"

    def __init__(self, reason: str) -> None:
        super().__init__(f"payment: the card was declined ({reason}); nothing was charged and "
                         "no order was made")
        self.reason = reason


@dataclass
class Done:
    """A finished checkout (``created``: by this request; else found under its key)."""

    checkout_id: int
    member_id: int
    order_id: int | None
    subscription_id: int | None
    plan: str
    currency: str
    subtotal: int
    tax: int
    total: int
    created: bool = True
    owner_name: str = ""
    first_name: str = ""
    lines: list[QuoteLine] = field(default_factory=list)


def shop_market(session: Session, visitor: Visitor,
                markets: Sequence[Market] | None = None) -> Market:
    """The market a visitor shops in: a signed-in member's own; else the one chosen on the page;
    else the default market. ``markets``: every market, already read (none is read again)."""
    if visitor.member_id is not None:
        member = session.get(Member, visitor.member_id)
        if member is not None:
            if markets is not None and member.market_id is not None:
                for market in markets:
                    if market.id == member.market_id:
                        return market
            return market_of(session, member)
    if markets is not None:
        code = (visitor.market_code or "").upper()
        for market in markets:
            if code and market.code == code:
                return market
        for market in markets:
            if market.is_default:
                return market
        return default_market(session)  # none is the default: says so
    if visitor.market_code:
        found = session.scalar(select(Market).where(Market.code == visitor.market_code.upper()))
        if found is not None:
            return found
    return default_market(session)


@dataclass(frozen=True)
class ShopProduct:
    """An active product as the shop shows and prices it in one market (``price``: ``None`` when
    it has no price there, so it is not sold there)."""

    id: int
    sku: str
    name: str
    max_quantity: int
    is_enrollment_pack: bool
    volume_when_free: bool
    price: MarketPrice | None


def shop_products(session: Session, market_id: int,
                  skus: Sequence[str] | None = None) -> list[ShopProduct]:
    """The active products (of ``skus``; ``None``: all of them) with their price in the market,
    in one query, enrollment packs last, then by name."""
    query = select(
        Product.id, Product.sku, Product.name, Product.max_quantity, Product.is_enrollment_pack,
        Product.volume_when_free, ProductPrice.retail_price, ProductPrice.wholesale_price,
        ProductPrice.qv, ProductPrice.cv).outerjoin(
        ProductPrice, (ProductPrice.product_id == Product.id)
        & (ProductPrice.market_id == market_id)).where(Product.active.is_(True))
    if skus is not None:
        query = query.where(Product.sku.in_(sorted(set(skus))))
    rows = session.execute(query.order_by(Product.is_enrollment_pack, Product.name)).all()
    return [ShopProduct(int(r[0]), r[1], r[2], int(r[3]), bool(r[4]), bool(r[5]),
                        None if r[6] is None else
                        MarketPrice(int(r[6]), int(r[7]), int(r[8]), int(r[9])))
            for r in rows]


def buyer_kind(session: Session, buyer_id: int | None, plan: str) -> str:
    """The kind the order is priced for: an existing buyer's own kind; else the plan's."""
    if buyer_id is not None:
        member = session.get(Member, buyer_id)
        if member is not None:
            return member.kind
    return KIND_OF_PLAN.get(plan, "retail")


def returning_customer(session: Session, email: str | None) -> int | None:
    """An active customer with this email address (a returning customer, who keeps their
    owner), or ``None``."""
    if not email:
        return None
    return session.scalar(_returning(email))


def _returning(email: str) -> Select[int]:
    return select(Member.id).where(
        Member.email == email, Member.kind != "distributor", Member.status == "active") \
        .order_by(Member.id).limit(1)


def _key_and_buyer(session: Session, key: str, email: str | None) -> tuple[bool, int | None]:
    """Whether a checkout is stored under ``key``, and the returning customer with ``email``
    (``None``: none, or no email given), in one query."""
    row = session.execute(select(
        select(Checkout.id).where(Checkout.key == key).scalar_subquery(),
        _returning(email).scalar_subquery() if email else null())).one()
    return row[0] is not None, (None if row[1] is None else int(row[1]))


def quote(session: Session, market: Market, kind: str, cart: dict[str, int],
          tax: TaxCalculator, *, country: str = "", region: str = "",
          postal_code: str = "") -> Quote:
    """The cart priced for a buyer of ``kind`` in ``market`` (products without a price there
    are left out), with the tax line."""
    products = shop_products(session, market.id, list(cart)) if cart else []
    return price_cart({p.sku: p for p in products}, market, kind, cart, tax, country=country,
                      region=region, postal_code=postal_code)


def price_cart(products: Mapping[str, ShopProduct], market: Market, kind: str,
               cart: Mapping[str, int], tax: TaxCalculator, *, country: str = "",
               region: str = "", postal_code: str = "") -> Quote:
    """:func:`quote` on products already read (by SKU, priced in ``market``): lines in the
    cart's order, products not in ``products`` or without a price left out."""
    chosen: list[tuple[ShopProduct, MarketPrice, int]] = []
    for sku, quantity in cart.items():
        product = products.get(sku)
        if product is not None and product.price is not None:
            chosen.append((product, product.price, quantity))
    lines: list[QuoteLine] = []
    if chosen:
        priced = price_lines(
            retail=np.array([p.retail_price for _, p, _ in chosen], dtype=np.int64),
            wholesale=np.array([p.wholesale_price for _, p, _ in chosen], dtype=np.int64),
            qv=np.array([p.qv for _, p, _ in chosen], dtype=np.int64),
            cv=np.array([p.cv for _, p, _ in chosen], dtype=np.int64),
            quantity=np.array([q for _, _, q in chosen], dtype=np.int64),
            pays_retail=np.full(len(chosen), kind == "retail"),
            by_distributor=np.full(len(chosen), kind == "distributor"),
            promotional=np.array([p.is_enrollment_pack for p, _, _ in chosen]),
            volume_when_free=np.array([p.volume_when_free for p, _, _ in chosen]),
            unit_price=np.full(len(chosen), -1, dtype=np.int64))
        lines = [QuoteLine(p.sku, p.name, q, int(priced.unit_price[j]), int(priced.amount[j]),
                           p.is_enrollment_pack)
                 for j, (p, _, q) in enumerate(chosen)]
    tax_line = tax.tax(TaxQuestion(
        market=market.code, country=country, region=region, postal_code=postal_code,
        currency=market.currency, amounts=[line.amount for line in lines],
        tax_inclusive=market.tax_inclusive))
    return Quote(market.currency, lines, sum(line.amount for line in lines), tax_line)


def check_form(session: Session, form: CheckoutForm, cart: dict[str, int], market: Market,
               visitor: Visitor, rules: ShopRules,
               packs: set[str] | None = None) -> dict[str, str]:
    """Every problem of the form, by field (empty: fine). ``packs``: the SKUs of the active
    enrollment packs, already read (``None``: read here)."""
    problems: dict[str, str] = {}
    if not KEY.fullmatch(form.key):
        problems["key"] = N_("this form has expired; reload the page and try again")
    if form.plan not in PLANS:
        problems["plan"] = N_("choose one: buy once, autoship, preferred customer or "
                             "distributor")
    signed_in = visitor.member_id is not None
    if not signed_in:
        if not form.first_name.strip():
            problems["first_name"] = N_("your first name is needed")
        elif len(form.first_name.strip()) > 100:
            problems["first_name"] = N_("at most 100 characters")
        if len(form.last_name.strip()) > 100:
            problems["last_name"] = N_("at most 100 characters")
        if not form.email.strip():
            problems["email"] = N_("your email address is needed for the confirmation")
        else:
            try:
                normalise_email(form.email, place="email")
            except PatronageError as exc:
                problems["email"] = exc.message.removeprefix("email: ")
        country = form.country.strip().upper() or None
        if form.phone.strip() and not PHONE.fullmatch(form.phone.strip()):
            problems["phone"] = N_("digits, spaces and + ( ) - only")
        elif form.phone.strip():  # read in the shipping country, as the member is enrolled
            read_in = country if country and len(country) == 2 else market_country(market.code)
            _e164, reason = phone_problem(form.phone, read_in)
            if reason is not None:
                problems["phone"] = reason
        shipped_to = shipping_countries(market) or [market.code]
        if country in shipped_to:  # checked before the charge, as the enrolment checks them
            if form.region.strip():
                _region, reason = region_problem(form.region, country)
                if reason is not None:
                    problems["region"] = reason
            if form.postal_code.strip():
                _postal, reason = postal_problem(form.postal_code, country)
                if reason is not None:
                    problems["postal_code"] = reason
        for name, reason in (("address_line1", N_("the street and number are needed for the "
                                                  "delivery")),
                             ("city", N_("the city is needed for the delivery")),
                             ("postal_code", N_("the postal code is needed for the delivery"))):
            if not getattr(form, name).strip():
                problems[name] = reason
        countries = shipping_countries(market) or [market.code]
        if form.country.strip().upper() not in countries:
            problems["country"] = N_("choose one of the countries this shop delivers to")
    elif form.plan in ("enroll", "preferred"):
        problems["plan"] = N_("you are a member already: buy once or start an autoship")
    if form.plan == "autoship":
        day = form.autoship_day.strip()
        if not day.isdigit() or not 1 <= int(day) <= 28:
            problems["autoship_day"] = N_("choose a day of the month from 1 to 28")
    if packs is None:
        packs = set(session.scalars(select(Product.sku).where(
            Product.is_enrollment_pack.is_(True), Product.active.is_(True))))
    if form.plan == "enroll":
        if not form.agreement:
            problems["agreement"] = N_("please read and accept the distributor agreement")
        if form.pack and form.pack not in packs:
            problems["pack"] = N_("choose one of the packs shown")
        elif rules.pack_required and not form.pack:
            problems["pack"] = N_("an enrollment pack is required to join")
    elif not cart:
        problems["cart"] = N_("your cart is empty")
    if form.plan == "autoship" and any(s in packs for s in cart):
        problems["cart"] = N_("an enrollment pack cannot be on an autoship")
    return problems


def _cart_for(form: CheckoutForm, cart: dict[str, int]) -> dict[str, int]:
    lines = {s: q for s, q in cart.items()}
    if form.plan == "enroll" and form.pack:
        lines = {form.pack: 1, **{s: q for s, q in lines.items() if s != form.pack}}
    return lines


def _found(session: Session, key: str) -> Done | None:
    row = session.scalar(select(Checkout).where(Checkout.key == key))
    if row is None:
        return None
    buyer = session.get(Member, row.member_id)
    owner_id = None if buyer is None else (buyer.owner_id or buyer.sponsor_id)
    owner = session.get(Member, owner_id) if owner_id else None
    lines: list[QuoteLine] = []
    if row.order_id is not None:
        lines = [QuoteLine(sku, name, int(qty), int(unit), int(amount), bool(pack))
                 for sku, name, qty, unit, amount, pack in session.execute(
                     select(Product.sku, Product.name, OrderLine.quantity,
                            OrderLine.unit_price, OrderLine.amount, Product.is_enrollment_pack)
                     .join(Product, Product.id == OrderLine.product_id)
                     .where(OrderLine.order_id == row.order_id).order_by(OrderLine.id))]
    return Done(row.id, row.member_id, row.order_id, row.subscription_id, row.plan,
                row.currency, row.subtotal, row.tax, row.total, created=False,
                owner_name=owner.name if owner is not None else "",
                first_name=buyer.first_name if buyer is not None else "", lines=lines)


def _lead_for(session: Session, email: str | None, phone: str) -> Lead | None:
    digits = re.sub(r"\D", "", phone)[-10:]
    conds = []
    if email:
        conds.append(Lead.email == email.lower())
    if len(digits) >= 5:
        conds.append(Lead.phone_key == digits)
    if not conds:
        return None
    return session.scalar(select(Lead).where(or_(*conds), Lead.joined_member_id.is_(None))
                          .order_by(Lead.created_at.desc(), Lead.id.desc()).limit(1))


def _new_member(session: Session, form: CheckoutForm, visitor: Visitor, market: Market,
                now: datetime, rules: ShopRules) -> tuple[Member, Member | None]:
    """The new buyer, enrolled with their attribution, and the member serving them."""
    email = normalise_email(form.email)
    kind = KIND_OF_PLAN[form.plan]
    lead = _lead_for(session, email, form.phone)
    if lead is not None and not visitor.code:
        credit = Credit(lead.owner_id, lead.referrer_id, False)
    else:
        credit = credit_of(session, visitor.code, now=now, company=rules.company_name)
    if lead is not None and credit.house_fallback:
        # No usable link, but a customer passed this person on: her distributor serves them.
        credit = Credit(lead.owner_id, lead.referrer_id, False)
    referrer = credit.referrer_id
    if referrer is None and lead is not None:
        referrer = lead.referrer_id
    # Held here, so the enrolment's checks and the confirmation find it without reading it
    # again (the session keeps only what is referenced).
    owner = session.get(Member, credit.owner_id) if credit.owner_id is not None else None
    zone = market.timezone
    member = enroll_member(session, NewMember(
        kind=kind, first_name=form.first_name.strip(), last_name=form.last_name.strip(),
        email=email, phone=form.phone.strip() or None,
        sponsor_id=credit.owner_id if kind == "distributor" else None,
        owner_id=None if kind == "distributor" else credit.owner_id,
        referrer_id=referrer, timezone=zone, joined_at=now,
        locale=(market.languages.split(",")[0] or "en-US"),
        address_line1=form.address_line1.strip(), address_line2=form.address_line2.strip() or None,
        city=form.city.strip(), region=form.region.strip() or None,
        postal_code=form.postal_code.strip(), country=form.country.strip().upper(),
        channel="shop", consents={"email": True}, consent_method="shop checkout"), now=now,
        in_market=market)
    session.add(Attribution(member_id=member.id, code=visitor.code, owner_id=credit.owner_id,
                            referrer_id=referrer, house_fallback=credit.house_fallback, at=now))
    if lead is not None:
        lead.joined_member_id = member.id
        contact = session.get(Contact, lead.contact_id)
        if contact is not None:
            contact.member_id = member.id
    if kind == "distributor":
        version = rules.agreement_version or current_version(session, rules.agreement_fallback)
        session.add(AgreementAcceptance(member_id=member.id, version=version,
                                        accepted_at=now, ip=visitor.ip[:64],
                                        user_agent=visitor.user_agent[:1000]))
        session.flush()
        # In the placement tree at once, by the plan's rule or the side the link names.
        place_on_enrollment(session, member.id, at=now, actor="shop",
                            company_zone=rules.company_zone)
    return member, owner


def checkout(engine: Engine, form: CheckoutForm, cart: Mapping[str, int], visitor: Visitor,
             gateway: PaymentGateway, rules: ShopRules, *, now: datetime) -> Done:
    """Check, charge, then write (see the module's description). ``cart``: SKU → quantity as
    the visitor's cart holds it (what is not an active product at an allowed quantity is left
    out). Raises :class:`FormProblems` or :class:`PaymentDeclined`, having written nothing.

    What is read before the charge is read again, or checked, in the transaction that writes:
    the key (a twin), the buyer, the prices (the order prices itself; :class:`PriceChanged`)."""
    with reading(engine) as session:
        email = None
        if visitor.member_id is None and form.plan != "enroll":
            with suppress(PatronageError):  # a bad address is reported by check_form below
                email = normalise_email(form.email)
        stored, returning = _key_and_buyer(session, f"shop:{form.key}", email)
        if stored:
            found = _found(session, f"shop:{form.key}")
            if found is not None:
                return found
        market = shop_market(session, visitor)
        products = {p.sku: p for p in shop_products(session, market.id)}
        cleaned = clean_cart(cart, {s: p.max_quantity for s, p in products.items()})
        packs = {s for s, p in products.items() if p.is_enrollment_pack}
        problems = check_form(session, form, cleaned, market, visitor, rules, packs)
        if problems:
            raise FormProblems(problems)
        buyer_id = visitor.member_id if visitor.member_id is not None else returning
        kind = buyer_kind(session, buyer_id, form.plan)
        lines = _cart_for(form, cleaned)
        priced = price_cart(products, market, kind, lines, rules.tax,
                            country=form.country.strip().upper(), region=form.region.strip(),
                            postal_code=form.postal_code.strip())
        if lines and len(priced.lines) != len(lines):
            raise FormProblems({"cart": "a product in your cart is not sold in "
                                        f"{market.name} any more; remove it and try again"})
    key = f"shop:{form.key}"
    if priced.total > 0:
        answer = gateway.charge(key, buyer_id or 0, priced.total, priced.currency)
        if not answer.approved:
            raise PaymentDeclined(answer.decline or "declined")
    try:
        return _write(engine, form, lines, visitor, buyer_id, rules, market, priced, now)
    except PriceChanged as exc:
        if priced.total <= 0:
            raise
        refunded = _refund_charge(gateway, key, priced)
        amount = format_money(priced.total, priced.currency)
        told = (_("Prices changed while you paid: your card was refunded {amount} and no order "
                  "was made. Check the new total and pay again.") if refunded else
                _("Prices changed while you paid: no order was made, and the {amount} charged "
                  "will be refunded to your card. Check the new total and pay again."))
        raise PriceChanged(told.format(amount=amount), refunded) from exc
    except IntegrityError:
        with transaction(engine) as session:
            found = _found(session, key)
        if found is None:
            raise
        return found


def _write(engine: Engine, form: CheckoutForm, lines: dict[str, int], visitor: Visitor,
           buyer_id: int | None, rules: ShopRules, market: Market, priced: Quote,
           now: datetime) -> Done:
    """The checkout's records in one transaction. ``market`` is as read before the charge
    (its id, time zone and first language go to a new member); the prices are checked
    again by the order itself."""
    key = f"shop:{form.key}"
    with transaction(engine) as session:
        if session.get_bind().dialect.name == "sqlite":
            # Take the write lock first (a write that changes nothing takes it): a twin of this
            # request then waits for it here, instead of failing to write after reading.
            session.execute(text("UPDATE shop_checkouts SET id = id WHERE 0"))
            found = _found(session, key)
            if found is not None:
                return found
        # On PostgreSQL a twin that got past the read before the charge waits at the insert of
        # the checkout under its key, fails there once the first commits, and the caller
        # answers the first one's checkout (the IntegrityError below).
        owner: Member | None = None
        if buyer_id is not None:
            buyer = session.get(Member, buyer_id)
            if buyer is None:
                raise PatronageError(N_("member %(buyer_id)s does not exist"),
                                     values={"buyer_id": buyer_id})
        else:
            buyer, owner = _new_member(session, form, visitor, market, now, rules)
        row = Checkout(key=key, member_id=buyer.id, plan=form.plan, currency=priced.currency,
                       subtotal=priced.subtotal, tax=priced.tax.amount, total=priced.total,
                       tax_label=priced.tax.label, charge_key=key if priced.total else None,
                       created_at=now)
        session.add(row)
        session.flush()  # a concurrent twin of this request stops here
        order_id = None
        if lines:
            source = {"enroll": "enrollment", "autoship": "autoship"}.get(form.plan, "one_time")
            placed = place_order(session, NewOrder(
                buyer.id, now, [LineRequest(s, q) for s, q in lines.items()], source=source,
                currency=priced.currency, idempotency_key=key), now=now,
                company_zone=rules.company_zone)
            if placed.order.total != priced.subtotal:
                raise PriceChanged(f"checkout {form.key}: the order came to {placed.order.total}, "
                                   f"not the {priced.subtotal} charged; nothing was written")
            order_id = placed.order.id
        sub_id = None
        if form.plan == "autoship":
            start = company_today(now, rules.company_zone) + timedelta(days=1)
            sub = subscribe(session, buyer.id, [Item(s, q) for s, q in lines.items()],
                            Frequency("monthly", int(form.autoship_day)), start=start, now=now,
                            actor=f"shop checkout {form.key}", company_zone=rules.company_zone)
            sub_id = sub.id
            if order_id is not None:
                placed_order = session.get(Order, order_id)
                assert placed_order is not None
                placed_order.subscription_id = sub.id
        row.order_id, row.subscription_id = order_id, sub_id
        if order_id is not None and buyer.email:
            session.add(Touch(
                member_id=buyer.id, owner_id=buyer.owner_id or buyer.sponsor_id,
                rule_key="shop_confirmation", occasion="order", occasion_key=str(order_id),
                channel="email", template="order_confirmation", priority=100,
                status="planned", due_at=now, created_at=now,
                summary=f"order {order_id} confirmed"))
        session.flush()
        owner_id = buyer.owner_id or buyer.sponsor_id
        if owner is None or owner.id != owner_id:
            owner = session.get(Member, owner_id) if owner_id else None
        return Done(row.id, buyer.id, order_id, sub_id, form.plan, priced.currency,
                    priced.subtotal, priced.tax.amount, priced.total, created=True,
                    owner_name=owner.name if owner is not None else "",
                    first_name=buyer.first_name, lines=priced.lines)
