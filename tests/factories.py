"""Small builders for test data, through the real services."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from patronage.network.members import NewMember, enroll_member
from patronage.orders.catalog import NewProduct, add_product

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def distributor(session: Session, name: str = "Dana", sponsor: int | None = None,
                joined_at: datetime = T0, **kw: object) -> int:
    return enroll_member(session, NewMember(kind="distributor", first_name=name,
                                            sponsor_id=sponsor, joined_at=joined_at,
                                            **kw)).id  # type: ignore[arg-type]


def customer(session: Session, owner: int, name: str = "Cory", kind: str = "retail",
             joined_at: datetime = T0, **kw: object) -> int:
    return enroll_member(session, NewMember(kind=kind, first_name=name, owner_id=owner,
                                            joined_at=joined_at, **kw)).id  # type: ignore[arg-type]


def catalog(session: Session) -> None:
    add_product(session, NewProduct("PACK", "Starter pack", 20000, 15000, 10000, 0,
                                    is_enrollment_pack=True))
    add_product(session, NewProduct("SHAKE", "Daily shake", 6000, 4500, 4000, 3600))
    add_product(session, NewProduct("TEA", "Herbal tea", 2500, 2000, 1500, 1200))
