"""Customer values from the latest value run: a member's lifetime, referral and seven values;
a distributor's customers ranked by value or by value at risk; a distributor's overview. A
distributor's customers and overview are for the company and that distributor only (an upline
gets *not found* for a downline distributor's, as for their customers on ``/members``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from patronage.access import require_member
from patronage.api.deps import CompanyZoneDep, EngineDep, NowDep, PrincipalDep, SessionDep, scope
from patronage.api.types import Id
from patronage.value.service import customer_value, distributor_customers, distributor_overview

router = APIRouter(prefix="/values", tags=["customer values"])


@router.get("/members/{member_id}", dependencies=[scope("values:read")])
def member_values(member_id: Id, engine: EngineDep, session: SessionDep,
                  principal: PrincipalDep) -> dict[str, Any]:
    """Lifetime value (past and expected), referral value, risk and the seven values (0–100)."""
    require_member(session, principal, member_id)
    return customer_value(engine, member_id)


@router.get("/distributors/{member_id}/customers", dependencies=[scope("values:read")])
def customers(member_id: Id, engine: EngineDep, principal: PrincipalDep,
              order_by: Literal["value", "risk"] = "value",
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    """The distributor's customers, by lifetime plus referral value, or by value at risk."""
    return distributor_customers(engine, member_id, order_by=order_by, limit=limit,
                                 viewer=principal)


@router.get("/distributors/{member_id}/overview", dependencies=[scope("values:read")])
def overview(member_id: Id, engine: EngineDep, principal: PrincipalDep,
             now: NowDep, company_zone: CompanyZoneDep) -> dict[str, Any]:
    """Customers against the 1:50 target, the base's value, consumption vs promotional volume."""
    return distributor_overview(engine, member_id, now, viewer=principal,
                                company_zone=company_zone).as_dict()
