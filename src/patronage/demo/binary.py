"""The demo company's placement tree and the binary hybrid plan run over its history as a
what-if: what the shipped ``binary-hybrid.toml`` would have paid in the committed months,
beside what the plan in force paid (the staff run-compare page shows the same comparison).
From the open month on the company adds the hybrid plan's binary bonus to its plan, so the
distributors who join through the shop from then on are placed at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from patronage.clock import Period
from patronage.compensation.core.bonuses.binary import Binary
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.plan_versions import set_plan
from patronage.compensation.runs import PlanSource
from patronage.db.engine import transaction
from patronage.db.placements import PlacementRecord
from patronage.demo.field import demo_distributor
from patronage.money import format_amount
from patronage.network.placement import place_unplaced
from patronage.shop.links import set_link_side
from patronage.simulator.replay import replay_plan


def hybrid_plan() -> PlanSource:
    return PlanSource.from_file(default_plan_path().with_name("binary-hybrid.toml"))


def place_demo_tree(engine: Engine, now: datetime) -> int:
    """Every distributor placed by the hybrid plan's rule, each as of the day they joined."""
    section = hybrid_plan().plan.bonuses.section("binary")
    assert isinstance(section, Binary)
    with transaction(engine) as session:
        return place_unplaced(session, section.placement, actor="demo", at=now)


def binary_section() -> str:
    """The hybrid plan's ``[bonuses.binary]`` section, as written in the file."""
    text = default_plan_path().with_name("binary-hybrid.toml").read_text(encoding="utf-8")
    start = text.index("[bonuses.binary]")
    end = text.index("\n[", start)
    return text[start:end].replace('min_rank = "Associate"', 'min_rank = "Consultant"')


def binary_from_open_month(engine: Engine, plan_text: str, current: Period, *,
                           now: datetime) -> None:
    """``plan_text`` with the hybrid plan's binary bonus, in force from ``current`` on (new
    distributors are placed by its weak-leg rule). Set before the history is written: once a
    week of ``current`` is committed, no plan may take effect in it."""
    text = (plan_text.replace('version = "', 'version = "binary-', 1) + "\n"
            + "# From this month on the company also pays a binary bonus.\n" + binary_section()
            + "\n")
    set_plan(engine, text, current, source="demo: leaders' plan with a binary bonus",
             actor="demo", now=now)


def link_places_on_the_right(engine: Engine, *, now: datetime) -> None:
    """The demo distributor's share link places those joining through it on the right."""
    with transaction(engine) as session:
        found = demo_distributor(session)
        if found is not None:
            set_link_side(session, found, "right", now=now)


def placed_on_joining(engine: Engine) -> int:
    """Distributors the shop placed as they joined."""
    with transaction(engine) as session:
        return len(list(session.scalars(select(PlacementRecord.id)
                                        .where(PlacementRecord.placed_by == "shop"))))


def binary_what_if(engine: Engine, *, months: int) -> dict[str, str]:
    """For the last ``months`` committed periods: paid under the plan in force, under the
    binary hybrid plan (its carry chained month to month), the binary bonus's part; and by
    paid-as rank over the months, the change in what the ranks were paid."""
    found = replay_plan(engine, hybrid_plan(), months)
    out = {}
    for p in found.periods:
        out[f"what-if {p.period}: paid (plan in force / binary hybrid)"] = (
            f"{format_amount(p.paid_before)} / {format_amount(p.paid_after)}, "
            f"binary {format_amount(p.by_bonus_after.get('binary', 0))}")
    for k in found.ranks:
        out[f"what-if by rank over {months} months: {k.rank}"] = (
            f"{format_amount(k.paid_before)} → {format_amount(k.paid_after)}")
    out["what-if income disclosure: median paid over the months"] = (
        f"{format_amount(found.before.median)} → {format_amount(found.after.median)}")
    return out
