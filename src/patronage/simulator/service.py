"""Simulations for the company: its plan in force and its own fitted customer models, the run
kept so staff can read it again and compare it with another."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from patronage.clock import DEFAULT_COMPANY_ZONE, Period, zone
from patronage.compensation.runs import PlanSource
from patronage.db.engine import transaction
from patronage.db.simulations import SimulationRecord
from patronage.db.value import ValueFit, ValueRun
from patronage.errors import NotFound
from patronage.simulator.core.outputs import MonthRow
from patronage.simulator.core.params import Models, Params
from patronage.simulator.core.simulation import Progress, Simulation, simulate

#: The staff pages run a simulation while the page waits: at most this many people reached
#: (the command line has no such limit).
WEB_MAX_PEOPLE = 300_000


def company_models(engine: Engine) -> Models:
    """The customer models of the company's latest customer-value fit (its pooled segment, or
    the largest), each saying whether it was fitted or its prior stood in; the simulator's
    priors when the company has never been fitted."""
    models = Models.priors()
    with transaction(engine) as s:
        run = s.scalar(select(ValueRun).order_by(ValueRun.id.desc()).limit(1))
        if run is None:
            return models
        fits = s.scalars(select(ValueFit).where(ValueFit.run_id == run.id)).all()
        chosen: dict[str, ValueFit] = {}
        for f in fits:  # the pooled fit, or else the largest segment's
            best = chosen.get(f.model)
            if best is None or (f.segment == "pooled") > (best.segment == "pooled") or \
                    (best.segment != "pooled" and f.n > best.n):
                chosen[f.model] = f
        values = {"sbg": dict(models.sbg), "bgnbd": dict(models.bgnbd),
                  "gamma_gamma": dict(models.gamma_gamma)}
        source = dict(models.source)
        for name in values:
            fit = chosen.get(name)
            if fit is None:
                continue
            params = json.loads(fit.params)
            if all(isinstance(params.get(k), int | float) and params[k] > 0
                   for k in values[name]):
                values[name] = {k: float(params[k]) for k in values[name]}
                source[name] = f"{fit.source} (customer value run {run.id})"
        return Models(values["sbg"], values["bgnbd"], values["gamma_gamma"], source)


def current_plan(engine: Engine, now: datetime,
                 company_zone: str = DEFAULT_COMPANY_ZONE) -> PlanSource:
    """The plan in force this month (refused, saying so, when there is none)."""
    from patronage.compensation.plan_versions import require_plan

    return require_plan(engine, Period.containing(now, zone(company_zone)))


@dataclass(frozen=True)
class StoredSimulation:
    id: int
    created_at: datetime
    created_by: str
    label: str
    plan_name: str
    plan_version: str
    plan_text: str
    params: dict[str, Any]
    models: dict[str, Any]
    seed: int
    months: int
    market: int
    people: int
    rows: list[MonthRow]
    seconds_simulation: float
    seconds_engine: float

    @property
    def last(self) -> MonthRow:
        return self.rows[-1]

    @property
    def peak_distributors(self) -> int:
        return max(r.distributors for r in self.rows)


def store_simulation(engine: Engine, sim: Simulation, plan: PlanSource, *, label: str,
                     now: datetime, actor: str) -> int:
    """Keep ``sim`` (run with ``plan``); its id."""
    with transaction(engine) as s:
        record = SimulationRecord(
            created_at=now, created_by=actor, label=label[:200] or plan.plan.name[:200],
            plan_name=plan.plan.name[:200], plan_version=plan.plan.version[:64],
            plan_text=plan.text, params=json.dumps(sim.params.as_dict()),
            models=json.dumps(sim.models.as_dict()), seed=sim.seed, months=sim.months,
            market=sim.params.market, people=sim.people,
            rows=json.dumps([r.as_dict() for r in sim.rows]),
            seconds_simulation=sim.seconds_simulation, seconds_engine=sim.seconds_engine)
        s.add(record)
        s.flush()
        return int(record.id)


def run_simulation(engine: Engine, *, now: datetime, actor: str, plan: PlanSource | None = None,
                   params: Params | None = None, models: Models | None = None,
                   months: int = 60, seed: int = 1, label: str = "",
                   company_zone: str = DEFAULT_COMPANY_ZONE,
                   progress: Progress | None = None, max_people: int = 0) -> int:
    """Simulate ``months`` of ``plan`` (default: the plan in force) with the company's fitted
    customer models (unless ``models`` are given), keep the result; its id."""
    plan = plan or current_plan(engine, now, company_zone)
    models = models or company_models(engine)
    sim = simulate(plan.plan, params or Params(), models, months, seed, progress, max_people)
    return store_simulation(engine, sim, plan, label=label, now=now, actor=actor)


def _stored(r: SimulationRecord) -> StoredSimulation:
    return StoredSimulation(
        r.id, r.created_at, r.created_by, r.label, r.plan_name, r.plan_version, r.plan_text,
        json.loads(r.params), json.loads(r.models), r.seed, r.months, r.market, r.people,
        [MonthRow.from_dict(x) for x in json.loads(r.rows)], r.seconds_simulation,
        r.seconds_engine)


def load_simulation(engine: Engine, simulation_id: int) -> StoredSimulation:
    with transaction(engine) as s:
        r = s.get(SimulationRecord, simulation_id)
        if r is None:
            raise NotFound(f"simulation {simulation_id}: no such simulation")
        return _stored(r)


def list_simulations(engine: Engine, limit: int = 50) -> list[StoredSimulation]:
    """The latest simulations, newest first."""
    with transaction(engine) as s:
        rows = s.scalars(select(SimulationRecord).order_by(SimulationRecord.id.desc())
                         .limit(limit)).all()
        return [_stored(r) for r in rows]
