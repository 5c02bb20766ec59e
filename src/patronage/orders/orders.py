"""Placing orders: priced from the catalog, classified, idempotent.

Classification of each line:
- *volume kind*: ``promotional`` for an enrollment pack, ``consumption`` for everything else;
- *buyer class*: ``customer`` when the buyer is a retail or preferred customer, ``distributor``
  for a distributor's own purchase.

Pricing (:mod:`patronage.orders.core.pricing`): in the buyer's market, retail customers pay the
retail price; preferred customers and distributors the wholesale (member) price, unless a unit
price is given. The order is in the market's currency (an order given another currency is
refused, as is a product without a price in the market). A line at a zero price carries no
volume unless its product's ``volume_when_free`` says so; prices, quantities and the order's
total stay within the catalog's bounds (:mod:`patronage.orders.catalog`). The order is credited
to the distributor whose personal volume it counts toward: the buyer if a distributor, else the
customer's owner.

A repeated idempotency key returns the original order and writes nothing; the same key with a
different content is refused.

Dates: an order is dated in the open period and not in the future (see
:mod:`patronage.orders.open_period`): one dated into a committed period would never be paid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import null, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from patronage.clock import DEFAULT_COMPANY_ZONE, require_aware
from patronage.db.markets import Market
from patronage.db.tables import ORDER_SOURCES, Member, Order, OrderLine, Product
from patronage.errors import N_, Conflict, IntegrityViolation, PatronageError
from patronage.markets.core.currencies import check_currency
from patronage.markets.markets import default_market
from patronage.markets.prices import MarketPrice, products_priced
from patronage.orders.catalog import order_problem, price_problem, quantity_problem
from patronage.orders.core.pricing import price_lines
from patronage.orders.open_period import last_committed_period, window_after


@dataclass
class LineRequest:
    sku: str
    quantity: int = 1
    unit_price: int | None = None


@dataclass
class NewOrder:
    buyer_id: int
    placed_at: datetime
    lines: list[LineRequest]
    source: str = "one_time"
    currency: str | None = None  # None: the buyer's market's currency
    idempotency_key: str | None = None
    subscription_id: int | None = None


@dataclass
class PlacedOrder:
    order: Order
    lines: list[OrderLine] = field(default_factory=list)
    created: bool = True


def _existing(session: Session, key: str) -> PlacedOrder | None:
    order = session.scalar(select(Order).where(Order.idempotency_key == key))
    if order is None:
        return None
    lines = list(session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                                 .order_by(OrderLine.id)))
    return PlacedOrder(order, lines, created=False)


def _same_request(placed: PlacedOrder, new: NewOrder, skus: dict[int, str]) -> bool:
    asked = sorted((line.sku, line.quantity) for line in new.lines)
    have = sorted((skus.get(line.product_id, "?"), line.quantity) for line in placed.lines)
    return placed.order.buyer_id == new.buyer_id and asked == have


def order_name(new: NewOrder) -> str:
    """How a refusal names an order not stored yet: by its key, else by its buyer."""
    if new.idempotency_key is not None:
        return f"order {new.idempotency_key!r}"
    return f"order of buyer {new.buyer_id}"


def _lookups(session: Session, new: NewOrder) -> tuple[int | None, str | None, str | None,
                                                       Member, Market | None] | None:
    """In one query: the order already stored under the key (its id), the last committed
    month and week, the buyer and the buyer's own market; ``None`` when the buyer does not
    exist."""
    existing = (select(Order.id).where(Order.idempotency_key == new.idempotency_key)
                .scalar_subquery() if new.idempotency_key is not None
                else null().label("existing"))
    row = session.execute(
        select(existing, last_committed_period("month"), last_committed_period("week"),
               Member, Market)
        .outerjoin(Market, Market.id == Member.market_id)
        .where(Member.id == new.buyer_id)).first()
    if row is None:
        return None
    return row[0], row[1], row[2], row[3], row[4]


def _repeat(session: Session, found: PlacedOrder, new: NewOrder) -> PlacedOrder:
    """The order stored before under ``new``'s key, if ``new`` asks for the same; else 409."""
    skus = dict(session.execute(select(Product.id, Product.sku).where(
        Product.id.in_([line.product_id for line in found.lines]))).all())
    if not _same_request(found, new, skus):
        raise Conflict(N_("idempotency key %(idempotency_key)r was used for a different "
                          "order (%(id)s)"),
                       values={"idempotency_key": new.idempotency_key, "id": found.order.id})
    return found


