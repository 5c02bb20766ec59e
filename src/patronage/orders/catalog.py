"""The catalog: products with retail and wholesale prices, QV and CV."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.db.tables import Product
from patronage.errors import IntegrityViolation, PatronageError


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


def check_product(p: NewProduct, place: str = "product") -> list[str]:
    """Every reason the product is refused (empty when it is fine)."""
    reasons = []
    if not p.sku.strip():
        reasons.append(f"{place}: sku must not be empty")
    if not p.name.strip():
        reasons.append(f"{place}: name must not be empty")
    for label, value in (("retail_price", p.retail_price), ("wholesale_price", p.wholesale_price),
                         ("qv", p.qv), ("cv", p.cv)):
        if value < 0:
            reasons.append(f"{place}: {label} must not be negative ({value})")
    if p.wholesale_price > p.retail_price:
        reasons.append(f"{place}: wholesale_price is above retail_price")
    return reasons


def add_product(session: Session, p: NewProduct) -> Product:
    reasons = check_product(p, f"product {p.sku!r}")
    if reasons:
        raise PatronageError("; ".join(reasons))
    if session.scalar(select(Product.id).where(Product.sku == p.sku)) is not None:
        raise IntegrityViolation(f"sku {p.sku!r} already exists")
    product = Product(sku=p.sku, name=p.name, retail_price=p.retail_price,
                      wholesale_price=p.wholesale_price, qv=p.qv, cv=p.cv,
                      is_enrollment_pack=p.is_enrollment_pack, product_line=p.product_line,
                      active=True)
    session.add(product)
    session.flush()
    return product


def product_by_sku(session: Session, sku: str) -> Product:
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise IntegrityViolation(f"unknown sku {sku!r}")
    return product
