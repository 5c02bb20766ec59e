"""A distributor's team: the downline printout by level, as of a committed period.

The tree is walked down the sponsor links (indexed) only as deep as the level asked for, one
page at a time; ranks and volumes come from the period's committed ``rank_records``. Members who
joined after the period are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session

from patronage.db.compensation import CommissionRun, RankRecord
from patronage.db.tables import Member
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
    tree = select(Member.id.label("id"), literal(0).label("depth")).where(
        Member.id == root_id).cte(name="team", recursive=True)
    tree = tree.union_all(
        select(Member.id, (tree.c.depth + 1).label("depth"))
        .where(Member.sponsor_id == tree.c.id, Member.kind == "distributor",
               tree.c.depth < level, *joined))
    return select(tree.c.id, tree.c.depth).where(tree.c.depth == level)


def _run_for(session: Session, period: str | None) -> CommissionRun | None:
    q = select(CommissionRun)
    q = q.where(CommissionRun.period == period) if period else q.order_by(
        CommissionRun.period.desc())
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
    q = _level_query(root_id, level, until).subquery()
    total = session.scalar(select(func.count()).select_from(q)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    ids_levels = [(int(i), int(d)) for i, d in session.execute(
        select(q.c.id, q.c.depth).order_by(q.c.id).limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)).all()]
    return TeamPage(_rows(session, ids_levels, run), level, total, page, pages,
                    run.period if run else None)


def team_csv_rows(session: Session, root_id: int, *, period: str | None = None,
                  until: datetime | None = None, chunk: int = 500) -> Iterator[TeamRow]:
    """The whole downline, level by level, for the CSV export."""
    run = _run_for(session, period)
    frontier = [root_id]
    level = 0
    while frontier and level < MAX_LEVEL:
        level += 1
        joined = [Member.joined_at < until] if until is not None else []
        nxt: list[int] = []
        for start in range(0, len(frontier), chunk):
            part = frontier[start:start + chunk]
            ids = [int(i) for i in session.scalars(
                select(Member.id).where(Member.sponsor_id.in_(part),
                                        Member.kind == "distributor", *joined)
                .order_by(Member.id))]
            nxt.extend(ids)
            for at in range(0, len(ids), chunk):
                yield from _rows(session, [(i, level) for i in ids[at:at + chunk]], run)
        frontier = nxt
