"""Commission runs: preview and commit a period (the company), explain a member's payments and
their rank report card (the member, their upline, the company)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from patronage import audit
from patronage.access import require_company, require_member
from patronage.api.deps import CompanyZoneDep, EngineDep, NowDep, PrincipalDep, SessionDep, scope
from patronage.api.types import Id, PeriodText, RunPeriodText
from patronage.clock import Period, parse_any_period
from patronage.compensation.committed import locked_run
from patronage.compensation.reports import explain_member, rank_card
from patronage.compensation.runs import commit_period, preview_period, rerun_committed
from patronage.db.compensation import CommissionRun

router = APIRouter(prefix="/commissions", tags=["commissions"])


class RunSummary(BaseModel):
    period: str
    committed_run: int | None = None  # the committed run shown, for a committed period
    plan_version: str
    total_cv: int
    total_paid: int
    by_bonus: dict[str, int]
    payout_lines: int
    clawbacks: int
    skips: int
    cap_applied: bool
    active_distributors: int


class CommittedRun(BaseModel):
    run_id: int
    #: YYYY-MM for a month, YYYY-Www for an ISO week (bonuses the plan pays by the week).
    period: str
    #: ``"month"`` or ``"week"``.
    calendar: str
    plan_name: str
    plan_version: str
    committed_at: Any
    committed_by: str
    total_cv: int
    total_paid: int
    cap_applied: bool


class CommitResult(BaseModel):
    period: str
    run_id: int
    reproduces: bool


class Requirement(BaseModel):
    name: str
    needed: int
    actual: int
    met: bool
    unit: str


class RankCard(BaseModel):
    member_id: int
    period: str
    paid_as: str
    next_rank: str | None
    requirements: list[Requirement]


@router.get("/runs", dependencies=[scope("commissions:read")])
def committed_runs(session: SessionDep, principal: PrincipalDep) -> list[CommittedRun]:
    """The committed periods, months and weeks, the last committed first."""
    require_company(principal, "the list of commission runs")
    runs = session.scalars(select(CommissionRun).order_by(CommissionRun.id.desc())).all()
    return [CommittedRun(run_id=r.id, period=r.period, calendar=r.calendar,
                         plan_name=r.plan_name, plan_version=r.plan_version,
                         committed_at=r.committed_at,
                         committed_by=r.committed_by, total_cv=r.total_cv,
                         total_paid=r.total_paid, cap_applied=r.cap_applied) for r in runs]


@router.get("/{period}/preview", dependencies=[scope("commissions:read")])
def preview(period: RunPeriodText, engine: EngineDep, principal: PrincipalDep,
            company_zone: CompanyZoneDep) -> RunSummary:
    """Compute the period (a month, or an ISO week such as ``2026-W49`` for the bonuses the
    plan pays by the week) with the plan in force for it; nothing is written. A committed
    period answers with its committed run as stored (``committed_run``)."""
    require_company(principal, "a company-wide commission preview")
    when = parse_any_period(period)
    locked = locked_run(engine, when)
    if locked is not None:
        return RunSummary(period=str(when), committed_run=locked.run_id,
                          plan_version=locked.plan_version, total_cv=locked.total_cv,
                          total_paid=locked.total_paid, by_bonus=locked.by_bonus,
                          payout_lines=locked.payout_lines, clawbacks=locked.clawbacks,
                          skips=locked.skips, cap_applied=locked.cap_applied,
                          active_distributors=locked.active_distributors)
    run = preview_period(engine, when, company_zone=company_zone)
    r = run.result
    return RunSummary(period=period, plan_version=r.plan_version, total_cv=r.total_cv,
                      total_paid=run.total_paid, by_bonus=run.totals_by_bonus(),
                      payout_lines=r.payouts.size, clawbacks=len(run.clawbacks),
                      skips=r.skips.size, cap_applied=bool(r.cap_applied),
                      active_distributors=int(r.active.sum()))


@router.post("/{period}/commit", dependencies=[scope("commissions:write")])
def commit(period: RunPeriodText, engine: EngineDep, session: SessionDep, principal: PrincipalDep,
           now: NowDep, company_zone: CompanyZoneDep) -> CommitResult:
    """Lock the period (a month, or an ISO week such as ``2026-W49``): snapshot, payout lines,
    ranks. A committed period is refused (409), as is a week before an earlier open one."""
    require_company(principal, "committing a commission run")
    when = parse_any_period(period)
    run_id = commit_period(engine, when, None, now=now, actor=principal.actor,
                           company_zone=company_zone)
    same, _ = rerun_committed(engine, when)
    audit.record(session, actor=principal.actor, action="commissions.commit",
                 target=f"period {when}", detail=f"run {run_id}; reproduces: {same}", at=now)
    return CommitResult(period=str(when), run_id=run_id, reproduces=same)


@router.get("/{period}/members/{member_id}/explain", dependencies=[scope("commissions:read")])
def explain(period: PeriodText, member_id: Id, engine: EngineDep, session: SessionDep,
            principal: PrincipalDep, company_zone: CompanyZoneDep) -> list[str]:
    """Every payment to the member in the period (a month, or a week), and every payment that
    passed them over."""
    when = parse_any_period(period)
    require_member(session, principal, member_id)
    return explain_member(engine, member_id, when, viewer=principal, company_zone=company_zone)


@router.get("/{period}/members/{member_id}/rank-card", dependencies=[scope("commissions:read")])
def card(period: PeriodText, member_id: Id, engine: EngineDep, session: SessionDep,
         principal: PrincipalDep, company_zone: CompanyZoneDep) -> RankCard:
    """The member's paid-as rank and each requirement of the next rank: met or how far off."""
    when = Period.parse(period)
    require_member(session, principal, member_id)
    current, target, reqs = rank_card(engine, member_id, when, company_zone=company_zone)
    return RankCard(member_id=member_id, period=str(when), paid_as=current, next_rank=target,
                    requirements=[Requirement(name=r.name, needed=r.needed, actual=r.actual,
                                              met=r.met, unit=r.unit) for r in reqs])
