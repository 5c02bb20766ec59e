"""A price changed between the quote and the order, after the card was charged: no order, the
charge refunded through the Stripe adapter (against the local fake), the shopper told."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from patronage.db.engine import transaction
from patronage.db.markets import ProductPrice
from patronage.db.payments import PaymentCharge
from patronage.db.tables import Order, Product
from patronage.payments.settings import StripeKeys
from patronage.payments.stripe_gateway import StripeGateway
from patronage.shop.checkout import CheckoutForm, PriceChanged, ShopRules, Visitor, checkout
from patronage.shop.core.tax import FlatRateTax
from tests.e2e.world import NOW, seed
from tests.integration.test_shop import ADDRESS
from tests.stripe_fake import SECRET_KEY, Fake, serve

pytestmark = pytest.mark.storage


@pytest.fixture
def fake() -> Iterator[tuple[Fake, str]]:
    state = Fake()
    server, base = serve(state)
    try:
        yield state, base
    finally:
        server.shutdown()
        server.server_close()


class PriceRaisedWhilePaying:
    """The Stripe adapter, while staff raise the shake's price during the payment."""

    def __init__(self, engine: Engine, gateway: StripeGateway) -> None:
        self.engine, self.gateway = engine, gateway
        self.refunds: list[tuple[str, str, int]] = []

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> Any:
        answer = self.gateway.charge(key, member_id, amount, currency)
        with transaction(self.engine) as s:
            shake = s.scalar(select(Product.id).where(Product.sku == "SHAKE"))
            s.execute(update(ProductPrice).where(ProductPrice.product_id == shake).values(
                retail_price=ProductPrice.retail_price + 500,
                wholesale_price=ProductPrice.wholesale_price + 500))
            s.execute(update(Product).where(Product.id == shake).values(
                retail_price=Product.retail_price + 500,
                wholesale_price=Product.wholesale_price + 500))
        return answer

    def refund(self, key: str, charge_key: str, amount: int) -> Any:
        self.refunds.append((key, charge_key, amount))
        return self.gateway.refund(key, charge_key, amount)


def test_the_charge_is_refunded_and_the_shopper_told(engine: Engine,
                                                     fake: tuple[Fake, str]) -> None:
    state, base = fake
    w = seed(engine)
    stripe = StripeGateway(engine, StripeKeys(SECRET_KEY, "whsec_test", "pk_test", base),
                           max_network_retries=0, clock=lambda: NOW)
    setup = stripe.start_card_setup(w.cory)
    state.complete_setup(setup.setup_intent)
    stripe.save_card(setup.setup_intent)
    gateway = PriceRaisedWhilePaying(engine, stripe)
    form = CheckoutForm(key="p" * 20, plan="once", **ADDRESS)
    rules = ShopRules(tax=FlatRateTax({}), company_zone="UTC")
    with transaction(engine) as s:
        orders_before = s.scalar(select(func.count()).select_from(Order))
    with pytest.raises(PriceChanged) as raised:
        checkout(engine, form, {"SHAKE": 1}, Visitor(member_id=w.cory), gateway, rules,
                 now=NOW)
    assert raised.value.refunded
    assert "Prices changed while you paid: your card was refunded $" in raised.value.message
    (key, charge_key, amount), = gateway.refunds
    assert (key, charge_key) == ("shop-refund:" + "p" * 20, "shop:" + "p" * 20)
    with transaction(engine) as s:
        charged = s.scalar(select(PaymentCharge).where(PaymentCharge.key == charge_key))
        assert charged is not None and charged.amount == amount
        assert s.scalar(select(func.count()).select_from(Order)) == orders_before
    # Stripe has the refund of the whole charge.
    assert [int(r["amount"]) for r in state.refunds] == [amount]
