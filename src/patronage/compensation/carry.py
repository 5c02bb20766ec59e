"""What a period's run reads beyond orders and the sponsor tree: the placement tree as of the
period's end and the binary leg volume the previous committed run carried over; and what a
committed run carries to the next period."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, Engine, text

from patronage.clock import Period
from patronage.compensation.core.bonuses.binary import CARRY_LEFT, CARRY_RIGHT
from patronage.compensation.core.results import RunResult
from patronage.db.bulk import write_rows
from patronage.db.loaders import integer_matrix
from patronage.facts import Genealogy, PeriodFacts
from patronage.network.placement import load_placement


def with_placement_and_carry(engine: Engine, facts: PeriodFacts, period: Period,
                             end: datetime) -> PeriodFacts:
    """``facts`` with the placement tree as of ``end`` and the leg volume carried in by the
    latest committed run before ``period`` (nothing when there is none)."""
    with engine.connect() as conn:
        placement = load_placement(conn, facts.genealogy, end)
        carry = carried_before(conn, facts.genealogy, period)
    return replace(facts, placement=placement, carry_in=carry)


def carried_before(conn: Connection, g: Genealogy, period: Period) -> dict[str, np.ndarray]:
    """Leg volume by member index that the latest committed run before ``period`` carried."""
    run_id = conn.execute(text("SELECT id FROM commission_runs WHERE period < :p "
                               "ORDER BY period DESC LIMIT 1"), {"p": str(period)}).scalar()
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
