"""The catalog: list, read, add."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import select

from patronage.access import require_company
from patronage.api.deps import PrincipalDep, SessionDep, scope
from patronage.api.filters import equal, filtered
from patronage.api.pagination import Page, PageParams, page_params, paginate
from patronage.api.schemas import ProductIn, ProductOut
from patronage.api.types import Sku
from patronage.db.tables import Product
from patronage.errors import NotFound
from patronage.orders.catalog import NewProduct, add_product

router = APIRouter(prefix="/products", tags=["products"])
PageDep = Annotated[PageParams, Depends(page_params)]


@router.get("", dependencies=[scope("products:read")])
def list_products(request: Request, session: SessionDep, page: PageDep,
                  active: bool | None = None, enrollment_pack: bool | None = None,
                  product_line: str | None = None) -> Page[ProductOut]:
    query = filtered(select(Product), equal(Product.active, active),
                     equal(Product.is_enrollment_pack, enrollment_pack),
                     equal(Product.product_line, product_line))
    return paginate(session, request, query.order_by(Product.sku), page,
                    ProductOut.model_validate)


@router.get("/{sku}", dependencies=[scope("products:read")])
def get_product(sku: Sku, session: SessionDep) -> ProductOut:
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise NotFound(f"product {sku!r} does not exist")
    return ProductOut.model_validate(product)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[scope("products:write")])
def create_product(body: ProductIn, session: SessionDep, principal: PrincipalDep) -> ProductOut:
    require_company(principal, "changing the catalog")
    return ProductOut.model_validate(add_product(session, NewProduct(**body.model_dump())))
