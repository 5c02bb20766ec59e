"""The bulk loader agrees with a plain reading of the records, and reads the tree as of a date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, select, update

from patronage.db import loaders
from patronage.db.engine import transaction
from patronage.db.loaders import load_genealogy, load_period_facts
from patronage.db.tables import Member, Order, OrderLine
from patronage.demo.company import build_company
from patronage.facts import KIND_CODES, SOURCE_CODES, STATUS_CODES
from patronage.network.members import move_sponsor, upgrade_to_distributor
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import T0, catalog, customer, distributor

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_times_load_as_whole_seconds_cut_off_the_same_on_both_databases(engine: Engine) -> None:
    with transaction(engine) as s:
        a = distributor(s, "Ann", joined_at=datetime(2026, 3, 1, 8, 0, 0, 999_999, tzinfo=UTC))
        catalog(s)
    for micro in (0, 500_000, 999_999):
        with transaction(engine) as s:
            place_order(s, NewOrder(a, datetime(2026, 3, 2, 9, 30, 15, micro, tzinfo=UTC),
                                    [LineRequest("TEA", 1)]), now=datetime(2026, 3, 3, tzinfo=UTC))
    facts = load_period_facts(engine, datetime(2026, 3, 1, tzinfo=UTC),
                              datetime(2026, 4, 1, tzinfo=UTC), "2026-03")
    second = int(datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC).timestamp())
    assert facts.lines.placed_at.tolist() == [second] * 3
    assert facts.genealogy.joined_at.tolist() == [
        int(datetime(2026, 3, 1, 8, tzinfo=UTC).timestamp())]


def test_loaded_lines_match_the_records(engine: Engine) -> None:
    build_company(engine, seed=5, members=400, months=4, now=NOW, history=True, personal=False)
    with transaction(engine) as s:  # a few members in every status
        for member_id, status in ((3, "inactive"), (4, "terminated"), (5, "erased")):
            s.execute(update(Member).where(Member.id == member_id).values(status=status))
    start, end = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
    facts = load_period_facts(engine, start, end, "2026-09")
    with transaction(engine) as s:
        rows = s.execute(
            select(OrderLine.id, Order.buyer_id, OrderLine.cv, OrderLine.volume_kind,
                   OrderLine.product_id, Order.source, OrderLine.buyer_class, Order.placed_at,
                   OrderLine.wholesale_total)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.placed_at >= start, Order.placed_at < end).order_by(OrderLine.id)
        ).all()
        members = s.execute(select(Member.id, Member.kind, Member.status)
                            .where(Member.joined_at < end).order_by(Member.id)).all()
    lines = facts.lines
    assert lines.line_id.tolist() == [r[0] for r in rows]
    assert facts.genealogy.member_id[lines.buyer].tolist() == [r[1] for r in rows]
    assert lines.cv.tolist() == [r[2] for r in rows]
    assert lines.promotional.tolist() == [r[3] == "promotional" for r in rows]
    assert lines.product_id.tolist() == [r[4] for r in rows]
    assert lines.source.tolist() == [SOURCE_CODES[r[5]] for r in rows]
    assert lines.customer_purchase.tolist() == [r[6] == "customer" for r in rows]
    assert lines.placed_at.tolist() == [int(_aware(r[7]).timestamp()) for r in rows]
    assert lines.wholesale_total.tolist() == [r[8] for r in rows]
    g = facts.genealogy
    assert g.member_id.tolist() == [m[0] for m in members]
    assert g.kind.tolist() == [KIND_CODES[m[1]] for m in members]
    assert g.status.tolist() == [STATUS_CODES[m[2]] for m in members]
    assert set(g.status.tolist()) == {0, 1, 2, 3}
    # Every subtree is contiguous in the pre-order.
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


def test_reading_every_field_as_a_value_of_its_own_gives_the_same_facts(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids of 2**31 or more cannot be packed two to a value; the facts are then read one field
    per value, and come out the same."""
    build_company(engine, seed=3, members=300, months=2, now=NOW, history=True, personal=False)
    start, end = datetime(2026, 10, 1, tzinfo=UTC), NOW
    packed = load_period_facts(engine, start, end, "2026-10")
    monkeypatch.setattr(loaders, "_can_pack", lambda conn, ids=None: False)
    plain = load_period_facts(engine, start, end, "2026-10")
    for part in ("genealogy", "lines", "refunds"):
        a, b = getattr(packed, part), getattr(plain, part)
        for name in vars(a):
            assert np.array_equal(getattr(a, name), getattr(b, name)), f"{part}.{name}"
    assert packed.lines.size > 0 and packed.genealogy.size == 300


def test_a_second_process_reading_the_genealogy_gives_the_same_facts(engine: Engine) -> None:
    build_company(engine, seed=4, members=300, months=2, now=NOW, history=True, personal=False)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    alone = load_period_facts(engine, start, NOW, "2026-10", parallel=False)
    shared = load_period_facts(engine, start, NOW, "2026-10", parallel=True)
    for part in ("genealogy", "lines", "refunds"):
        a, b = getattr(alone, part), getattr(shared, part)
        for name in vars(a):
            assert np.array_equal(getattr(a, name), getattr(b, name)), f"{part}.{name}"
