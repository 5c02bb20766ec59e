"""The bulk loader agrees with a plain reading of the records, and reads the tree as of a date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, select

from patronage.db.engine import transaction
from patronage.db.loaders import load_genealogy, load_period_facts
from patronage.db.tables import Member, Order, OrderLine
from patronage.demo.company import build_company
from patronage.network.members import move_sponsor, upgrade_to_distributor
from tests.factories import T0, customer, distributor

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_loaded_lines_match_the_records(engine: Engine) -> None:
    build_company(engine, seed=5, members=400, months=4, now=NOW, history=True, personal=False)
    start, end = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
    facts = load_period_facts(engine, start, end, "2026-09")
    with transaction(engine) as s:
        rows = s.execute(
            select(OrderLine.id, Order.buyer_id, OrderLine.cv, OrderLine.volume_kind)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.placed_at >= start, Order.placed_at < end).order_by(OrderLine.id)
        ).all()
        members = s.scalars(select(Member.id).where(Member.joined_at < end)).all()
    assert facts.lines.line_id.tolist() == [r[0] for r in rows]
    assert facts.genealogy.member_id[facts.lines.buyer].tolist() == [r[1] for r in rows]
    assert facts.lines.cv.tolist() == [r[2] for r in rows]
    assert facts.lines.promotional.tolist() == [r[3] == "promotional" for r in rows]
    assert sorted(facts.genealogy.member_id.tolist()) == sorted(members)
    # Every subtree is contiguous in the pre-order.
    g = facts.genealogy
    assert (g.position[g.parent[g.parent >= 0]] < g.position[g.parent >= 0]).all()


def test_genealogy_as_of_a_past_date_undoes_later_moves(engine: Engine) -> None:
    with transaction(engine) as s:
        a = distributor(s, "Ann")
        b = distributor(s, "Ben", sponsor=a)
        c = distributor(s, "Cat", sponsor=a)
        d = distributor(s, "Dev", sponsor=b)
        cu = customer(s, c, "Cus", kind="preferred")
    moved = T0 + timedelta(days=40)
    with transaction(engine) as s:
        move_sponsor(s, d, c, effective_at=moved, recorded_at=moved, actor="staff",
                     reason="placement correction")
        upgrade_to_distributor(s, cu, effective_at=moved, recorded_at=moved, actor="staff",
                               reason="signed the distributor agreement")
    with engine.connect() as conn:
        before = load_genealogy(conn, moved - timedelta(days=1))
        after = load_genealogy(conn, moved + timedelta(days=1))

    def sponsor_of(g: object, member: int) -> int:
        i = int(g.index_of(np.array([member]))[0])  # type: ignore[attr-defined]
        return int(g.member_id[g.sponsor[i]])  # type: ignore[attr-defined]

    assert sponsor_of(before, d) == b and sponsor_of(after, d) == c
    i_before = int(before.index_of(np.array([cu]))[0])
    i_after = int(after.index_of(np.array([cu]))[0])
    assert before.kind[i_before] == 1 and after.kind[i_after] == 2
    assert before.member_id[before.parent[i_before]] == c  # the owner, before the upgrade
    assert after.member_id[after.parent[i_after]] == c  # now the sponsor
