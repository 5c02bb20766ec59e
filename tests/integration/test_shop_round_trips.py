"""What a shopper's pages cost the database, on both databases: the pages read outside a
transaction (PostgreSQL) through a session that refuses writes, the paying request writes in
one transaction, and a twin of a checkout that read nothing before its charge still answers
the first one's checkout (docs/decisions/reads-outside-transactions.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from patronage.autoship.gateway import ChargeResult, SimulatedGateway
from patronage.db.autoship import SimulatedCharge
from patronage.db.engine import ReadOnlySession, reading, transaction
from patronage.db.markets import Market
from patronage.db.shop import Checkout
from patronage.db.tables import Member, Order
from patronage.shop.checkout import CheckoutForm, Done, ShopRules, Visitor, checkout
from patronage.shop.core.tax import FlatRateTax
from tests.e2e.world import NOW, World, csrf_of, seed
from tests.integration.test_shop import ADDRESS, app, code_of

pytestmark = pytest.mark.storage


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


@contextmanager
def counted(engine: Engine) -> Iterator[dict[str, int]]:
    """Statements sent (SQLite's BEGIN aside) and transactions committed inside the block."""
    seen = {"statements": 0, "commits": 0}

    def statement(_conn: Any, _cursor: Any, text: str, *_: Any) -> None:
        seen["statements"] += text != "BEGIN"

    def commit(*_: Any) -> None:
        seen["commits"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def test_a_session_for_reading_refuses_writes(engine: Engine, world: World) -> None:
    with reading(engine) as s:
        ann = s.get(Member, world.ann)
        assert ann is not None
        ann.first_name = "Changed"
        with pytest.raises(ReadOnlySession):
            s.flush()
    with reading(engine) as s, pytest.raises(ReadOnlySession):
        s.add(Checkout(key="shop:" + "r" * 20, member_id=world.ann, plan="once",
                       currency="USD", subtotal=0, tax=0, total=0, tax_label="",
                       created_at=NOW))
        s.flush()
    with transaction(engine) as s:
        ann = s.get(Member, world.ann)
        assert ann is not None and ann.first_name != "Changed"
        assert s.scalar(select(func.count()).select_from(Checkout)) == 0


def test_on_postgresql_reading_sends_no_begin(engine: Engine, world: World) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads in one transaction")
    with reading(engine) as s:
        s.get(Member, world.ann)
        assert s.connection().connection.driver_connection.autocommit is True  # type: ignore[union-attr]


def test_a_shoppers_pages_read_without_committing_and_pay_in_one_transaction(
        engine: Engine, world: World) -> None:
    """A query-count guard: the share link, the shop, the cart and the checkout form commit
    nothing and send a few statements each; the paying request commits once (the charge on
    PostgreSQL is one statement outside it)."""
    client = TestClient(app(engine))
    code = code_of(engine, world.ben)
    postgresql = engine.dialect.name == "postgresql"
    pages: dict[str, dict[str, int]] = {}
    with counted(engine) as pages["share link"]:
        assert client.get(f"/join/{code}", follow_redirects=False).status_code == 303
    with counted(engine) as pages["shop"]:
        csrf = csrf_of(client.get("/shop").text)
    with counted(engine) as pages["cart"]:
        assert client.post("/shop/cart", data={"csrf_token": csrf, "sku": "SHAKE",
                                                "quantity": "1"},
                           follow_redirects=False).status_code == 303
    with counted(engine) as pages["checkout form"]:
        form = client.get("/shop/checkout?plan=once").text
    key = re.search(r'name="key" value="([^"]+)"', form)
    assert key is not None
    with counted(engine) as pages["paying request"]:
        done = client.post("/shop/checkout", data={"csrf_token": csrf_of(form),
                                                   "key": key.group(1), "plan": "once",
                                                   **ADDRESS})
    assert done.status_code == 200 and "order no." in done.text
    for name in ("share link", "shop", "cart", "checkout form"):
        assert pages[name]["commits"] == 0, name
    assert pages["share link"]["statements"] <= 2
    assert pages["shop"]["statements"] <= 3
    assert pages["cart"]["statements"] == 1
    assert pages["checkout form"]["statements"] <= 3
    # Before the charge 4 reads, the charge 1 (2 on SQLite, in a transaction), then the
    # customer, consent, attribution, checkout, order, lines, confirmation; SQLite also takes
    # the write lock and reads the key again.
    assert pages["paying request"]["statements"] <= (18 if postgresql else 22)
    assert pages["paying request"]["commits"] == (1 if postgresql else 2)
    with transaction(engine) as s:  # placed in the market she bought in, the default one too
        nina = s.scalar(select(Member).where(Member.email == ADDRESS["email"]))
        default = s.scalar(select(Market.id).where(Market.is_default.is_(True)))
        assert nina is not None and nina.market_id == default is not None
        assert nina.owner_id == world.ben


class TwinFinishesFirst:
    """A gateway that, while charging, lets a twin of the same checkout run to the end (the
    twin's own reads came after this request's)."""

    def __init__(self, engine: Engine, twin: Any) -> None:
        self.gateway = SimulatedGateway(engine, decline_rate=0.0)
        self.twin = twin
        self.twin_done: list[Done] = []

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        answer = self.gateway.charge(key, member_id, amount, currency)
        self.twin_done.append(self.twin(self.gateway))
        return answer


def test_a_twin_that_committed_after_the_reads_is_answered_with_its_checkout(
        engine: Engine, world: World) -> None:
    code = code_of(engine, world.ben)
    form = CheckoutForm(key="t" * 20, plan="once", **ADDRESS)
    rules = ShopRules(tax=FlatRateTax({}), company_zone="UTC")
    visitor = Visitor(code=code)

    def twin(gateway: Any) -> Done:
        return checkout(engine, form, {"SHAKE": 1}, visitor, gateway, rules, now=NOW)

    gateway = TwinFinishesFirst(engine, twin)
    done = checkout(engine, form, {"SHAKE": 1}, visitor, gateway, rules, now=NOW)
    first, = gateway.twin_done
    assert first.created and not done.created
    assert (done.checkout_id, done.order_id, done.member_id) == (
        first.checkout_id, first.order_id, first.member_id)
    assert done.owner_name == first.owner_name != ""
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Checkout)) == 1
        assert s.scalar(select(func.count()).select_from(Order).where(
            Order.idempotency_key == "shop:" + "t" * 20)) == 1
        assert s.scalar(select(func.count()).select_from(Member).where(
            Member.email == ADDRESS["email"])) == 1
        assert s.scalar(select(func.count()).select_from(SimulatedCharge).where(
            SimulatedCharge.key == "shop:" + "t" * 20)) == 1
