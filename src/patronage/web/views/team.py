"""A distributor's team: the downline printout by level, as of a committed period.

The tree is walked down the sponsor links (indexed) only as deep as the level asked for, one
page at a time; ranks and volumes come from the period's committed ``rank_records``. As of a
period, members who joined after it are left out, and sponsor moves and upgrades effective after
it are undone (dated genealogy changes), so the printout shows the tree the period was paid on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session

from patronage.db.compensation import CommissionRun, RankRecord
from patronage.db.tables import GenealogyChange, Member
from patronage.web.views.business import _rank, rank_names

PAGE_SIZE = 50
MAX_LEVEL = 30


@dataclass
class TeamRow:
    level: int
    id: int
    name: str
    sponsor_id: int | None
    joined_at: datetime
    paid_as: str
    pv: int
    gv: int
    customers: int


@dataclass
class TeamPage:
    rows: list[TeamRow]
    level: int
    total: int
    page: int
    pages: int
    period: str | None


def _level_query(root_id: int, level: int, until: datetime | None) -> Select[tuple[int, int]]:
    """(member id, level) of the distributors at exactly ``level`` below ``root_id``."""
    joined = [Member.joined_at < until] if until is not None else []
    if level == 1:  # the front line: one indexed read, no walk
        front = select(Member.id.label("id"), literal(1).label("depth")).where(
            Member.sponsor_id == root_id, Member.kind == "distributor", *joined)
        return front  # type: ignore[return-value]  # the same two columns as below
    tree = select(Member.id.label("id"), literal(0).label("depth")).where(
        Member.id == root_id).cte(name="team", recursive=True)
    tree = tree.union_all(
        select(Member.id, (tree.c.depth + 1).label("depth"))
        .where(Member.sponsor_id == tree.c.id, Member.kind == "distributor",
               tree.c.depth < level, *joined))
    return select(tree.c.id, tree.c.depth).where(tree.c.depth == level)


@dataclass
class _Undo:
    """The tree as of a moment, where it differs from today: each moved distributor's sponsor
    then, and the members who were not yet distributors."""

    sponsor_then: dict[int, int | None]
    not_distributor: set[int]

    @property
    def empty(self) -> bool:
        return not self.sponsor_then and not self.not_distributor


def _undo(session: Session, until: datetime | None) -> _Undo:
    if until is None:
        return _Undo({}, set())
    changes = session.execute(
        select(GenealogyChange.member_id, GenealogyChange.field, GenealogyChange.old_value)
        .where(GenealogyChange.effective_at >= until, GenealogyChange.field.in_(("sponsor",
                                                                                "kind")))
        .order_by(GenealogyChange.effective_at.desc(), GenealogyChange.id.desc())).all()
    sponsor_then: dict[int, int | None] = {}
    kind_then: dict[int, str | None] = {}
    for member_id, what, old in changes:  # newest first: the last one written is the earliest
        if what == "sponsor":
            sponsor_then[member_id] = int(old) if old else None
        else:
            kind_then[member_id] = old
    return _Undo(sponsor_then, {m for m, k in kind_then.items() if k != "distributor"})


def _children(session: Session, parents: list[int], until: datetime | None,
              undo: _Undo) -> list[int]:
    """Distributors sponsored by any of ``parents`` (as of ``until``), by id."""
    joined = [Member.joined_at < until] if until is not None else []
    now_ids = set(session.scalars(select(Member.id).where(
        Member.sponsor_id.in_(parents), Member.kind == "distributor", *joined)))
    wanted = set(parents)
    moved_in = [m for m, then in undo.sponsor_then.items() if then in wanted]
    if moved_in:
        now_ids |= set(session.scalars(select(Member.id).where(Member.id.in_(moved_in),
                                                               *joined)))
    return sorted(m for m in now_ids if m not in undo.not_distributor
                  and (m not in undo.sponsor_then or undo.sponsor_then[m] in wanted))


def _walk(session: Session, root_id: int, level: int, until: datetime | None,
          undo: _Undo, chunk: int = 500) -> list[int]:
    """The ids at exactly ``level`` below the root, level by level (used when moves after the
    period must be undone)."""
    frontier = [root_id]
    for _ in range(level):
        nxt: list[int] = []
        for at in range(0, len(frontier), chunk):
            nxt.extend(_children(session, frontier[at:at + chunk], until, undo))
        frontier = sorted(nxt)
        if not frontier:
            break
    return frontier


def _run_for(session: Session, period: str | None) -> CommissionRun | None:
    q = select(CommissionRun)
    q = q.where(CommissionRun.period == period) if period else q.where(
        CommissionRun.calendar == "month").order_by(CommissionRun.period.desc())
    return session.scalars(q.limit(1)).first()


def _rows(session: Session, ids_levels: list[tuple[int, int]],
          run: CommissionRun | None) -> list[TeamRow]:
    ids = [i for i, _ in ids_levels]
    if not ids:
        return []
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids)))}
    ranks = {r.member_id: r for r in session.scalars(select(RankRecord).where(
        RankRecord.run_id == run.id, RankRecord.member_id.in_(ids)))} if run else {}
    customers = dict(session.execute(
        select(Member.owner_id, func.count()).where(
            Member.owner_id.in_(ids), Member.kind != "distributor")
        .group_by(Member.owner_id)).all())
    names = rank_names(run.plan_text) if run else ()
    out = []
    for member_id, level in ids_levels:
        m, r = members[member_id], ranks.get(member_id)
        out.append(TeamRow(level, m.id, m.name, m.sponsor_id, m.joined_at,
                           _rank(names, r.paid_as if r else -1), r.pv if r else 0,
                           r.gv if r else 0, int(customers.get(member_id, 0))))
    return out


def team_level(session: Session, root_id: int, *, level: int = 1, page: int = 1,
               period: str | None = None, until: datetime | None = None) -> TeamPage:
    """One page of the distributors at ``level`` under the root, with the period's figures."""
    level = min(max(1, level), MAX_LEVEL)
    run = _run_for(session, period)
    undo = _undo(session, until)
    if undo.empty:
        q = _level_query(root_id, level, until).subquery()
        total = session.scalar(select(func.count()).select_from(q)) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        ids_levels = [(int(i), int(d)) for i, d in session.execute(
            select(q.c.id, q.c.depth).order_by(q.c.id).limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)).all()]
    else:
        everyone = _walk(session, root_id, level, until, undo)
        total = len(everyone)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        ids_levels = [(i, level) for i in everyone[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
    return TeamPage(_rows(session, ids_levels, run), level, total, page, pages,
                    run.period if run else None)


def team_csv_rows(session: Session, root_id: int, *, period: str | None = None,
                  until: datetime | None = None, chunk: int = 500) -> Iterator[TeamRow]:
    """The whole downline, level by level, for the CSV export."""
    run = _run_for(session, period)
    undo = _undo(session, until)
    frontier = [root_id]
    level = 0
    while frontier and level < MAX_LEVEL:
        level += 1
        nxt: list[int] = []
        for start in range(0, len(frontier), chunk):
            ids = _children(session, frontier[start:start + chunk], until, undo)
            nxt.extend(ids)
            for at in range(0, len(ids), chunk):
                yield from _rows(session, [(i, level) for i in ids[at:at + chunk]], run)
        frontier = nxt
