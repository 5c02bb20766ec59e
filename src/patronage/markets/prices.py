"""Prices per market: each product's retail and wholesale price in the market's currency (minor
units) and its QV and CV there (hundredths of a point)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.db.markets import Market, ProductPrice
from patronage.db.tables import Product
from patronage.errors import PatronageError
from patronage.orders.catalog import MAX_POINTS, price_problem


@dataclass(frozen=True)
class MarketPrice:
    retail_price: int
    wholesale_price: int
    qv: int
    cv: int


def set_price(session: Session, product: Product, market: Market, price: MarketPrice) -> None:
    """The product's price and volume in the market (added, or replacing the one there)."""
    place = f"product {product.sku!r} in market {market.code!r}"
    for label, value in (("retail_price", price.retail_price),
                         ("wholesale_price", price.wholesale_price)):
        problem = price_problem(value)
        if problem:
            raise PatronageError(f"{place}: {label} {problem}")
    if price.wholesale_price > price.retail_price:
        raise PatronageError(f"{place}: wholesale_price is above retail_price")
    for label, value in (("qv", price.qv), ("cv", price.cv)):
        if not 0 <= value <= MAX_POINTS:
            raise PatronageError(f"{place}: {label} {value} is outside 0..{MAX_POINTS}")
    row = session.scalar(select(ProductPrice).where(ProductPrice.product_id == product.id,
                                                    ProductPrice.market_id == market.id))
    if row is None:
        row = ProductPrice(product_id=product.id, market_id=market.id)
        session.add(row)
    row.retail_price, row.wholesale_price = price.retail_price, price.wholesale_price
    row.qv, row.cv = price.qv, price.cv
    session.flush()


def prices_in(session: Session, market_id: int,
              product_ids: Iterable[int]) -> dict[int, MarketPrice]:
    """The prices of those products in the market, by product id (absent: no price there)."""
    ids = sorted(set(product_ids))
    rows = session.execute(select(
        ProductPrice.product_id, ProductPrice.retail_price, ProductPrice.wholesale_price,
        ProductPrice.qv, ProductPrice.cv).where(
        ProductPrice.market_id == market_id, ProductPrice.product_id.in_(ids))).all()
    return {r[0]: MarketPrice(int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def products_priced(session: Session, market_id: int,
                    skus: Iterable[str]) -> dict[str, tuple[Product, MarketPrice | None]]:
    """The products of those SKUs with their price in the market (``None``: no price there),
    by SKU, in one query; unknown SKUs are absent."""
    rows = session.execute(select(
        Product, ProductPrice.retail_price, ProductPrice.wholesale_price, ProductPrice.qv,
        ProductPrice.cv).outerjoin(ProductPrice, (ProductPrice.product_id == Product.id)
                                   & (ProductPrice.market_id == market_id))
        .where(Product.sku.in_(sorted(set(skus))))).all()
    return {r[0].sku: (r[0], None if r[1] is None else
                       MarketPrice(int(r[1]), int(r[2]), int(r[3]), int(r[4]))) for r in rows}
