"""The open period's volumes as the ``open-volumes`` job counts them and the pages read them
(the count and the orders and refunds after it): always what summing the orders gives, whatever
is written, counted or moved in whatever order; on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from patronage.clock import Period
from patronage.compensation.open_volumes import (
    TICK,
    Volumes,
    count_open_volumes,
    open_pv,
    open_volumes,
)
from patronage.compensation.standing import personal_volume
from patronage.db.bulk import fetch_rows
from patronage.db.engine import transaction
from patronage.db.loaders import bound_time
from patronage.db.tables import Member, Order
from patronage.db.volumes import OpenVolume, OpenVolumeCount
from patronage.integrity import check_integrity, stale_volumes
from patronage.network.members import move_owner
from patronage.operations.jobs import JOBS, JobContext
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.orders.refunds import RefundRequest, refund_order
from patronage.value.service import _LIVE_MIX_SQL
from patronage.web.views.team_help import who_needs_help
from tests.e2e.world import NOW, World, app_for, seed, sign_in
from tests.e2e.world import settings as world_settings

pytestmark = pytest.mark.storage
OCT_START = datetime(2026, 10, 1, tzinfo=UTC)


def _slow(engine: Engine, member: int, now: datetime) -> Volumes:
    """The member's volumes summed from the orders, as the pages summed them before."""
    with transaction(engine) as s:
        own = personal_volume(s, member, OCT_START, now + TICK, customer_orders=False)
        both = personal_volume(s, member, OCT_START, now + TICK, customer_orders=True)
        conn = s.connection()
        mix = fetch_rows(conn, _LIVE_MIX_SQL, {"d": member,
                                               "since": bound_time(conn, OCT_START),
                                               "t": bound_time(conn, now)})[0]
    return Volumes(own, both - own, *(int(v) for v in mix))


def _members(engine: Engine) -> list[int]:
    with transaction(engine) as s:
        return list(s.scalars(select(Member.id).order_by(Member.id)))


def _same_as_summed(engine: Engine, now: datetime) -> None:
    ids = _members(engine)
    with transaction(engine) as s:
        fast = open_volumes(s, ids, now, UTC)
        pv = open_pv(s, ids, now, UTC, customer_orders=True)
    for member in ids:
        want = _slow(engine, member, now)
        assert fast.get(member, Volumes()) == want, member
        assert pv.get(member, 0) == want.pv(True), member
    with engine.connect() as conn:
        assert stale_volumes(conn) == []


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


STEP = st.one_of(
    st.tuples(st.just("order"), st.integers(0, 6), st.integers(0, 14 * 24 + 12),
              st.sampled_from(["SHAKE", "TEA"]), st.integers(1, 3)),
    st.tuples(st.just("refund"), st.integers(0, 30), st.integers(0, 24)),
    st.tuples(st.just("count"), st.integers(0, 14 * 24 + 12)),
    st.tuples(st.just("move"), st.integers(0, 3), st.integers(0, 2)),
)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=12))
def test_counted_and_tail_are_the_summed_volumes(engine: Engine, world: World,
                                                 steps: list[tuple[object, ...]]) -> None:
    """Orders and refunds (dated before and after a count, written before and after it),
    counts at any time of the period, customers moving between owners: the volumes read are
    those summed from the orders, at the end and at a later ``now``."""
    w = world
    buyers = [w.ann, w.ben, w.zed, w.cory, w.cleo, w.bea, w.zoe]
    placed: list[tuple[int, datetime]] = []
    for step in steps:
        kind = step[0]
        if kind == "order":
            _k, who, hours, sku, qty = step
            at = OCT_START + timedelta(hours=int(hours))  # type: ignore[call-overload]
            with transaction(engine) as s:
                order = place_order(s, NewOrder(buyers[int(who)], at,  # type: ignore[call-overload]
                                                [LineRequest(str(sku), int(qty))],  # type: ignore[call-overload]
                                                idempotency_key=uuid.uuid4().hex), now=NOW)
                placed.append((order.order.id, at))
        elif kind == "refund" and placed:
            _k, which, later = step
            order_id, at = placed[int(which) % len(placed)]  # type: ignore[call-overload]
            when = min(at + timedelta(hours=int(later)), NOW)  # type: ignore[call-overload]
            with transaction(engine) as s:
                if s.scalar(text(f"SELECT COUNT(*) FROM refunds WHERE order_id = {order_id}")):
                    continue
                refund_order(s, RefundRequest(order_id, when, "test"), now=NOW)
        elif kind == "count":
            count_open_volumes(engine, OCT_START + timedelta(hours=int(step[1])),  # type: ignore[call-overload]
                               UTC)
        elif kind == "move":
            _k, customer, owner = step
            with transaction(engine) as s:
                move_owner(s, [w.cory, w.cleo, w.bea, w.zoe][int(customer)],  # type: ignore[call-overload]
                           [w.ann, w.ben, w.zed][int(owner)], effective_at=NOW,  # type: ignore[call-overload]
                           recorded_at=NOW, actor="test", reason="test")
    _same_as_summed(engine, NOW)
    _same_as_summed(engine, NOW + timedelta(days=3))


