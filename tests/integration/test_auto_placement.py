"""Distributors joining through the shop or a members import are placed in the binary tree at
once, by the placement rule of the plan in force or the side the sponsor's share link names, in
the same transaction as their enrollment."""

from __future__ import annotations

import random
from collections import deque
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from patronage.clock import Period
from patronage.compensation.plan_versions import set_plan
from patronage.db.accounts import AuditEntry
from patronage.db.engine import transaction
from patronage.db.placements import PlacementRecord
from patronage.db.tables import Member
from patronage.errors import PatronageError, Problems
from patronage.network.placement import Spot, children, tree_at
from patronage.orders.csv_import import import_members
from patronage.shop.links import link_side, set_link_side
from tests.e2e.world import EMAILS, NOW, World, seed, sign_in
from tests.integration.test_shop import app, code_of, member_by_email, pay

pytestmark = pytest.mark.storage

L, R = 0, 1
BINARY = """
[plan]
name = "binary test"
version = "b1"
[active]
min_pv = 0
[[ranks]]
name = "Member"
min_pv = 0
[bonuses.binary]
unit = 100
rate = 0.10
placement = "{rule}"
"""


def binary_plan(engine: Engine, rule: str) -> None:
    set_plan(engine, BINARY.format(rule=rule), Period(2026, 10), source="test", actor="test",
             now=NOW)


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def test_a_shop_distributor_is_placed_by_the_plans_rule_or_the_links_side(
        engine: Engine, world: World) -> None:
    client = TestClient(app(engine))
    client.get(f"/join/{code_of(engine, world.ben)}")
    assert pay(client, "enroll", agreement="yes", pack="")[0].status_code == 200
    with transaction(engine) as s:
        assert tree_at(s, NOW) == {}  # the example plan pays no binary bonus
    binary_plan(engine, "extreme_right")
    client = TestClient(app(engine))
    client.get(f"/join/{code_of(engine, world.ben)}")
    r, _ = pay(client, "enroll", agreement="yes", pack="", email="ola@example.com")
    assert r.status_code == 200, r.text
    ola = member_by_email(engine, "ola@example.com").id
    with transaction(engine) as s:
        # Ben (not placed yet) goes to the top first; Ola at the plan's extreme right.
        assert tree_at(s, NOW) == {world.ben: Spot(None, L), ola: Spot(world.ben, R)}
        set_link_side(s, world.ben, "left", now=NOW)
        assert link_side(s, world.ben) == "left"
    client = TestClient(app(engine))
    client.get(f"/join/{code_of(engine, world.ben)}")
    r, _ = pay(client, "enroll", agreement="yes", pack="", email="pia@example.com")
    assert r.status_code == 200, r.text
    pia = member_by_email(engine, "pia@example.com").id
    with transaction(engine) as s:
        assert tree_at(s, NOW)[pia] == Spot(world.ben, L)  # the side Ben's link names
    staff = TestClient(app(engine))
    assert sign_in(staff, EMAILS["staff"]).status_code == 303
    page = staff.get(f"/company/members/{world.ben}").text
    assert "Distributors joining through their share link are placed on their left." in page
    with transaction(engine) as s:
        set_link_side(s, world.ben, None, now=NOW)
        assert link_side(s, world.ben) is None
        with pytest.raises(PatronageError, match="side: give left or right"):
            set_link_side(s, world.ben, "middle", now=NOW)
        with pytest.raises(PatronageError, match="only a distributor's link"):
            set_link_side(s, world.cory, "left", now=NOW)


