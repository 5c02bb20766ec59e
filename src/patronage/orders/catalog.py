"""The catalog: products with retail and wholesale prices, QV and CV, and the bounds of orders.

Bounds (so that no price, total or volume ever comes near the 64-bit limit):

- a price (a product's retail or wholesale price, an order line's unit price) is between 0 and
  :data:`MAX_PRICE` (1,000,000.00); a product's QV and CV between 0 and :data:`MAX_POINTS`
  (1,000,000 points);
- an order line's quantity is at most the product's ``max_quantity`` (default
  :data:`DEFAULT_MAX_QUANTITY`, 1,000; at most :data:`MAX_LINE_QUANTITY`, 1,000,000);
- an order totals at most :data:`MAX_ORDER_TOTAL` (10,000,000.00) and carries at most
  :data:`MAX_ORDER_VOLUME` QV and CV each (10,000,000 points).

A line at a zero price (a sample, a gift) carries no volume unless the product's
``volume_when_free`` says it does.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.db.tables import Product
from patronage.errors import N_, IntegrityViolation, PatronageError
from patronage.money import format_amount

#: The highest price (minor units): 1,000,000.00.
MAX_PRICE = 100_000_000
#: The most QV or CV a product carries per unit (hundredths of a point): 1,000,000 points.
MAX_POINTS = 100_000_000
#: A product's most units per order line unless it says otherwise, and the highest it may say.
DEFAULT_MAX_QUANTITY = 1_000
MAX_LINE_QUANTITY = 1_000_000
#: The most an order may total (minor units, 10,000,000.00) and carry in QV or CV (10,000,000
#: points).
MAX_ORDER_TOTAL = 1_000_000_000
MAX_ORDER_VOLUME = 1_000_000_000


@dataclass
class NewProduct:
    sku: str
    name: str
    retail_price: int
    wholesale_price: int
    qv: int
    cv: int
    is_enrollment_pack: bool = False
    product_line: str | None = None
    volume_when_free: bool = False
    max_quantity: int = DEFAULT_MAX_QUANTITY


def price_problem(value: int) -> str | None:
    """Why a price is refused (``None`` when it is fine)."""
    if value < 0:
        return f"{format_amount(value)} is negative"
    if value > MAX_PRICE:
        return (f"{format_amount(value)} is above {format_amount(MAX_PRICE)}, the highest price "
                "accepted")
    return None


def quantity_problem(sku: str, quantity: int, most: int) -> str | None:
    """Why a line's quantity of ``sku`` is refused (``None`` when it is fine)."""
    if quantity <= 0:
        return f"quantity must be positive ({quantity})"
    if quantity > most:
        return f"quantity {quantity} is above {most}, the most of {sku!r} one line may have"
    return None


def line_volume(product: Product, unit_price: int, quantity: int) -> tuple[int, int]:
    """A line's (QV, CV): the product's times the quantity, none at a zero price unless the
    product carries volume when free."""
    if unit_price == 0 and not product.volume_when_free:
        return 0, 0
    return product.qv * quantity, product.cv * quantity


def order_problem(total: int, qv: int, cv: int) -> str | None:
    """Why an order's total or volume is refused (``None`` when it is fine)."""
    if total > MAX_ORDER_TOTAL:
        return (f"the order totals {format_amount(total)}, above "
                f"{format_amount(MAX_ORDER_TOTAL)}, the most an order may total")
    for label, value in (("QV", qv), ("CV", cv)):
        if value > MAX_ORDER_VOLUME:
            return (f"the order carries {format_amount(value)} {label}, above "
                    f"{format_amount(MAX_ORDER_VOLUME)}, the most an order may carry")
    return None


def check_product(p: NewProduct, place: str = "product") -> list[str]:
    """Every reason the product is refused (empty when it is fine)."""
    reasons = []
    if not p.sku.strip():
        reasons.append(f"{place}: sku must not be empty")
    if not p.name.strip():
        reasons.append(f"{place}: name must not be empty")
    for label, value in (("retail_price", p.retail_price), ("wholesale_price", p.wholesale_price)):
        problem = price_problem(value)
        if problem:
            reasons.append(f"{place}: {label} {problem}")
    for label, value in (("qv", p.qv), ("cv", p.cv)):
        if value < 0:
            reasons.append(f"{place}: {label} must not be negative ({value})")
        elif value > MAX_POINTS:
            reasons.append(f"{place}: {label} {format_amount(value)} is above "
                           f"{format_amount(MAX_POINTS)}, the most a product may carry")
    if not 1 <= p.max_quantity <= MAX_LINE_QUANTITY:
        reasons.append(f"{place}: max_quantity {p.max_quantity} is outside "
                       f"1..{MAX_LINE_QUANTITY}")
    if p.wholesale_price > p.retail_price:
        reasons.append(f"{place}: wholesale_price is above retail_price")
    return reasons


def add_product(session: Session, p: NewProduct) -> Product:
    reasons = check_product(p, f"product {p.sku!r}")
    if reasons:
        raise PatronageError("; ".join(reasons))
    if session.scalar(select(Product.id).where(Product.sku == p.sku)) is not None:
        raise IntegrityViolation(N_("sku %(sku)r already exists"), values={"sku": p.sku})
    product = Product(sku=p.sku, name=p.name, retail_price=p.retail_price,
                      wholesale_price=p.wholesale_price, qv=p.qv, cv=p.cv,
                      is_enrollment_pack=p.is_enrollment_pack, product_line=p.product_line,
                      volume_when_free=p.volume_when_free, max_quantity=p.max_quantity,
                      active=True)
    session.add(product)
    session.flush()
    _price_in_default_market(session, product)
    return product


def _price_in_default_market(session: Session, product: Product) -> None:
    """A new product's prices and volume are its prices in the company's default market."""
    from patronage.db.markets import ProductPrice
    from patronage.markets.markets import default_market

    market = default_market(session)
    session.add(ProductPrice(product_id=product.id, market_id=market.id,
                             retail_price=product.retail_price,
                             wholesale_price=product.wholesale_price, qv=product.qv, cv=product.cv))
    session.flush()


def product_by_sku(session: Session, sku: str) -> Product:
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise IntegrityViolation(N_("unknown sku %(sku)r"), values={"sku": sku})
    return product
