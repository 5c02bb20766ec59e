"""The demo company's placement tree and the binary hybrid plan run over its history as a
what-if: what the shipped ``binary-hybrid.toml`` would have paid in the committed months,
beside what the plan in force paid (the staff run-compare page shows the same comparison)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from patronage.clock import Period
from patronage.compensation.core.bonuses.binary import Binary
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.plan_versions import require_plan
from patronage.compensation.reports import compare_plans
from patronage.compensation.runs import PlanSource
from patronage.db.compensation import CommissionRun
from patronage.db.engine import transaction
from patronage.money import format_amount
from patronage.network.placement import place_unplaced


def hybrid_plan() -> PlanSource:
    return PlanSource.from_file(default_plan_path().with_name("binary-hybrid.toml"))


def place_demo_tree(engine: Engine, now: datetime) -> int:
    """Every distributor placed by the hybrid plan's rule, each as of the day they joined."""
    section = hybrid_plan().plan.bonuses.section("binary")
    assert isinstance(section, Binary)
    with transaction(engine) as session:
        return place_unplaced(session, section.placement, actor="demo", at=now)


def binary_what_if(engine: Engine, *, months: int, company_zone: str) -> dict[str, str]:
    """For the last ``months`` committed periods: paid under the plan in force, under the
    binary hybrid plan, and the binary bonus's part."""
    with transaction(engine) as session:
        periods = list(session.scalars(select(CommissionRun.period)
                                       .where(CommissionRun.calendar == "month")
                                       .order_by(CommissionRun.period.desc()).limit(months)))
    hybrid, out = hybrid_plan(), {}
    for text in reversed(periods):
        period = Period.parse(text)
        a, b = compare_plans(engine, period, require_plan(engine, period), hybrid,
                             company_zone=company_zone)
        out[f"what-if {period}: paid (plan in force / binary hybrid)"] = (
            f"{format_amount(a.total_paid)} / {format_amount(b.total_paid)}, "
            f"binary {format_amount(b.by_bonus.get('binary', 0))}")
    return out
