"""Commission runs for staff: committed periods, preview a period, compare two plans, commit."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from annotated_types import Ge, Le
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from patronage import audit
from patronage.arrays import sum_by
from patronage.bounds import Id, PageNumber
from patronage.clock import AnyPeriod, Period, parse_any_period
from patronage.compensation.committed import locked_run, top_earners
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.plan_versions import plan_history, plan_in_force, require_plan
from patronage.compensation.reports import compare_plans
from patronage.compensation.runs import (
    PeriodRun,
    PlanSource,
    commit_period,
    commit_refusal,
    next_to_commit,
    preview_period,
)
from patronage.db.compensation import CommissionRun
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.simulator.replay import MAX_PERIODS, replay_plan
from patronage.web.deps import (
    Csrf,
    PageError,
    Staff,
    company_zone,
    company_zone_name,
    engine_of,
    now_of,
    page_errors,
)
from patronage.web.templating import render
from patronage.web.views.business import committed_runs
from patronage.web.views.staff import run_page

router = APIRouter()


def confirmation(period: AnyPeriod) -> str:
    """What staff tick to commit ``period``."""
    return f"I understand this locks {period}: payments can no longer change"


def _period(text: str | None, request: Request) -> AnyPeriod:
    if not text:
        return Period.containing(now_of(request), company_zone(request)).previous()
    return parse_any_period(text)


def _top_earners(request: Request, run: PeriodRun, n: int = 10) -> list[tuple[int, str, int]]:
    p = run.result.payouts
    if p.size == 0:
        return []
    paid = sum_by(p.earner, p.amount, run.facts.genealogy.size)
    top = np.argsort(-paid, kind="stable")[:n]
    ids = [run.member_id(int(i)) for i in top if paid[i] > 0]
    with transaction(engine_of(request)) as session:
        names = {m.id: m.name for m in session.query(Member).filter(Member.id.in_(ids))}
    return [(mid, names.get(mid, ""), int(paid[i])) for mid, i in zip(ids, top, strict=False)]


@router.get("/company/runs", response_class=HTMLResponse)
def runs(request: Request, me: Staff, committed: str | None = None) -> Response:
    engine = engine_of(request)
    with transaction(engine) as session:
        done = committed_runs(session, 24)
        weeks = list(session.scalars(select(CommissionRun)
                                     .where(CommissionRun.calendar == "week")
                                     .order_by(CommissionRun.period.desc()).limit(10)))
    just = committed if committed and any(r.period == committed for r in done + weeks) else None
    this_period = Period.containing(now_of(request), company_zone(request))
    in_force = plan_in_force(engine, this_period)
    weekly = in_force.source().plan.weekly_bonuses() if in_force is not None else []
    next_week = (next_to_commit(engine, now_of(request), company_zone=company_zone_name(request),
                                calendar="week") if weekly or weeks else None)
    return render(request, "runs.html", me, title="Commission runs", committed=done,
                  suggested=str(_period(None, request)), just_committed=just,
                  this_period=str(this_period),
                  next_commit=next_to_commit(engine_of(request), now_of(request),
                                             company_zone=company_zone_name(request)),
                  confirmation=confirmation, weekly=weekly, next_week=next_week,
                  committed_weeks=weeks, in_force=in_force,
                  plans=plan_history(engine_of(request)))


def hybrid_plan_text() -> str:
    """The shipped binary + unilevel example plan, offered as plan B of a what-if."""
    return default_plan_path().with_name("binary-hybrid.toml").read_text(encoding="utf-8")


@router.get("/company/runs/preview", response_class=HTMLResponse)
def preview(request: Request, me: Staff, period: str | None = None) -> Response:
    """The period computed with the plan in force; a committed period shows its committed run
    as stored."""
    engine = engine_of(request)
    with page_errors():
        p = _period(period, request)
        locked = locked_run(engine, p)
        if locked is not None:
            top = _names_of(request, top_earners(engine, locked.run_id))
            return render(request, "run_preview.html", me, title=f"Committed run {p}",
                          period=str(p), total_cv=locked.total_cv,
                          total_paid=locked.total_paid, cap_applied=locked.cap_applied,
                          by_bonus=locked.by_bonus, top=top, committed=locked.run_id,
                          plan_version=locked.plan_version, hybrid_plan=hybrid_plan_text())
        run = preview_period(engine, p, company_zone=company_zone_name(request))
    return render(request, "run_preview.html", me, title=f"Preview {p}", period=str(p),
                  total_cv=run.result.total_cv, total_paid=run.total_paid,
                  cap_applied=run.result.cap_applied, by_bonus=run.totals_by_bonus(),
                  top=_top_earners(request, run), committed=None,
                  plan_version=run.plan.plan.version,
                  refusal=commit_refusal(engine, p, now_of(request),
                                         company_zone=company_zone_name(request)),
                  confirmation=confirmation(p), hybrid_plan=hybrid_plan_text())


def _names_of(request: Request, paid: list[tuple[int, int]]) -> list[tuple[int, str, int]]:
    with transaction(engine_of(request)) as session:
        names = {m.id: m.name for m in session.query(Member).filter(
            Member.id.in_([mid for mid, _ in paid]))}
    return [(mid, names.get(mid, ""), amount) for mid, amount in paid]


def _plan_b(text: str) -> PlanSource:
    try:
        return PlanSource.from_text(text, "plan B")
    except ValueError as exc:  # a TOML syntax error
        raise PatronageError(f"plan B: not valid TOML: {exc}") from exc


@router.post("/company/runs/compare", response_class=HTMLResponse, dependencies=[Csrf])
def compare(request: Request, me: Staff, period: Annotated[str, Form()],
            plan_text: Annotated[str, Form()],
            months: Annotated[int, Form(), Ge(1), Le(MAX_PERIODS)] = 1) -> Response:
    """Plan B beside the plan in force: for ``period``; or, with ``months`` above 1, over the
    last committed months, plan B's carry chained month to month (the plan replay)."""
    if months > 1:
        with page_errors():
            if not plan_text.strip():
                raise PatronageError("plan B: paste a plan (TOML) to compare with")
            found = replay_plan(engine_of(request), _plan_b(plan_text), months)
        return render(request, "simulation_replay.html", me,
                      title=f"What-if over {months} months", r=found)
    with page_errors():
        p = Period.parse(period)  # plans are compared over a month
        if not plan_text.strip():
            raise PatronageError("plan B: paste a plan (TOML) to compare with")
        a = require_plan(engine_of(request), p)
        b = _plan_b(plan_text)
        fa, fb = compare_plans(engine_of(request), p, a, b, company_zone=company_zone_name(request))
    return render(request, "run_compare.html", me, title=f"Compare plans {p}", period=str(p),
                  a=fa, b=fb, bonuses=sorted(set(fa.by_bonus) | set(fb.by_bonus)),
                  ranks=list(dict.fromkeys([*fa.by_rank, *fb.by_rank])))


