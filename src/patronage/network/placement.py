"""The placement (binary) tree: where each distributor sits, left or right of another, beside
the sponsor tree.

A distributor is placed once, on enrollment, by a rule relative to their sponsor
(:data:`RULES`) or on a named spot; staff may move them later (their own downline moves with
them), each move audited. Every placement is dated, so the tree can be read as of any moment
(:func:`tree_at`); the binary bonus reads it as of a period's end (:func:`load_placement`).

Rules, each starting from the sponsor's place in the tree:

- ``left`` / ``right``: the sponsor's own spot on that side if free, else the first free spot
  of that leg, level by level, left before right (spillover);
- ``extreme_left`` / ``extreme_right``: the bottom of that leg's outside edge;
- ``weak_leg``: ``left`` or ``right``, whichever leg of the sponsor has fewer members placed
  (the left one on a tie).

A sponsor not placed yet is placed first, at the top (a new root). A sponsor's share link may
name a side instead (:func:`place_joined`): spillover on that side.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, insert, or_, select
from sqlalchemy.orm import Session

from patronage import audit
from patronage.clock import require_aware
from patronage.db.accounts import AuditEntry
from patronage.db.compensation import CommissionRun
from patronage.db.placements import BinaryCarry, PlacementRecord
from patronage.db.tables import Member
from patronage.errors import IntegrityViolation, NotFound, PatronageError
from patronage.facts import SIDE_CODES, SIDE_LEFT, Genealogy, Placement

RULES = ("left", "right", "extreme_left", "extreme_right", "weak_leg")
SIDE_NAMES = {code: name for name, code in SIDE_CODES.items()}


@dataclass(frozen=True)
class Spot:
    """A place in the tree: ``side`` of ``parent`` (``parent`` None: at the top)."""

    parent: int | None
    side: int

    def words(self) -> str:
        if self.parent is None:
            return "at the top"
        return f"{SIDE_NAMES[self.side]} of member {self.parent}"


def _open_rows(session: Session) -> dict[int, Spot]:
    return tree_rows(session)


def tree_at(session: Session | Connection, at: datetime) -> dict[int, Spot]:
    """Every member's spot as of ``at`` (members placed later or never are absent)."""
    require_aware(at, place="at")
    rows = session.execute(
        select(PlacementRecord.member_id, PlacementRecord.parent_id, PlacementRecord.side)
        .where(PlacementRecord.placed_at <= at,
               or_(PlacementRecord.ended_at.is_(None), PlacementRecord.ended_at > at))).all()
    return {int(m): Spot(p, int(s)) for m, p, s in rows}


def children(tree: dict[int, Spot]) -> dict[int, dict[int, int]]:
    """For each parent, the member on each side."""
    out: dict[int, dict[int, int]] = {}
    for member, spot in tree.items():
        if spot.parent is not None:
            out.setdefault(spot.parent, {})[spot.side] = member
    return out


def leg_members(tree: dict[int, Spot], member: int) -> tuple[list[int], list[int]]:
    """The members of ``member``'s left and right legs, level by level."""
    below = children(tree)
    legs: list[list[int]] = []
    for side in (0, 1):
        top = below.get(member, {}).get(side)
        found: list[int] = []
        queue = deque([top] if top is not None else [])
        while queue:
            m = queue.popleft()
            found.append(m)
            queue.extend(child for s, child in sorted(below.get(m, {}).items()))
        legs.append(found)
    return legs[0], legs[1]


