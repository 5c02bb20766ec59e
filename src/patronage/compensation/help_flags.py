"""My team's "who needs help", judged by the ``open-volumes`` job with its count.

With each count of the open period's volumes the job stores (``help_flags``) every active
distributor who is on one of the lists as the count stands (new in their first 90 days, about
to go inactive, at risk of their rank, close to a rank), with the figures each list ranks by,
once per upline one to three levels above through active distributors: a leader's list is an
index range, already in the list's order, and a page reads the first few of it.

A page then corrects for what the count does not hold (:func:`patronage.web.views.team_help`):
the people whose personal volume changed after it (found from the tail of orders and refunds)
are judged again; people deactivated since are left out. A genealogy change or a distributor
joined after the count, another committed run or plan: the page judges the whole downline
(the flags would not be the tree's). Time passing is judged at read time ("new" from the stored
join date; the count is of one period only). ``patronage check`` judges the count again and
compares (:func:`stale_help_flags`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from patronage.clock import Period
from patronage.compensation.core.plan import Plan
from patronage.compensation.runs import PlanSource

if TYPE_CHECKING:
    from patronage.compensation.open_volumes import Volumes
from patronage.db.bulk import fetch_rows
from patronage.db.compensation import CommissionRun
from patronage.db.tables import Member
from patronage.db.volumes import OpenVolumeCount

NEW_DAYS = (30, 60, 90)
CLOSE_SHARE = 0.8
DEPTH = 3
LISTS = ("new", "inactive", "rank_risk", "close")


def plan_digest(plan_text: str | None) -> str | None:
    return hashlib.sha256(plan_text.encode("utf-8")).hexdigest() if plan_text else None


def last_run(session: Session, period: Period) -> CommissionRun | None:
    """The last committed month before ``period``."""
    return session.scalars(select(CommissionRun).where(CommissionRun.period < str(period),
                                                       CommissionRun.calendar == "month")
                           .order_by(CommissionRun.period.desc()).limit(1)).first()


@dataclass(frozen=True)
class Judged:
    """One person on one list: the order keys and the figures shown."""

    member_id: int
    list: str
    key1: int
    key2: int
    pv: int
    rank: int
    active: bool
    joined_at: datetime


def close_rank(plan: Plan, paid: int, pv: int, gv: int) -> int:
    """The first rank above ``paid`` whose PV and GV they reached :data:`CLOSE_SHARE` of (and
    not both whole); -1: none."""
    for index, rank in enumerate(plan.ranks):
        if (paid < index and pv >= CLOSE_SHARE * rank.min_pv and gv >= CLOSE_SHARE * rank.min_gv
                and (pv < rank.min_pv or gv < rank.min_gv)):
            return index
    return -1


def judge_pv(plan: Plan, member_id: int, active: bool, paid: int, pv: int,
             joined_at: datetime) -> Iterator[Judged]:
    """The lists that depend on the open period's PV: about to go inactive, rank at risk."""
    if active and pv < plan.active_min_pv:
        yield Judged(member_id, "inactive", plan.active_min_pv - pv, 0, pv, 0, active, joined_at)
    if 1 <= paid < len(plan.ranks) and pv < plan.ranks[paid].min_pv:
        yield Judged(member_id, "rank_risk", -paid, plan.ranks[paid].min_pv - pv, pv, paid,
                     active, joined_at)


def judge_all(conn: Connection, as_of: datetime, period: Period,
              volumes: dict[int, Volumes]) -> tuple[int | None, str | None, list[dict[str, Any]]]:
    """Every active distributor's lists as of ``as_of`` (``volumes``: each one's volumes
    then), one row per upline one to three levels above: the run and plan digest they were
    judged with, and the rows."""
    from patronage.compensation.standing import plan_for

    session = Session(bind=conn)
    source = plan_for(session, period)
    run = last_run(session, period)
    since = as_of - timedelta(days=NEW_DAYS[-1])
    tree: dict[int, tuple[int | None, bool, datetime]] = {}
    for i, sponsor, kind, status, joined in conn.execute(select(
            Member.id, Member.sponsor_id, Member.kind, Member.status, Member.joined_at)):
        tree[int(i)] = (int(sponsor) if sponsor is not None else None,
                        kind == "distributor" and status == "active", _utc(joined))
    judged: list[Judged] = []
    for i, (_s, valid, joined) in tree.items():
        if valid and joined > since:
            judged.append(Judged(i, "new", 0, 0, 0, 0, False, joined))
    if source is not None and run is not None:
        plan, run_plan = source.plan, PlanSource.from_text(run.plan_text).plan
        with_customers = plan.customer_orders_count_as_pv
        pv_of = {m: v.pv(with_customers) for m, v in volumes.items()}
        for i, active, paid, pv, gv in fetch_rows(conn, (
                "SELECT member_id, active, paid_as, pv, gv FROM rank_records "
                "WHERE run_id = :run"), {"run": run.id}):
            i = int(i)
            if paid is None or i not in tree or not tree[i][1]:
                continue
            joined = tree[i][2]
            judged.extend(judge_pv(plan, i, bool(active), int(paid), pv_of.get(i, 0), joined))
            near = close_rank(run_plan, int(paid), int(pv), int(gv))
            if near >= 0:
                judged.append(Judged(i, "close", run_plan.ranks[near].min_gv - int(gv), 0,
                                     int(gv), near, bool(active), joined))
    rows: list[dict[str, Any]] = []
    for j in judged:
        for level, upline in uplines(tree, j.member_id):
            rows.append({"member_id": j.member_id, "list": j.list, "upline": upline,
                         "level": level, "key1": j.key1, "key2": j.key2, "pv": j.pv,
                         "rank": j.rank, "active": j.active, "joined_at": j.joined_at})
    return (run.id if run is not None else None,
            plan_digest(source.text if source is not None else None), rows)


