"""My team: who needs help (new, about to go inactive, close to a rank, with a tap to call) and
the tree with its search, on both databases."""

from __future__ import annotations

import contextlib
import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from patronage.clock import Period
from patronage.compensation.open_volumes import count_open_volumes, stale_open_volumes
from patronage.compensation.runs import commit_period
from patronage.db.compensation import RankRecord
from patronage.db.engine import transaction
from patronage.db.tables import Member, Refund
from patronage.errors import IntegrityViolation
from patronage.network.members import deactivate, move_owner, move_sponsor
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.orders.refunds import RefundRequest, refund_order
from patronage.web.views.team_help import team_tree, who_needs_help
from tests import factories as f
from tests.e2e.world import NOW, app_for, seed, sign_in

pytestmark = pytest.mark.storage
OCT_START = datetime(2026, 10, 1, tzinfo=UTC)


def _team(engine: Engine) -> dict[str, int]:
    w = seed(engine)
    with transaction(engine) as s:
        dee = f.distributor(s, "Dee", sponsor=w.ann, joined_at=datetime(2026, 9, 1, tzinfo=UTC),
                            phone="+1 312 555 0199")
        eve = f.distributor(s, "Eve", sponsor=w.ben, joined_at=datetime(2026, 10, 1, tzinfo=UTC))
        f.customer(s, dee, "Dot", joined_at=datetime(2026, 9, 2, tzinfo=UTC))
        place_order(s, NewOrder(dee, datetime(2026, 9, 10, tzinfo=UTC),
                                [LineRequest("SHAKE", 22)], idempotency_key="dee-9"), now=NOW)
    commit_period(engine, Period(2026, 9), None, now=NOW, actor="test")
    return {"ann": w.ann, "ben": w.ben, "dee": dee, "eve": eve}


def test_who_needs_help(engine: Engine) -> None:
    t = _team(engine)
    with transaction(engine) as s:
        h = who_needs_help(s, t["ann"], NOW, UTC)
    assert [(p.name, p.note, p.customers, p.level) for p in h.new] == [
        ("Eve", "30", 0, 2), ("Dee", "60", 1, 1)]
    assert {p.name: (p.pv, p.need) for p in h.inactive} == {"Ben": (0, 10_000),
                                                            "Dee": (0, 10_000)}
    assert [(p.name, p.note, p.pv, p.need) for p in h.close] == [
        ("Dee", "Senior Consultant", 88_000, 100_000)]
    with transaction(engine) as s:  # Ben sees only his own downline
        ben = who_needs_help(s, t["ben"], NOW, UTC)
    assert [p.name for p in ben.new] == ["Eve"] and ben.inactive == [] and ben.close == []