class Layout:
    """The open tree kept for placing many members in a row: who is below each member and
    how many members each subtree holds, both kept up to date as members are added, so a rule
    costs the length of a path (spillover: the leg's levels down to the first free spot) rather
    than a walk of the whole tree."""

    def __init__(self, tree: dict[int, Spot], *, counting: bool = True) -> None:
        self.below = children(tree)
        self.parent = {m: s.parent for m, s in tree.items()}
        #: Subtree sizes, kept only when counting (the weak-leg rule needs them).
        self.counting = counting
        self.size = dict.fromkeys(tree, 1)
        if counting:
            order = [m for m, s in tree.items() if s.parent is None or s.parent not in tree]
            for m in order:  # grows as it goes: every member, each after their parent
                order.extend(self.below.get(m, {}).values())
            for m in reversed(order):
                above = self.parent[m]
                if above is not None and above in self.size:
                    self.size[above] += self.size[m]

    def __contains__(self, member: int) -> bool:
        return member in self.parent

    def leg_size(self, member: int, side: int) -> int:
        assert self.counting, "leg sizes are kept only when counting"
        top = self.below.get(member, {}).get(side)
        return 0 if top is None else self.size[top]

    def add(self, member: int, spot: Spot) -> None:
        self.parent[member] = spot.parent
        self.size[member] = 1
        if spot.parent is not None:
            self.below.setdefault(spot.parent, {})[spot.side] = member
        above = spot.parent
        while self.counting and above is not None:
            self.size[above] += 1
            above = self.parent.get(above)

    def spillover(self, start: int, side: int) -> Spot:
        """The first free spot on ``side`` of ``start``, else of that leg, level by level."""
        top = self.below.get(start, {}).get(side)
        if top is None:
            return Spot(start, side)
        queue = deque([top])
        while queue:
            m = queue.popleft()
            for s in (0, 1):
                child = self.below.get(m, {}).get(s)
                if child is None:
                    return Spot(m, s)
                queue.append(child)
        raise AssertionError("a finite leg has a free spot")

    def extreme(self, start: int, side: int) -> Spot:
        at = start
        while side in self.below.get(at, {}):
            at = self.below[at][side]
        return Spot(at, side)

    def spot(self, sponsor: int, rule: str) -> Spot:
        """Where a new distributor sponsored by ``sponsor`` (placed) goes under ``rule``."""
        if rule in ("left", "right"):
            return self.spillover(sponsor, SIDE_CODES[rule])
        if rule in ("extreme_left", "extreme_right"):
            return self.extreme(sponsor, SIDE_CODES[rule.removeprefix("extreme_")])
        if rule == "weak_leg":
            weak = self.leg_size(sponsor, SIDE_LEFT) <= self.leg_size(sponsor, 1)
            return self.spillover(sponsor, SIDE_LEFT if weak else 1)
        raise PatronageError(f"placement rule: {rule!r} is not one of {', '.join(RULES)}")


def spot_by_rule(tree: dict[int, Spot], sponsor: int, rule: str) -> Spot:
    """Where a new distributor sponsored by ``sponsor`` (placed) goes under ``rule``."""
    return Layout(tree, counting=rule == "weak_leg").spot(sponsor, rule)


def _distributor(session: Session, member_id: int, role: str) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"{role} {member_id} does not exist")
    if member.kind != "distributor":
        raise IntegrityViolation(f"{role} {member_id} is not a distributor: only distributors "
                                 "are placed")
    if member.status in ("terminated", "erased"):
        raise IntegrityViolation(f"{role} {member_id} is {member.status}")
    return member


def _insert(session: Session, member_id: int, spot: Spot, at: datetime, actor: str) -> None:
    session.add(PlacementRecord(member_id=member_id, parent_id=spot.parent, side=spot.side,
                                placed_at=at, placed_by=actor[:100]))
    session.flush()


def _check_free(tree: dict[int, Spot], spot: Spot) -> None:
    if spot.parent is None:
        return
    if spot.parent not in tree:
        raise IntegrityViolation(f"member {spot.parent} is not placed: place them first")
    taken = children(tree).get(spot.parent, {}).get(spot.side)
    if taken is not None:
        raise IntegrityViolation(f"the {SIDE_NAMES[spot.side]} of member {spot.parent} is "
                                 f"taken by member {taken}")