def uplines(tree: dict[int, tuple[int | None, bool, datetime]], member_id: int
            ) -> Iterator[tuple[int, int]]:
    """(level, upline) for the walks down that reach ``member_id``: the sponsor at level 1,
    and further up through active distributors only."""
    at = member_id
    for level in range(1, DEPTH + 1):
        sponsor = tree.get(at, (None, False, None))[0]
        if sponsor is None:
            return
        yield level, sponsor
        if sponsor not in tree or not tree[sponsor][1]:
            return
        at = sponsor


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: More tree changes than this since the count: the flags are not read (every leader walks).
MOVES_LOOKED_AT = 1_000


def near_changes(conn: Connection, changes_through: int, members_through: int
                 ) -> set[int] | None:
    """The uplines whose three levels may have changed shape since the count (``None``: more
    than :data:`MOVES_LOOKED_AT` changes, take it as all of them). A genealogy change
    (sponsor, owner or kind) or a distributor's joining since touches the member changed, the
    sponsors or owners before and after, and everyone up to :data:`DEPTH` levels above any of
    them, as the tree is now (the levels above an earlier sponsor as they were are above a
    member an earlier change touched). For any other upline, the people of its three levels,
    their levels and the owners of their customers are as the count judged them."""
    rows = conn.execute(text(
        "SELECT member_id, old_value, new_value FROM genealogy_changes WHERE id > :c "
        "ORDER BY id LIMIT :n"), {"c": changes_through, "n": MOVES_LOOKED_AT + 1}).all()
    joins = conn.execute(text(
        "SELECT id, sponsor_id FROM members WHERE id > :m AND kind = 'distributor' "
        "ORDER BY id LIMIT :n"), {"m": members_through, "n": MOVES_LOOKED_AT + 1}).all()
    if len(rows) + len(joins) > MOVES_LOOKED_AT:
        return None
    touched: set[int] = set()
    for member, *values in [*rows, *joins]:
        touched.add(int(member))
        touched.update(int(v) for v in values if v is not None and str(v).isdigit())
    near, layer = set(touched), touched
    for _ in range(DEPTH):
        if not layer:
            break
        layer = {int(s) for s in conn.scalars(select(Member.sponsor_id).where(
            Member.id.in_(sorted(layer)))) if s is not None} - near
        near |= layer
    return near


def stale_help_flags(conn: Connection, volumes: dict[int, Volumes]) -> list[str]:
    """The stored flags that are not the count's judged again (``volumes``: as the count holds
    them). Skipped when the pages do not read them (another run or plan, too many tree changes
    since); the uplines near a genealogy change or a distributor's joining since
    (:func:`near_changes`), whose pages walk, are left out, and so are rows of people
    deactivated since (or under one deactivated since), as the pages leave them out."""
    row = conn.execute(select(OpenVolumeCount)).first()
    if row is None:
        return []
    near = near_changes(conn, row.changes_through, row.members_through)
    period = Period.parse(row.period)
    run_id, digest, rows = judge_all(conn, row.as_of, period, volumes)
    if near is None or run_id != row.run_id or digest != row.plan_digest:
        return []
    cols = ("member_id", "list", "upline", "level", "key1", "key2", "pv", "rank", "active")
    again = {t for r in rows if (t := tuple(r[c] for c in cols))[2] not in near}
    stored = {(int(a), b, int(c), int(d), int(e), int(f), int(g), int(h), bool(k))
              for a, b, c, d, e, f, g, h, k in conn.execute(text(
                  "SELECT member_id, list, upline, level, key1, key2, pv, rank, active "
                  "FROM help_flags WHERE period = :p"), {"p": row.period})
              if int(c) not in near}
    valid = {int(i): (int(sp) if sp is not None else None, k == "distributor" and st == "active")
             for i, sp, k, st in conn.execute(select(Member.id, Member.sponsor_id, Member.kind,
                                                     Member.status))}

    def gone(member: int, level: int) -> bool:  # the member or one between them and the upline
        at = member
        for _ in range(level):
            if not valid.get(at, (None, False))[1]:
                return True
            at = valid[at][0] or 0
        return False

    bad = [f"who needs help: member {r[0]} on {r[1]} under {r[2]} stored, not judged again"
           for r in sorted(stored - again) if not gone(r[0], r[3])]
    bad += [f"who needs help: member {r[0]} on {r[1]} under {r[2]} judged, not stored"
            for r in sorted(again - stored)]
    return bad
