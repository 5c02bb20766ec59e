"""The company's compensation plan: the version in force for a period, and every version
(the company's staff and tokens only). Versions are set with ``patronage plan set``."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from patronage.access import require_company
from patronage.api.deps import CompanyZoneDep, EngineDep, NowDep, PrincipalDep, scope
from patronage.clock import Period, zone
from patronage.compensation.plan_versions import (
    StoredPlan,
    no_plan,
    plan_history,
    plan_in_force,
)

router = APIRouter(prefix="/plan", tags=["plan"])


class PlanVersionOut(BaseModel):
    id: int
    name: str
    version: str
    effective_from: str
    until: str | None = None  # the next version's start (exclusive); None: still in force
    content_hash: str
    set_at: datetime
    set_by: str


class PlanInForce(BaseModel):
    period: str
    plan: PlanVersionOut
    text: str


def _out(p: StoredPlan, until: str | None = None) -> PlanVersionOut:
    return PlanVersionOut(id=p.id, name=p.name, version=p.version,
                          effective_from=p.effective_from, until=until,
                          content_hash=p.content_hash, set_at=p.set_at, set_by=p.set_by)


@router.get("", dependencies=[scope("commissions:read")])
def in_force(engine: EngineDep, principal: PrincipalDep, now: NowDep,
             company_zone: CompanyZoneDep, period: str | None = None) -> PlanInForce:
    """The plan in force for ``period`` (YYYY-MM; default: this month) and its text. With no
    plan in force: 409, saying how to store one."""
    require_company(principal, "the company's plan")
    when = Period.parse(period) if period else Period.containing(
        now, zone(company_zone))
    stored = plan_in_force(engine, when)
    if stored is None:
        raise no_plan(engine, when)
    later = [e.plan.effective_from for e in plan_history(engine)
             if e.plan.effective_from > stored.effective_from]
    return PlanInForce(period=str(when), plan=_out(stored, min(later, default=None)),
                       text=stored.text)


@router.get("/versions", dependencies=[scope("commissions:read")])
def versions(engine: EngineDep, principal: PrincipalDep) -> list[PlanVersionOut]:
    """Every stored version, oldest first, with the periods it is in force."""
    require_company(principal, "the company's plan versions")
    return [_out(e.plan, e.until) for e in plan_history(engine)]