def place(session: Session, member_id: int, *, at: datetime, actor: str,
          rule: str | None = None, under: int | None = None, side: str | None = None) -> Spot:
    """Place an unplaced distributor: by ``rule`` relative to their sponsor, or on ``side``
    of ``under``. Returns the spot. Placing a member already placed is refused (move them)."""
    require_aware(at, place="at")
    member = _distributor(session, member_id, "member")
    tree = _open_rows(session)
    if member_id in tree:
        raise IntegrityViolation(f"member {member_id} is already placed "
                                 f"({tree[member_id].words()}): move them instead")
    if under is not None:
        if side not in SIDE_CODES:
            raise PatronageError(f"side: give left or right, not {side!r}")
        _distributor(session, under, "member")
        spot = Spot(under, SIDE_CODES[side])
        _check_free(tree, spot)
    elif rule is not None:
        sponsor = member.sponsor_id
        if sponsor is None:
            spot = Spot(None, SIDE_LEFT)
        else:
            if sponsor not in tree:
                _insert(session, sponsor, Spot(None, SIDE_LEFT), at, actor)
                tree[sponsor] = Spot(None, SIDE_LEFT)
            spot = spot_by_rule(tree, sponsor, rule)
    else:
        raise PatronageError("placement: give a rule, or a member to place under and a side")
    _insert(session, member_id, spot, at, actor)
    audit.record(session, actor=actor, action="placement.place", target=f"member {member_id}",
                 detail=f"placed {spot.words()}" + (f" (rule {rule})" if rule else ""), at=at)
    return spot


def move(session: Session, member_id: int, *, under: int | None, side: str, at: datetime,
         actor: str, reason: str) -> Spot:
    """Move a placed distributor (with their downline) to ``side`` of ``under`` (None: to the
    top) from ``at`` on; refuses cycles and taken spots; audited with ``reason``."""
    require_aware(at, place="at")
    if not reason.strip():
        raise PatronageError("reason: a placement move needs a reason")
    if side not in SIDE_CODES:
        raise PatronageError(f"side: give left or right, not {side!r}")
    _distributor(session, member_id, "member")
    tree = _open_rows(session)
    if member_id not in tree:
        raise IntegrityViolation(f"member {member_id} is not placed: place them first")
    spot = Spot(under, SIDE_CODES[side])
    if under is not None:
        _distributor(session, under, "member")
        above: int | None = under
        while above is not None:
            if above == member_id:
                raise IntegrityViolation(f"moving {member_id} under {under} would make a "
                                         f"cycle: {under} is in {member_id}'s placement downline")
            above = tree[above].parent if above in tree else None
        _check_free(tree, spot)
    old = tree[member_id]
    row = session.scalar(select(PlacementRecord).where(PlacementRecord.member_id == member_id,
                                                       PlacementRecord.ended_at.is_(None)))
    assert row is not None
    if row.placed_at > at:
        raise PatronageError(f"at: member {member_id} was placed after {at.isoformat()}")
    row.ended_at = at
    session.flush()
    _insert(session, member_id, spot, at, actor)
    audit.record(session, actor=actor, action="placement.move", target=f"member {member_id}",
                 detail=f"moved from {old.words()} to {spot.words()}: {reason.strip()}", at=at)
    return spot


def load_placement(conn: Session | Connection, genealogy: Genealogy,
                   at: datetime) -> Placement | None:
    """The placement tree as of ``at`` by member index of ``genealogy`` (None: nobody is
    placed). Members placed under someone outside the genealogy sit at the top."""
    tree = tree_at(conn, at)
    if not tree:
        return None
    ids = np.fromiter(tree, dtype=np.int64, count=len(tree))
    parents = np.array([-1 if s.parent is None else s.parent for s in tree.values()],
                       dtype=np.int64)
    sides = np.array([s.side for s in tree.values()], dtype=np.int8)
    idx = genealogy.index_of(ids)
    known = idx >= 0
    parent = np.full(genealogy.size, -1, dtype=np.int64)
    side = np.zeros(genealogy.size, dtype=np.int8)
    parent[idx[known]] = genealogy.index_of(parents[known])
    side[idx[known]] = sides[known]
    return Placement(parent=parent, side=side)


@dataclass(frozen=True)
class LegView:
    """One leg of a member: who is placed right below on that side, and how many in all."""

    top: int | None
    members: int
    carried: int  # leg volume the last committed run carried over (hundredths of a point)


@dataclass(frozen=True)
class PlacementView:
    """A member's place in the placement tree as of ``at``, and their two legs."""

    at: datetime
    spot: Spot | None
    left: LegView
    right: LegView