def test_the_job_counts_and_the_check_finds_a_stored_figure_that_drifted(
        engine: Engine, world: World) -> None:
    w = world
    with transaction(engine) as s:
        for i, buyer in enumerate((w.ann, w.cory, w.ben)):
            place_order(s, NewOrder(buyer, datetime(2026, 10, 2 + i, tzinfo=UTC),
                                    [LineRequest("SHAKE", 1)], idempotency_key=f"oct-{i}"),
                        now=NOW)
    said = JOBS["open-volumes"].run(JobContext(engine, world_settings(), NOW, NOW))
    assert said.startswith("open volumes of 2026-10 counted")
    with transaction(engine) as s:
        count = s.get(OpenVolumeCount, "2026-10")
        assert count is not None and count.as_of == NOW
        row = s.get(OpenVolume, ("2026-10", w.ann))
        assert row is not None and row.own_pv > 0 and row.customer_pv > 0
    _same_as_summed(engine, NOW)
    assert check_integrity(engine, NOW).ok
    with transaction(engine) as s:  # a figure that is not the orders' any more
        row = s.get(OpenVolume, ("2026-10", w.ann))
        assert row is not None
        row.own_pv += 100
    report = check_integrity(engine, NOW)
    assert [f.check for f in report.findings] == ["open volumes"]
    assert report.findings[0].count == 1 and f"member {w.ann}" in report.findings[0].examples[0]


def test_pages_read_the_same_with_and_without_a_count(engine: Engine, world: World) -> None:
    """Today, My business and who needs help show the same figures from the count and from
    the orders (an order placed after the count included)."""
    w = world
    with transaction(engine) as s:
        place_order(s, NewOrder(w.cory, datetime(2026, 10, 3, tzinfo=UTC),
                                [LineRequest("SHAKE", 1)], idempotency_key="before"), now=NOW)
    client = TestClient(app_for(engine))
    assert sign_in(client, "ann@example.com").status_code == 303
    pages = ("/today", "/business", "/team")
    summed = [client.get(p).text for p in pages]
    with transaction(engine) as s:
        help_summed = who_needs_help(s, w.ann, NOW, UTC)
    count_open_volumes(engine, NOW - timedelta(days=1), UTC)
    with transaction(engine) as s:
        assert s.scalar(select(OpenVolumeCount.period)) == str(Period(2026, 10))
    assert [client.get(p).text for p in pages] == summed
    with transaction(engine) as s:
        assert who_needs_help(s, w.ann, NOW, UTC) == help_summed
        newest = s.scalar(select(Order.id).order_by(Order.id.desc()).limit(1))
    assert newest is not None