def place_order(session: Session, new: NewOrder, *, now: datetime,
                company_zone: str = DEFAULT_COMPANY_ZONE) -> PlacedOrder:
    """Validate, price, classify and store an order; a known idempotency key returns it again.
    ``placed_at`` must lie in the open period and not after ``now`` (give or take the clock
    skew).

    A new order takes four statements: one reads the key, the open period, the buyer and the
    buyer's market; one the products with their prices; one inserts the order (a key stored
    meanwhile by another writer inserts nothing, and that order is returned); one its lines."""
    looked_up = _lookups(session, new)
    # A repeated key, or no such buyer (the key is looked at first either way).
    if (looked_up is None or looked_up[0] is not None) and new.idempotency_key is not None:
        found = _existing(session, new.idempotency_key)
        if found is not None:
            return _repeat(session, found, new)
    last_month, last_week = (
        (looked_up[1], looked_up[2]) if looked_up is not None
        else session.execute(select(last_committed_period("month"),
                                    last_committed_period("week"))).one())
    require_aware(new.placed_at, place="placed_at")
    window_after(last_month, last_week, now, company_zone=company_zone).check(
        new.placed_at, what=f"{order_name(new)}: placed_at")
    if new.source not in ORDER_SOURCES:
        raise PatronageError(N_("source: %(source)r is not one of %(join)s"),
                             values={"source": new.source, "join": ', '.join(ORDER_SOURCES)})
    if new.currency is not None:
        check_currency(new.currency, place="currency")
    if not new.lines:
        raise PatronageError(N_("lines: an order needs at least one line"), values={})
    if looked_up is None:
        raise IntegrityViolation(N_("buyer %(buyer_id)s does not exist"),
                                 values={"buyer_id": new.buyer_id})
    buyer, own_market = looked_up[3], looked_up[4]
    if buyer.status in ("terminated", "erased"):
        raise IntegrityViolation(N_("buyer %(buyer_id)s is %(status)s and cannot order"),
                                 values={"buyer_id": new.buyer_id, "status": buyer.status})
    market = own_market if own_market is not None else default_market(session)
    currency = market.currency if new.currency is None else new.currency.strip().upper()
    if currency != market.currency:
        raise PatronageError(N_("%(order_name)s: currency %(currency)s is not the currency of "
                                "buyer %(id)s's market %(code)s (%(currency2)s)"),
                             values={"order_name": order_name(new),
                                     "currency": currency,
                                     "id": buyer.id,
                                     "code": market.code,
                                     "currency2": market.currency})
    products = products_priced(session, market.id, (line.sku for line in new.lines))
    is_customer = buyer.kind != "distributor"
    chosen: list[tuple[Product, MarketPrice, LineRequest]] = []
    for i, req in enumerate(new.lines, start=1):
        product, price = products.get(req.sku, (None, None))
        if product is None:
            raise IntegrityViolation(N_("line %(i)s: unknown sku %(sku)r"),
                                     values={"i": i, "sku": req.sku})
        if req.unit_price is not None and req.unit_price < 0:
            raise PatronageError(N_("line %(i)s: unit price must not be negative "
                                    "(%(unit_price)s)"),
                                 values={"i": i, "unit_price": req.unit_price})
        problem = quantity_problem(product.sku, req.quantity, product.max_quantity)
        if problem is None and req.unit_price is not None:
            problem = price_problem(req.unit_price)
            problem = problem and f"unit price {problem}"
        if problem is not None:
            raise PatronageError(N_("line %(i)s: %(problem)s"),
                                 values={"i": i, "problem": problem})
        if price is None:
            raise IntegrityViolation(N_("line %(i)s: product %(sku)r has no price in buyer "
                                        "%(id)s's market %(code)s"),
                                     values={"i": i,
                                             "sku": product.sku,
                                             "id": buyer.id,
                                             "code": market.code})
        chosen.append((product, price, req))
    priced = price_lines(
        retail=np.array([p.retail_price for _, p, _ in chosen], dtype=np.int64),
        wholesale=np.array([p.wholesale_price for _, p, _ in chosen], dtype=np.int64),
        qv=np.array([p.qv for _, p, _ in chosen], dtype=np.int64),
        cv=np.array([p.cv for _, p, _ in chosen], dtype=np.int64),
        quantity=np.array([r.quantity for _, _, r in chosen], dtype=np.int64),
        pays_retail=np.full(len(chosen), buyer.kind == "retail"),
        by_distributor=np.full(len(chosen), not is_customer),
        promotional=np.array([bool(p.is_enrollment_pack) for p, _, _ in chosen]),
        volume_when_free=np.array([bool(p.volume_when_free) for p, _, _ in chosen]),
        unit_price=np.array([-1 if r.unit_price is None else r.unit_price
                             for _, _, r in chosen], dtype=np.int64))
    kinds, classes = priced.volume_kinds().tolist(), priced.buyer_classes().tolist()
    order_lines = [OrderLine(
        product_id=product.id, quantity=req.quantity, unit_price=int(priced.unit_price[j]),
        amount=int(priced.amount[j]), qv=int(priced.qv[j]), cv=int(priced.cv[j]),
        retail_total=int(priced.retail_total[j]), wholesale_total=int(priced.wholesale_total[j]),
        volume_kind=kinds[j], buyer_class=classes[j],
    ) for j, (product, _, req) in enumerate(chosen)]
    problem = order_problem(sum(line.amount for line in order_lines),
                            sum(line.qv for line in order_lines),
                            sum(line.cv for line in order_lines))
    if problem is not None:
        raise PatronageError(N_("%(order_name)s: %(problem)s"),
                             values={"order_name": order_name(new), "problem": problem})
    total = sum(line.amount for line in order_lines)
    order = _insert_order(session, dict(
        buyer_id=buyer.id, credited_to_id=buyer.owner_id if is_customer else buyer.id,
        placed_at=new.placed_at, currency=currency, source=new.source,
        status="paid", total=total,
        idempotency_key=new.idempotency_key, subscription_id=new.subscription_id,
    ))
    if order is None:
        # Another writer stored the same idempotency key first: return theirs.
        assert new.idempotency_key is not None
        found = _existing(session, new.idempotency_key)
        if found is None:
            raise Conflict(N_("idempotency key %(idempotency_key)r: the order stored under it "
                              "meanwhile cannot be read; try again"),
                           values={"idempotency_key": new.idempotency_key})
        return found
    for line in order_lines:
        line.order_id = order.id
    session.add_all(order_lines)
    session.flush()
    return PlacedOrder(order, order_lines, created=True)


def _insert_order(session: Session, values: dict[str, object]) -> Order | None:
    """Insert the order; ``None`` (and nothing written) when its idempotency key is stored
    already, by a writer that may have committed after this transaction began. One statement:
    no savepoint is needed to survive the race."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (insert(Order).values(values)
                 .on_conflict_do_nothing(index_elements=[Order.idempotency_key])
                 .returning(Order))
    return session.scalar(statement, execution_options={"populate_existing": True})
