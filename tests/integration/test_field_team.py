"""My team: who needs help (new, about to go inactive, close to a rank, with a tap to call) and
the tree with its search, on both databases."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage.clock import Period
from patronage.compensation.open_volumes import count_open_volumes
from patronage.compensation.runs import commit_period
from patronage.db.compensation import RankRecord
from patronage.db.engine import transaction
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.web.views.team_help import team_tree, who_needs_help
from tests import factories as f
from tests.e2e.world import NOW, app_for, seed, sign_in

pytestmark = pytest.mark.storage


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