def _expected(placed: dict[int, Spot], joined: list[tuple[int, int]], rule: str
              ) -> dict[int, Spot]:
    """The tree placed one member at a time, counting the legs by walking them."""
    tree = dict(placed)

    def leg(member: int, side: int) -> list[int]:
        below = children(tree)
        top = below.get(member, {}).get(side)
        out, queue = [], deque([] if top is None else [top])
        while queue:
            m = queue.popleft()
            out.append(m)
            queue.extend(c for _, c in sorted(below.get(m, {}).items()))
        return out

    for member, sponsor in joined:
        if sponsor not in tree:
            tree[sponsor] = Spot(None, L)
        side = (L if len(leg(sponsor, L)) <= len(leg(sponsor, R)) else R) \
            if rule == "weak_leg" else L
        spot = Spot(sponsor, side)
        if children(tree).get(sponsor, {}).get(side) is not None:
            for m in leg(sponsor, side):
                free = [s for s in (L, R) if s not in children(tree).get(m, {})]
                if free:
                    spot = Spot(m, free[0])
                    break
        tree[member] = spot
    return tree


def _members_file(count: int, seed: int = 3) -> tuple[str, list[tuple[int, int]]]:
    """``count`` distributors, each sponsored by an earlier one (the first by D0)."""
    rng = random.Random(seed)
    rows = ["ref,kind,first_name,sponsor_ref,joined_at,timezone"]
    sponsors = []
    start = datetime(2026, 2, 1, tzinfo=UTC)
    for i in range(1, count + 1):
        sponsor = rng.randrange(0, i)
        sponsors.append((i, sponsor))
        at = (start + timedelta(hours=i)).isoformat().replace("+00:00", "Z")
        rows.append(f"D{i},distributor,Dee{i},D{sponsor},{at},UTC")
    return "\n".join(rows) + "\n", sponsors


@pytest.mark.parametrize("rule", ["weak_leg", "left"])
def test_an_import_places_its_distributors_as_one_at_a_time_would(engine: Engine,
                                                                  rule: str) -> None:
    binary_plan(engine, rule)
    import_members(engine, "ref,kind,first_name,joined_at,timezone\n"
                           "D0,distributor,Top,2026-01-01T00:00:00Z,UTC\n", now=NOW)
    text, sponsors = _members_file(60)
    report = import_members(engine, text, now=NOW, dry_run=True)
    assert report.rows == 60
    with transaction(engine) as s:
        ids = {ref: mid for mid, ref in s.execute(select(Member.id, Member.ref))}
        # D0 came in under the binary plan too: placed at the top; the dry run placed nobody.
        assert tree_at(s, NOW) == {ids["D0"]: Spot(None, L)}
    import_members(engine, text, now=NOW)
    with transaction(engine) as s:
        ids = {ref: mid for mid, ref in s.execute(select(Member.id, Member.ref))}
        tree = tree_at(s, NOW)
        placed_at = {m: t for m, t in s.execute(
            select(PlacementRecord.member_id, PlacementRecord.placed_at))}
        audited = s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "placement.place", AuditEntry.actor == "import"))
    expected = _expected({ids["D0"]: Spot(None, L)},
                         [(ids[f"D{m}"], ids[f"D{s}"]) for m, s in sponsors], rule)
    assert tree == expected
    assert placed_at[ids["D60"]] == datetime(2026, 2, 1, tzinfo=UTC) + timedelta(hours=60)
    assert audited == 2


def test_an_import_with_a_bad_row_places_nobody_and_without_binary_nobody_is_placed(
        engine: Engine) -> None:
    text, _ = _members_file(5)
    import_members(engine, "ref,kind,first_name,joined_at,timezone\n"
                           "D0,distributor,Top,2026-01-01T00:00:00Z,UTC\n", now=NOW)
    import_members(engine, text, now=NOW)  # no plan stored: nobody is placed
    with transaction(engine) as s:
        assert tree_at(s, NOW) == {}
    binary_plan(engine, "weak_leg")
    bad = text.replace("D1,distributor", "E1,distributor").replace(
        "D2,distributor,Dee2,", "E2,distributor,,")
    with pytest.raises(Problems):
        import_members(engine, bad, now=NOW)
    with transaction(engine) as s:
        assert tree_at(s, NOW) == {}
        assert s.scalar(select(func.count()).select_from(PlacementRecord)) == 0