def test_who_needs_help_reads_the_same_in_lists_of_any_size(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each one's record and counted volume are read for the walk's ids in lists: one id a
    list gives the same people, order and figures as one list for all, with a count and an
    order after it."""
    import patronage.web.views.team_help as team_help

    t = _team(engine)
    count_open_volumes(engine, datetime(2026, 10, 2, tzinfo=UTC), UTC)
    with transaction(engine) as s:
        place_order(s, NewOrder(t["ben"], datetime(2026, 10, 3, tzinfo=UTC),
                                [LineRequest("SHAKE", 1)], idempotency_key="ben-10"), now=NOW)
    with transaction(engine) as s:
        whole = who_needs_help(s, t["ann"], NOW, UTC)
    monkeypatch.setattr(team_help, "CHUNK", 1)
    with transaction(engine) as s:
        assert who_needs_help(s, t["ann"], NOW, UTC) == whole
    assert [p.name for p in whole.new] == ["Eve", "Dee"] and whole.close
    # Ben: the order after the count
    assert {p.name: p.pv for p in whole.inactive} == {"Ben": 4_000, "Dee": 0}


def test_a_leader_short_of_their_ranks_volume_is_at_risk(engine: Engine) -> None:
    """Paid as a rank above the first last month and short of its PV so far: at risk; the
    team help page lists them with the rank and the volume so far."""
    t = _team(engine)
    with transaction(engine) as s:
        assert who_needs_help(s, t["ann"], NOW, UTC).rank_risk == []
        record = s.scalars(select(RankRecord).where(RankRecord.member_id == t["dee"])).one()
        record.paid_as = 1  # Dee was paid as Senior Consultant in September
    with transaction(engine) as s:
        h = who_needs_help(s, t["ann"], NOW, UTC)
    assert [(p.name, p.note, p.pv, p.need) for p in h.rank_risk] == [
        ("Dee", "Senior Consultant", 0, 10_000)]
    with transaction(engine) as s:  # an order this month puts her back on track
        place_order(s, NewOrder(t["dee"], datetime(2026, 10, 3, tzinfo=UTC),
                                [LineRequest("SHAKE", 3)], idempotency_key="dee-10"), now=NOW)
    with transaction(engine) as s:
        assert who_needs_help(s, t["ann"], NOW, UTC).rank_risk == []


def test_the_tree_and_its_search(engine: Engine) -> None:
    t = _team(engine)
    with transaction(engine) as s:
        tree, cut = team_tree(s, t["ann"])
        found, _cut = team_tree(s, t["ann"], query="eve")
    assert not cut
    assert [(n.name, [c.name for c in n.children]) for n in tree] == [
        ("Ben", ["Eve"]), ("Dee", [])]
    assert [(n.name, [c.name for c in n.children]) for n in found] == [("Ben", ["Eve"])]


def test_the_team_page_shows_help_with_a_tap_to_call_and_no_ids(engine: Engine) -> None:
    t = _team(engine)
    ann = TestClient(app_for(engine))
    assert sign_in(ann, "ann@example.com").status_code == 303
    page = html.unescape(ann.get("/team").text)
    help_ = page[page.index('id="help"'):page.index('id="tree"')]
    assert 'href="tel:+13125550199"' in help_ and "first 60 days · 1 customer" in help_
    assert "0.00 of 100.00 PV so far" in help_
    assert "Senior Consultant: GV 880.00 of 1,000.00 last month" in help_
    assert "<details" in page and "Eve" in ann.get("/team?q=eve").text
    assert not re.search(r"#\d+\b", page.split("</header>")[1].replace("#tree", "")), page
    assert t


STEP = st.one_of(
    st.tuples(st.just("order"), st.integers(0, 6), st.integers(0, 14 * 24 + 12),
              st.integers(1, 12)),
    st.tuples(st.just("refund"), st.integers(0, 30)),
    st.tuples(st.just("count"), st.integers(0, 14 * 24 + 12)),
    st.tuples(st.just("owner"), st.integers(0, 2), st.integers(0, 3)),
    st.tuples(st.just("sponsor"), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just("join"), st.integers(0, 5), st.integers(0, 120)),
    st.tuples(st.just("deactivate"), st.integers(1, 5)),
)


@pytest.fixture
def team(engine: Engine) -> dict[str, int]:
    return _team(engine)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=10))
def test_the_stored_flags_read_as_the_whole_downline(engine: Engine, team: dict[str, int],
                                                     steps: list[tuple[int | str, ...]]) -> None:
    """With the job's count and its flags, after orders and refunds (before and after it),
    customers and distributors moved, distributors joined or deactivated: every leader's lists
    read from the flags are the whole downline's judged (same people, order and figures), for
    lists of one and of twenty, now and days later; and ``patronage check`` finds nothing.
    (The examples follow one another on the same company.)"""
    t = team
    with transaction(engine) as s:
        cust = [int(i) for i in s.scalars(select(Member.id).where(
            Member.kind != "distributor").order_by(Member.id))]
    people = [t["ann"], t["ben"], t["dee"], t["eve"]]
    placed: list[int] = []
    for step in steps:
        kind, args = step[0], [int(a) for a in step[1:]]
        with transaction(engine) as s:
            dists = [int(i) for i in s.scalars(select(Member.id).where(
                Member.kind == "distributor").order_by(Member.id))]
            if kind == "order":
                buyers = people + cust
                order = place_order(s, NewOrder(
                    buyers[args[0] % len(buyers)],
                    OCT_START + timedelta(hours=max(6, args[1])),
                    [LineRequest("SHAKE", args[2])], idempotency_key=uuid.uuid4().hex), now=NOW)
                placed.append(order.order.id)
            elif kind == "refund" and placed:
                order_id = placed[args[0] % len(placed)]
                if not s.scalar(select(func.count()).select_from(Refund)
                                .where(Refund.order_id == order_id)):
                    refund_order(s, RefundRequest(order_id, NOW, "test"), now=NOW)
            elif kind == "owner":
                move_owner(s, cust[args[1] % len(cust)], people[args[0] % 3], effective_at=NOW,
                           recorded_at=NOW, actor="test", reason="test")
            elif kind == "sponsor":
                who, under = dists[args[0] % len(dists)], dists[args[1] % len(dists)]
                if who != t["ann"] and who != under:
                    with contextlib.suppress(IntegrityViolation):
                        move_sponsor(s, who, under, effective_at=NOW, recorded_at=NOW,
                                     actor="test", reason="test")
            elif kind == "join":
                f.distributor(s, "New", sponsor=dists[args[0] % len(dists)],
                              joined_at=NOW - timedelta(days=args[1]))
            elif kind == "deactivate":
                deactivate(s, dists[args[0] % len(dists)], at=NOW)
        if kind == "count":
            count_open_volumes(engine, OCT_START + timedelta(hours=args[0]), UTC)
    with engine.connect() as conn:
        assert stale_open_volumes(conn, 10) == (0, [])
    with transaction(engine) as s:
        roots = [int(i) for i in s.scalars(select(Member.id).where(
            Member.kind == "distributor").order_by(Member.id))]
    for now in (NOW, NOW + timedelta(days=3), NOW + timedelta(days=16)):
        for root in roots:
            for limit in (1, 20):
                with transaction(engine) as s:
                    fast = who_needs_help(s, root, now, UTC, limit=limit)
                    slow = who_needs_help(s, root, now, UTC, limit=limit, stored=False)
                assert fast == slow, (root, limit, now)


def test_the_flags_are_read_and_corrected_after_the_count(engine: Engine) -> None:
    """A count, then an order and a refund, a deactivation: the lists are read from the flags
    (not the downline), and are what the downline gives."""
    import patronage.web.views.team_help as team_help

    t = _team(engine)
    count_open_volumes(engine, datetime(2026, 10, 2, tzinfo=UTC), UTC)
    with transaction(engine) as s:
        place_order(s, NewOrder(t["ben"], datetime(2026, 10, 3, tzinfo=UTC),
                                [LineRequest("SHAKE", 1)], idempotency_key="ben-10"), now=NOW)
        deactivate(s, t["eve"], at=NOW)
    walks: list[int] = []
    real = team_help.fetch_rows

    def counted(*a: Any, **k: Any) -> Any:  # the walk down the downline
        if a[1] == team_help._HELP_SQL:
            walks.append(1)
        return real(*a, **k)

    team_help.fetch_rows = counted  # type: ignore[assignment]
    try:
        with transaction(engine) as s:
            slow = who_needs_help(s, t["ann"], NOW, UTC, stored=False)
        assert walks
        walks.clear()
        with transaction(engine) as s:
            fast = who_needs_help(s, t["ann"], NOW, UTC)
    finally:
        team_help.fetch_rows = real  # type: ignore[assignment]
    assert not walks and fast == slow
    assert [p.name for p in fast.new] == ["Dee"]
    assert {p.name: p.pv for p in fast.inactive} == {"Ben": 4_000, "Dee": 0}
    assert [p.name for p in fast.close] == ["Dee"]
    with engine.connect() as conn:
        assert stale_open_volumes(conn, 10) == (0, [])
        conn.execute(text("UPDATE help_flags SET key1 = key1 + 1 WHERE list = 'close'"))
        conn.commit()
        count, bad = stale_open_volumes(conn, 10)
    assert count >= 1 and "who needs help" in bad[0]


def test_a_join_since_the_count_makes_only_the_leaders_above_it_walk(engine: Engine) -> None:
    """A distributor joining under Dee after the count: Ann (Dee's sponsor) walks her downline
    for the new one, Ben (beside Dee) keeps reading the flags; both answers are the walk's."""
    import patronage.web.views.team_help as team_help

    t = _team(engine)
    count_open_volumes(engine, datetime(2026, 10, 2, tzinfo=UTC), UTC)
    with transaction(engine) as s:
        f.distributor(s, "Fay", sponsor=t["dee"], joined_at=datetime(2026, 10, 3, tzinfo=UTC))
    walks: list[int] = []
    real = team_help.fetch_rows

    def counted(*a: Any, **k: Any) -> Any:  # the walk down the downline
        if a[1] == team_help._HELP_SQL:
            walks.append(1)
        return real(*a, **k)

    team_help.fetch_rows = counted  # type: ignore[assignment]
    try:
        seen: dict[str, bool] = {}
        for name in ("ann", "ben"):
            walks.clear()
            with transaction(engine) as s:
                fast = who_needs_help(s, t[name], NOW, UTC)
            seen[name] = bool(walks)
            with transaction(engine) as s:
                assert fast == who_needs_help(s, t[name], NOW, UTC, stored=False), name
    finally:
        team_help.fetch_rows = real  # type: ignore[assignment]
    assert seen == {"ann": True, "ben": False}
    with transaction(engine) as s:
        assert "Fay" in [p.name for p in who_needs_help(s, t["ann"], NOW, UTC).new]
    with engine.connect() as conn:
        assert stale_open_volumes(conn, 10) == (0, [])
