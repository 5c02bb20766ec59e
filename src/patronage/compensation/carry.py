"""What a period's run reads beyond orders and the sponsor tree: the placement tree as of the
period's end and the binary leg volume the previous committed run carried over; what a
committed run carries to the next period; and the plan's rule that places new distributors."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, Engine, Select, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patronage.clock import AnyPeriod, Period, zone
from patronage.compensation.core.bonuses.binary import CARRY_LEFT, CARRY_RIGHT, Binary
from patronage.compensation.core.plan import parse_plan
from patronage.compensation.core.results import RunResult
from patronage.db.bulk import write_rows
from patronage.db.compensation import PlanVersion
from patronage.db.loaders import integer_matrix
from patronage.db.shop import ShareLinkSide
from patronage.db.tables import Member
from patronage.facts import Genealogy, PeriodFacts
from patronage.network.placement import SIDE_NAMES, load_placement, place, place_joined


def with_placement_and_carry(engine: Engine, facts: PeriodFacts, period: AnyPeriod,
                             end: datetime) -> PeriodFacts:
    """``facts`` with the placement tree as of ``end`` and the leg volume carried in by the
    latest committed run of its calendar before ``period`` (nothing when there is none): a
    binary paid by the week carries from week to week."""
    with engine.connect() as conn:
        placement = load_placement(conn, facts.genealogy, end)
        carry = carried_before(conn, facts.genealogy, period)
    return replace(facts, placement=placement, carry_in=carry)


def carried_before(conn: Connection, g: Genealogy, period: AnyPeriod) -> dict[str, np.ndarray]:
    """Leg volume by member index that the latest committed run of ``period``'s calendar
    before it carried."""
    run_id = conn.execute(text("SELECT id FROM commission_runs WHERE calendar = :c "
                               "AND period < :p ORDER BY period DESC LIMIT 1"),
                          {"c": period.calendar, "p": str(period)}).scalar()
    if run_id is None:
        return {}
    rows = integer_matrix(conn, "SELECT member_id, left_volume, right_volume FROM binary_carry "
                                "WHERE run_id = :r", {"r": int(run_id)}, 3)
    if rows.shape[0] == 0:
        return {}
    idx = g.index_of(rows[:, 0])
    known = idx >= 0
    out = {}
    for key, column in ((CARRY_LEFT, 1), (CARRY_RIGHT, 2)):
        values = np.zeros(g.size, dtype=np.int64)
        values[idx[known]] = rows[known, column]
        out[key] = values
    return out


def store_carry(conn: Connection, run_id: int, g: Genealogy, result: RunResult) -> None:
    """Keep the leg volume ``result`` carries to the next period (members with some)."""
    left, right = result.carry.get(CARRY_LEFT), result.carry.get(CARRY_RIGHT)
    if left is None or right is None:
        return
    some = np.flatnonzero((left > 0) | (right > 0))
    write_rows(conn, "binary_carry", {
        "run_id": np.full(some.size, run_id), "member_id": g.member_id[some],
        "left_volume": left[some], "right_volume": right[some]})


def placement_rule_in_force(session: Session | Connection, at: datetime,
                            company_zone: str) -> str | None:
    """The placement rule of the plan in force at ``at`` (its ``[bonuses.binary]``
    ``placement``; None: no plan, or a plan without a binary bonus)."""
    period = Period.containing(at, zone(company_zone))
    text_ = session.scalar(select(PlanVersion.plan_text)
                           .where(PlanVersion.effective_from <= str(period))
                           .order_by(PlanVersion.effective_from.desc(), PlanVersion.id.desc())
                           .limit(1))
    if text_ is None:
        return None
    section = parse_plan(tomllib.loads(text_), "plan in force").bonuses.section("binary")
    return section.placement if isinstance(section, Binary) else None


def place_on_enrollment(session: Session, member_id: int, *, at: datetime, actor: str,
                        company_zone: str) -> None:
    """Place a newly enrolled distributor by the rule of the plan in force, when it pays a
    binary bonus (nothing otherwise); a sponsor whose share link names a side places them on
    that side instead (spillover)."""
    rule = placement_rule_in_force(session, at, company_zone)
    if rule is None:
        return
    sponsor = session.scalar(select(Member.sponsor_id).where(Member.id == member_id))
    side = session.scalar(select(ShareLinkSide.side).where(ShareLinkSide.member_id == sponsor)) \
        if sponsor is not None else None
    for attempt in range(_PLACE_ATTEMPTS):
        try:
            # A concurrent enrollment under the same sponsor may take the spot first: the
            # unique spot index refuses the second, which then looks again (it sees the
            # other's committed row).
            with session.begin_nested():
                place(session, member_id, at=at, actor=actor,
                      rule=rule if side is None else SIDE_NAMES[int(side)])
            return
        except IntegrityError:
            if attempt == _PLACE_ATTEMPTS - 1:
                raise


_PLACE_ATTEMPTS = 3


def place_imported(conn: Connection, ids: Select[tuple[int]], *, at: datetime, actor: str,
                   company_zone: str) -> int:
    """Place the distributors whose ids ``ids`` selects (just written, on ``conn``'s
    transaction) by the rule of the plan in force at ``at``, each as of joining, in joining
    order; nothing when the plan pays no binary bonus. Returns how many placement rows were
    written."""
    rule = placement_rule_in_force(conn, at, company_zone)
    if rule is None:
        return 0
    joined = [(int(m), s, j) for m, s, j in conn.execute(
        select(Member.id, Member.sponsor_id, Member.joined_at)
        .where(Member.id.in_(ids), Member.kind == "distributor")
        .order_by(Member.joined_at, Member.id))]
    sides = {int(m): int(s) for m, s in conn.execute(
        select(ShareLinkSide.member_id, ShareLinkSide.side))}
    return place_joined(conn, joined, rule, actor=actor, at=at, sides=sides)
