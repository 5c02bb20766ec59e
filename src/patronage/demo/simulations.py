"""The demo's simulations: one run of its own plan (in force, with its fitted customer models)
kept for the staff pages, and what-if replays on its committed months: the example plan
without the compliance rule, and the binary-hybrid plan when the plans folder has one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.runs import PlanSource
from patronage.simulator.core.params import Params
from patronage.simulator.replay import replay_plan
from patronage.simulator.service import load_simulation, run_simulation

#: The demo's simulation: the default assumptions over five years, a fixed seed.
DEMO_MONTHS = 60
DEMO_SEED = 2026
REPLAY_MONTHS = 6


def simulate_demo(engine: Engine, now: datetime, company_zone: str) -> dict[str, str | int]:
    """Run and keep the demo's simulation, replay the alternative plans; summary lines."""
    sid = run_simulation(engine, now=now, actor="demo", params=Params(), months=DEMO_MONTHS,
                         seed=DEMO_SEED, label="Demo plan, five years",
                         company_zone=company_zone)
    last = load_simulation(engine, sid).last
    out: dict[str, str | int] = {
        "simulation kept (staff: /company/simulations)": sid,
        f"simulated distributors after {DEMO_MONTHS} months": last.distributors,
        "simulated distributors earning more than their costs":
            f"{last.share_net_positive:.1%}",
    }
    plans = [("example plan without the compliance rule",
              PlanSource.from_file(default_plan_path()))]
    hybrid = default_plan_path().parent / "binary-hybrid.toml"
    if hybrid.is_file():
        plans.append(("binary-hybrid plan", PlanSource.from_file(hybrid)))
    for name, plan in plans:
        r = replay_plan(engine, plan, REPLAY_MONTHS)
        out[f"replay of the {name}: payout ratio committed → replayed"] = (
            f"{r.ratio_before:.1%} → {r.ratio_after:.1%} over {len(r.periods)} months")
    return out