@router.post("/company/runs/commit", dependencies=[Csrf])
def commit(request: Request, me: Staff, period: Annotated[str, Form()],
           confirm: Annotated[str | None, Form()] = None) -> Response:
    """Commit a period: irreversible, so the form must carry the ticked confirmation. A
    period that cannot be committed is refused with the reason first."""
    engine, now = engine_of(request), now_of(request)
    with page_errors():
        p = parse_any_period(period)
        if confirm != "yes":
            refusal = commit_refusal(engine, p, now, company_zone=company_zone_name(request))
            if refusal is not None:
                raise PageError(409, refusal)
            raise PageError(400, f"commit {p}: not confirmed; tick \u201c{confirmation(p)}"
                                 "\u201d to commit")
        run_id = commit_period(engine, p, None, now=now, actor=me.actor,
                               company_zone=company_zone_name(request))
    with transaction(engine) as session:
        audit.record(session, actor=me.actor, action="commission.commit",
                     target=f"period {p}", detail=f"run {run_id}", at=now)
    return RedirectResponse(f"/company/runs?committed={p}", status_code=303)


@router.get("/company/runs/{run_id}", response_class=HTMLResponse)
def committed_run(request: Request, me: Staff, run_id: Id, page: PageNumber = 1,
                  payee: Id | None = None) -> Response:
    """A committed run: what each bonus paid, its payees and one payee's lines."""
    with transaction(engine_of(request)) as session, page_errors():
        found = run_page(session, run_id, page=page, payee=payee)
        return render(request, "company_run.html", me, title=f"Commission run {found.run.period}",
                      p=found)
