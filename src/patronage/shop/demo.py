"""The demo company's shop history: people who joined through share links.

The demo distributor (:func:`patronage.demo.field.demo_distributor`, whom the demo signs in as)
and two of their customers share their links; a dozen people open them and buy once, start an
autoship, become preferred customers or join as a distributor, some through the customers'
links (the customer credited as referrer), one after a customer passed them on as a lead. Every
checkout goes through the real checkout (the simulated gateway approves the charges)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from patronage.autoship.gateway import SimulatedGateway
from patronage.db.engine import transaction
from patronage.db.tables import Member, Product
from patronage.demo.field import demo_distributor
from patronage.markets.markets import default_market, shipping_countries
from patronage.shop.checkout import CheckoutForm, ShopRules, Visitor, checkout
from patronage.shop.core.tax import FlatRateTax
from patronage.shop.leads import pass_on_lead
from patronage.shop.links import share_code

#: (first name, plan, whose link: "d" the distributor, "c1"/"c2" a customer, "lead" passed on)
SIGN_UPS = (
    ("Harper", "once", "d"), ("Rowan", "autoship", "d"), ("Ellis", "preferred", "d"),
    ("Sasha", "once", "c1"), ("Milo", "autoship", "c1"), ("Iris", "preferred", "c2"),
    ("Theo", "once", "c2"), ("Wren", "autoship", "d"), ("Jonah", "enroll", "d"),
    ("Lena", "once", "lead"),
)


def join_through_links(engine: Engine, now: datetime, *, seed: int = 0,
                       company_zone: str = "UTC") -> int:
    """Add the sign-ups; returns how many joined (none when the company has no distributor
    with customers on autoship)."""
    with transaction(engine) as s:
        found = demo_distributor(s)
        if found is None:
            return 0
        distributor = found
        customers = list(s.scalars(select(Member.id).where(
            Member.owner_id == distributor, Member.status == "active",
            Member.kind != "distributor").order_by(Member.joined_at, Member.id).limit(2)))
        if len(customers) < 2:
            return 0
        codes = {"d": share_code(s, distributor, now=now),
                 "c1": share_code(s, customers[0], now=now),
                 "c2": share_code(s, customers[1], now=now)}
        market = default_market(s)
        country = (shipping_countries(market) or [market.code])[0]
        skus = list(s.scalars(select(Product.sku).where(
            Product.active.is_(True), Product.is_enrollment_pack.is_(False))
            .order_by(Product.id).limit(3)))
        pack = s.scalar(select(Product.sku).where(Product.active.is_(True),
                                                  Product.is_enrollment_pack.is_(True))
                        .order_by(Product.id).limit(1))
        pass_on_lead(s, customers[0], "Lena Lead", f"lena.{seed}@demo.patronage.example", "",
                     now=now - timedelta(minutes=30))
    if not skus:
        return 0
    gateway = SimulatedGateway(engine, decline_rate=0.0, seed=seed)
    rules = ShopRules(tax=FlatRateTax({}), company_zone=company_zone)
    joined = 0
    for i, (name, plan, via) in enumerate(SIGN_UPS):
        email = (f"lena.{seed}@demo.patronage.example" if via == "lead"
                 else f"{name.lower()}.{seed}@demo.patronage.example")
        form = CheckoutForm(
            key=f"demo-shop-{seed}-{i:04d}-join", plan=plan, first_name=name,
            last_name="Linkton", email=email, phone=f"+1 312 555 01{i:02d}",
            address_line1=f"{10 + i} Market Street", city="Springfield", region="IL",
            postal_code="62701", country=country, autoship_day=str(5 + i),
            agreement=plan == "enroll", pack=pack or "")
        cart = {} if plan == "enroll" else {skus[i % len(skus)]: 1 + i % 2}
        checkout(engine, form, cart, Visitor(code=codes.get(via), ip="127.0.0.1",
                                             user_agent="demo"),
                 gateway, rules, now=now - timedelta(minutes=len(SIGN_UPS) - i))
        joined += 1
    return joined