def placement_view(session: Session, member_id: int, at: datetime) -> PlacementView:
    """Where ``member_id`` sits as of ``at`` and what their legs hold (carried volume: from
    the latest committed run)."""
    tree = tree_at(session, at)
    below = children(tree).get(member_id, {})
    left, right = leg_members(tree, member_id)
    carried = session.execute(
        select(BinaryCarry.left_volume, BinaryCarry.right_volume)
        .join(CommissionRun, CommissionRun.id == BinaryCarry.run_id)
        .where(BinaryCarry.member_id == member_id)
        .order_by(CommissionRun.id.desc()).limit(1)).first()
    carry_left, carry_right = (int(carried[0]), int(carried[1])) if carried else (0, 0)
    return PlacementView(at, tree.get(member_id),
                         LegView(below.get(0), len(left), carry_left),
                         LegView(below.get(1), len(right), carry_right))


def place_unplaced(session: Session, rule: str, *, actor: str, at: datetime) -> int:
    """Place every distributor not placed yet, in joining order, by ``rule`` relative to their
    sponsor, each as of the day they joined (for a company that starts paying a binary plan);
    one audit entry. Returns how many were placed."""
    if rule not in RULES:
        raise PatronageError(f"placement rule: {rule!r} is not one of {', '.join(RULES)}")
    layout = Layout(_open_rows(session), counting=rule == "weak_leg")
    rows = session.execute(select(Member.id, Member.sponsor_id, Member.joined_at)
                           .where(Member.kind == "distributor",
                                  Member.status.not_in(("terminated", "erased")))
                           .order_by(Member.joined_at, Member.id)).all()
    added = []
    for member_id, sponsor, joined in rows:
        if member_id in layout:
            continue
        if sponsor is None or sponsor not in layout:
            spot = Spot(None, SIDE_LEFT)
        else:
            spot = layout.spot(sponsor, rule)
        layout.add(member_id, spot)
        added.append(PlacementRecord(member_id=member_id, parent_id=spot.parent, side=spot.side,
                                     placed_at=joined, placed_by=actor[:100]))
    session.add_all(added)
    session.flush()
    audit.record(session, actor=actor, action="placement.place", target="distributors",
                 detail=f"{len(added)} placed by rule {rule}, each as of joining", at=at)
    return len(added)


def place_joined(conn: Connection, joined: list[tuple[int, int | None, datetime]], rule: str,
                 *, actor: str, at: datetime, sides: dict[int, int] | None = None) -> int:
    """Place distributors who just joined (member id, sponsor id, joined at), in that order,
    each as of joining, by ``rule`` relative to their sponsor, or on the side their sponsor's
    share link names (``sides``: sponsor id → side; spillover on that side); a sponsor not
    placed yet is placed first, at the top. Written in one batched insert, on ``conn``'s
    transaction, with one audit entry. Returns how many rows were written."""
    if rule not in RULES:
        raise PatronageError(f"placement rule: {rule!r} is not one of {', '.join(RULES)}")
    layout = Layout(tree_rows(conn), counting=rule == "weak_leg")
    member, parent, side, placed = [], [], [], []

    def put(member_id: int, spot: Spot, when: datetime) -> None:
        layout.add(member_id, spot)
        member.append(member_id)
        parent.append(spot.parent)
        side.append(spot.side)
        placed.append(when)

    for member_id, sponsor, when in joined:
        if member_id in layout:
            continue
        if sponsor is None:
            put(member_id, Spot(None, SIDE_LEFT), when)
            continue
        if sponsor not in layout:
            put(sponsor, Spot(None, SIDE_LEFT), when)
        chosen = (sides or {}).get(sponsor)
        spot = layout.spot(sponsor, rule) if chosen is None else layout.spillover(sponsor, chosen)
        put(member_id, spot, when)
    if not member:
        return 0
    conn.execute(insert(PlacementRecord), [
        {"member_id": m, "parent_id": p, "side": s, "placed_at": t, "placed_by": actor[:100]}
        for m, p, s, t in zip(member, parent, side, placed, strict=True)])
    conn.execute(insert(AuditEntry).values(
        at=require_aware(at, place="at"), actor=actor[:254], action="placement.place",
        target="distributors", detail=f"{len(member)} placed by rule {rule} on joining"))
    return len(member)


def tree_rows(conn: Session | Connection) -> dict[int, Spot]:
    """Every placed member's spot now (the open rows)."""
    rows = conn.execute(select(PlacementRecord.member_id, PlacementRecord.parent_id,
                               PlacementRecord.side)
                        .where(PlacementRecord.ended_at.is_(None))).all()
    return {int(m): Spot(p, int(s)) for m, p, s in rows}
