"""Simulations for staff: run the plan in force (or a pasted plan) on a simulated company,
list the runs, read one with its plots, compare two, replay a proposed plan over the
committed months."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from patronage import audit
from patronage.bounds import Id
from patronage.compensation.runs import PlanSource
from patronage.db.engine import transaction
from patronage.errors import PatronageError
from patronage.languages import gettext
from patronage.simulator.core.params import Params
from patronage.simulator.export import months_csv
from patronage.simulator.plots import PLOTS, inline_svg
from patronage.simulator.replay import MAX_PERIODS, replay_plan
from patronage.simulator.service import (
    WEB_MAX_PEOPLE,
    StoredSimulation,
    list_simulations,
    load_simulation,
    run_simulation,
)
from patronage.web.deps import Csrf, Staff, company_zone_name, engine_of, now_of, page_errors
from patronage.web.templating import render

router = APIRouter()

Months = Annotated[int, Ge(1), Le(120)]
Market = Annotated[int, Ge(0), Le(1_000_000_000)]
Seed = Annotated[int, Ge(0), Le(2**62)]
Founders = Annotated[int, Ge(1), Le(10_000)]
Rate = Annotated[float, Ge(0), Le(5)]
Periods = Annotated[int, Ge(1), Le(MAX_PERIODS)]
DEFAULTS = Params()


def _plots(runs: list[StoredSimulation]) -> dict[str, Markup]:
    series = [(f"#{s.id}", s.rows, s.market) for s in runs]
    return {name: Markup(inline_svg(name, series, gettext)) for name in PLOTS}


def _months_shown(s: StoredSimulation) -> list[int]:
    """The months a table shows: the first, every sixth, the last."""
    return sorted({1, s.months, *range(6, s.months + 1, 6)})


def _plan_b(text: str) -> PlanSource:
    try:
        return PlanSource.from_text(text, "plan")
    except ValueError as exc:  # a TOML syntax error
        raise PatronageError(f"plan: not valid TOML: {exc}") from exc


@router.get("/company/simulations", response_class=HTMLResponse)
def simulations(request: Request, me: Staff) -> Response:
    found = list_simulations(engine_of(request))
    return render(request, "simulations.html", me, title="Simulations", runs=found,
                  d=DEFAULTS, max_people=WEB_MAX_PEOPLE, max_periods=MAX_PERIODS)


@router.post("/company/simulations", dependencies=[Csrf])
def run(request: Request, me: Staff, label: Annotated[str, Form()] = "",
        months: Annotated[Months, Form()] = 60,
        market: Annotated[Market, Form()] = DEFAULTS.market, seed: Annotated[Seed, Form()] = 1,
        founders: Annotated[Founders, Form()] = DEFAULTS.founders,
        recruits: Annotated[Rate, Form()] = DEFAULTS.recruits_per_distributor,
        customers: Annotated[Rate, Form()] = DEFAULTS.customers_per_distributor,
        expenses: Annotated[Annotated[int, Ge(0), Le(1_000_000)], Form()]
        = DEFAULTS.monthly_expenses // 100,
        plan_text: Annotated[str, Form()] = "") -> Response:
    """Simulate the plan in force (or the pasted plan) with the company's fitted customer
    models; the page of the run."""
    engine, now = engine_of(request), now_of(request)
    params = Params(market=market, founders=founders, recruits_per_distributor=recruits,
                    customers_per_distributor=customers, monthly_expenses=expenses * 100)
    with page_errors():
        plan = _plan_b(plan_text) if plan_text.strip() else None
        sid = run_simulation(engine, now=now, actor=me.actor, plan=plan, params=params,
                             months=months, seed=seed, label=label.strip(),
                             company_zone=company_zone_name(request), max_people=WEB_MAX_PEOPLE)
    with transaction(engine) as session:
        audit.record(session, actor=me.actor, action="simulation.run",
                     target=f"simulation {sid}", detail=f"{months} months, seed {seed}", at=now)
    return RedirectResponse(f"/company/simulations/{sid}", status_code=303)


@router.get("/company/simulations/compare", response_class=HTMLResponse)
def compare(request: Request, me: Staff, a: Id, b: Id) -> Response:
    with page_errors():
        runs = [load_simulation(engine_of(request), a), load_simulation(engine_of(request), b)]
    months = sorted(set(_months_shown(runs[0])) | set(_months_shown(runs[1])))
    by_month = [{r.month: r for r in s.rows} for s in runs]
    return render(request, "simulation_compare.html", me, title="Compare simulations",
                  runs=runs, plots=_plots(runs), months=months, by_month=by_month)


@router.post("/company/simulations/replay", response_class=HTMLResponse, dependencies=[Csrf])
def replay(request: Request, me: Staff, plan_text: Annotated[str, Form()] = "",
           periods: Annotated[Periods, Form()] = 12) -> Response:
    """A proposed plan over the last committed months, beside what was committed."""
    with page_errors():
        if not plan_text.strip():
            raise PatronageError("plan: paste the proposed plan (TOML) to replay")
        found = replay_plan(engine_of(request), _plan_b(plan_text), periods)
    return render(request, "simulation_replay.html", me, title="Plan replay", r=found)


@router.get("/company/simulations/{simulation_id}.csv")
def simulation_csv(request: Request, me: Staff, simulation_id: Id) -> Response:
    with page_errors():
        s = load_simulation(engine_of(request), simulation_id)
    return Response(months_csv(s.rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="simulation-{s.id}.csv"'})


@router.get("/company/simulations/{simulation_id}", response_class=HTMLResponse)
def simulation(request: Request, me: Staff, simulation_id: Id) -> Response:
    with page_errors():
        s = load_simulation(engine_of(request), simulation_id)
    others = [o for o in list_simulations(engine_of(request), 20) if o.id != s.id]
    return render(request, "simulation.html", me, title=f"Simulation {s.id}", s=s,
                  plots=_plots([s]), months=_months_shown(s),
                  by_month={r.month: r for r in s.rows}, others=others)
