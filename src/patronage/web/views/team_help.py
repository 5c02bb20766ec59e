"""My team, for helping: the tree (a few levels, expandable) with a search, and who needs help.

Who needs help, among the distributors of the downline (down to :data:`HELP_DEPTH` levels, the
people a leader can reach in person):

- **new**: in their first 90 days (30, 60 or 90), with how many personal customers each has
  (the fast start is "a few personal customers", not a pack);
- **about to go inactive**: active last committed period, and short of the plan's minimum
  personal volume so far in the open one (counted as :mod:`patronage.compensation.standing`
  counts it);
- **close to a rank**: last committed period, paid below a rank whose personal and group volume
  they reached at least :data:`CLOSE_SHARE` of;
- **at risk of their rank**: leaders paid as a rank above the first last committed period, and
  short of that rank's personal volume so far in the open one (the part of a rank a leader can
  fix this month with an order or a customer's; group volume is judged at the close).

Every person comes with their phone, for the tap to call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
from sqlalchemy import Connection, Select, func, literal, select
from sqlalchemy.orm import Session

from patronage.clock import Period
from patronage.compensation.core.plan import Plan
from patronage.compensation.help_flags import judge_pv, near_changes, plan_digest
from patronage.compensation.open_volumes import (
    Everyone,
    Volumes,
    Watermark,
    open_pv,
    tail,
    usable_count,
    with_tail,
)
from patronage.compensation.runs import PlanSource
from patronage.compensation.standing import plan_for
from patronage.db.bulk import fetch_rows
from patronage.db.compensation import CommissionRun
from patronage.db.loaders import bound_time
from patronage.db.tables import Member
from patronage.db.volumes import HelpFlag, OpenVolumeCount
from patronage.web.views.business import _run_plan

HELP_DEPTH = 3
TREE_DEPTH = 2
TREE_LIMIT = 300
CLOSE_SHARE = 0.8
NEW_DAYS = (30, 60, 90)
#: Ids per ``IN`` list (SQLite's limit on bound values is far above it).
CHUNK = 5_000


@dataclass
class Person:
    id: int
    name: str
    phone: str | None
    level: int
    joined_at: datetime
    customers: int = 0
    #: for "new": 30, 60 or 90; for "inactive": PV so far; for "close": the rank's name
    note: str = ""
    pv: int = 0
    need: int = 0


@dataclass
class Help:
    new: list[Person] = field(default_factory=list)
    inactive: list[Person] = field(default_factory=list)
    close: list[Person] = field(default_factory=list)
    rank_risk: list[Person] = field(default_factory=list)


@dataclass
class Node:
    id: int
    name: str
    phone: str | None
    customers: int
    children: list[Node] = field(default_factory=list)


def _downline(root_id: int, depth: int) -> Select[int, int]:
    tree = select(Member.id.label("id"), literal(0).label("depth")).where(
        Member.id == root_id).cte(name="down", recursive=True)
    tree = tree.union_all(
        select(Member.id, (tree.c.depth + 1).label("depth"))
        .where(Member.sponsor_id == tree.c.id, Member.kind == "distributor",
               Member.status == "active", tree.c.depth < depth))
    return select(tree.c.id, tree.c.depth).where(tree.c.depth > 0)


def _customers(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    return {int(o or 0): int(n) for o, n in session.execute(
        select(Member.owner_id, func.count()).where(
            Member.owner_id.in_(ids), Member.kind != "distributor", Member.status == "active")
        .group_by(Member.owner_id)).all()}


_HELP_SQL = (
    "WITH RECURSIVE down(id, depth, joined) AS ("
    "SELECT id, 0, joined_at FROM members WHERE id = :root UNION ALL "
    "SELECT m.id, d.depth + 1, m.joined_at FROM members m JOIN down d ON m.sponsor_id = d.id "
    "WHERE m.kind = 'distributor' AND m.status = 'active' AND d.depth < :depth) "
    "SELECT d.id, d.depth, CASE WHEN d.joined > :since AND d.joined <= :now THEN 1 "
    "ELSE 0 END FROM down d WHERE d.depth > 0")
#: Each one's record of the run and volume of the open period as last counted, read after the
#: walk for the ids in order: probes in id order walk the indexes in order (on SQLite half the
#: time of looking each one up as the walk finds them; on PostgreSQL the run's records are
#: indexed by block range, BRIN, so one look-up per person would read a block range each).
_RANKS = ("SELECT member_id, active, paid_as, pv, gv FROM rank_records "
          "WHERE run_id = :run AND member_id {ids}")
_VOLUMES = ("SELECT member_id, own_pv, customer_pv FROM open_volumes "
            "WHERE period = :period AND member_id {ids}")


def _for_ids(conn: Connection, sql: str, params: dict[str, Any], ids: list[int]
             ) -> list[tuple[Any, ...]]:
    """``sql`` (one parameter, and ``member_id {ids}``) for ``ids``, in id order: one
    ``= ANY`` array on PostgreSQL, ``IN`` lists of :data:`CHUNK` on SQLite."""
    ordered = sorted(ids)
    if conn.dialect.name == "postgresql":
        return fetch_rows(conn, sql.format(ids="= ANY(:ids)"), {**params, "ids": ordered})
    # Positional values: SQLite finds each named one by a walk over the names before it.
    (name, value), = params.items()
    raw = conn.connection.driver_connection
    assert raw is not None
    out: list[tuple[Any, ...]] = []
    for at in range(0, len(ordered), CHUNK):
        part = ordered[at:at + CHUNK]
        cur = raw.cursor()
        try:
            cur.execute(sql.replace(f":{name}", "?").format(
                ids="IN (" + ", ".join("?" * len(part)) + ")"), [value, *part])
            out += cur.fetchall()
        finally:
            cur.close()
    return out


def who_needs_help(session: Session, root_id: int, now: datetime, tz: tzinfo, *,
                   limit: int = 20, stored: bool = True) -> Help:
    """The downline's new distributors, those about to go inactive and those close to a rank
    (at most ``limit`` of each, the most pressing first). Names, phones and customer counts
    are read for those listed only.

    A leader's three levels hold tens of thousands of people: the walk down reads
    ``ix_members_downline`` alone, then each one's record of the last committed period and
    the open period's volume as last counted are read for the walk's ids in id order (plain
    rows), and ranked in arrays; the open period's orders and refunds written after the count
    are added (:mod:`patronage.compensation.open_volumes`).

    With the ``open-volumes`` job's count usable (and ``stored``), the lists are read from the
    flags it judged with it, corrected for what came after it (:func:`_from_flags`): a few
    rows of each list, not the downline."""
    period = Period.containing(now, tz)
    source: PlanSource | None = plan_for(session, period)
    run = session.scalars(select(CommissionRun).where(CommissionRun.period < str(period),
                                                      CommissionRun.calendar == "month")
                          .order_by(CommissionRun.period.desc()).limit(1)).first()
    mark = usable_count(session, now, tz)
    conn = session.connection()
    flagged = (_from_flags(session, root_id, now, mark, source, run, limit)
               if mark is not None and stored else None)
    if flagged is not None:
        return _listed(session, flagged[0], flagged[1], limit)
    walked = fetch_rows(conn, _HELP_SQL, {
        "root": root_id, "depth": HELP_DEPTH,
        "since": bound_time(conn, now - timedelta(days=NEW_DAYS[-1])),
        "now": bound_time(conn, now)})
    help_ = Help()
    if not walked:
        return help_
    ids = [int(r[0]) for r in walked]
    # (member, active, paid as, PV, GV) of those with a record; (member, own PV, customers'
    # PV) of those counted. Kept as the driver's rows: a leader's walk is 24,000 people.
    ranked = [r for r in _for_ids(conn, _RANKS, {"run": run.id}, ids)
              if r[2] is not None] if run is not None else []
    levels = {int(r[0]): int(r[1]) for r in walked}
    picked: dict[str, list[tuple[int, dict[str, object]]]] = {"new": [], "inactive": [],
                                                              "close": [], "rank_risk": []}
    fresh = sorted(int(r[0]) for r in walked if r[2])
    joined = dict(session.execute(select(Member.id, Member.joined_at)
                                  .where(Member.id.in_(fresh))).all()) if fresh else {}
    for i in fresh:
        age = (now - _aware(joined[i])).days
        picked["new"].append((i, {"note": str(next(d for d in NEW_DAYS if age < d))}))
    if source is not None and run is not None and ranked:
        plan = source.plan
        # The plan's figures once (properties of the plan), not once per person.
        rank_pv = [r.min_pv for r in plan.ranks]
        rank_names_ = [r.name for r in plan.ranks]
        active_min, with_customers = plan.active_min_pv, plan.customer_orders_count_as_pv
        active_then = {int(r[0]) for r in ranked if r[1]}
        leaders = {int(r[0]) for r in ranked if 1 <= int(r[2]) < len(rank_pv)}
        paid = {int(r[0]): int(r[2]) for r in ranked}
        wanted = active_then | leaders
        if mark is not None:  # the count's rows of those wanted; the tail is added
            kept = {int(r[0]): Volumes(int(r[1]), int(r[2])) for r in _for_ids(
                conn, _VOLUMES, {"period": mark.period}, sorted(wanted))}
            volumes = with_tail(session, mark, kept, wanted, now)
            pv = {i: v.pv(with_customers) for i, v in volumes.items()}
        else:
            pv = open_pv(session, wanted, now, tz, customer_orders=with_customers)
        risk = sorted((-paid[i], rank_pv[paid[i]] - pv.get(i, 0), i)
                      for i in leaders if pv.get(i, 0) < rank_pv[paid[i]])
        picked["rank_risk"] = [
            (i, {"note": rank_names_[-neg], "pv": pv.get(i, 0), "need": rank_pv[-neg]})
            for neg, _gap, i in risk[:limit]]
        short = sorted((active_min - pv.get(i, 0), i) for i in active_then
                       if pv.get(i, 0) < active_min)
        picked["inactive"] = [(i, {"pv": active_min - gap, "need": active_min})
                              for gap, i in short[:limit]]
        picked["close"] = _close(_run_plan(run.plan_text), ranked, limit)
    return _listed(session, picked, levels, limit)


def _listed(session: Session, picked: dict[str, list[tuple[int, dict[str, object]]]],
            levels: dict[int, int], limit: int) -> Help:
    """The people picked for each list with their names, phones and customers."""
    help_ = Help()
    wanted_people = sorted({i for rows_ in picked.values() for i, _kw in rows_})
    members = {m.id: m for m in session.scalars(select(Member).where(
        Member.id.in_(wanted_people)))}
    customers = _customers(session, wanted_people)

    def person(i: int, kw: dict[str, object]) -> Person:
        m = members[i]
        return Person(i, m.name, m.phone, levels[i], m.joined_at, customers.get(i, 0),
                      **kw)  # type: ignore[arg-type]

    help_.new = sorted((person(i, kw) for i, kw in picked["new"]),
                       key=lambda p: (p.customers, p.joined_at, p.id))[:limit]
    help_.inactive = [person(i, kw) for i, kw in picked["inactive"]]
    help_.close = [person(i, kw) for i, kw in picked["close"]]
    help_.rank_risk = [person(i, kw) for i, kw in picked["rank_risk"]]
    return help_


Picked = dict[str, list[tuple[int, dict[str, object]]]]


def _from_flags(session: Session, root_id: int, now: datetime, mark: Watermark,
                source: PlanSource | None, run: CommissionRun | None, limit: int
                ) -> tuple[Picked, dict[int, int]] | None:
    """The lists from the flags the ``open-volumes`` job judged with its count
    (:mod:`patronage.compensation.help_flags`), corrected for what came after it: the people
    whose personal volume changed since (the tail) judged again, those deactivated since (or
    under one deactivated since) left out. ``None`` when the flags are not the tree's: a
    genealogy change or a distributor joined since the count near the root
    (:func:`~patronage.compensation.help_flags.near_changes`), another committed run or plan.

    Reads the first few of each list among the root's three levels (one index range each), not
    the downline."""
    count = session.get(OpenVolumeCount, mark.period)
    if (count is None or count.run_id != (run.id if run is not None else None)
            or count.plan_digest != plan_digest(source.text if source is not None else None)):
        return None
    conn = session.connection()
    tree: dict[int, tuple[int | None, bool]] = {}

    def known(ids: set[int]) -> None:  # sponsor and validity, read once per person
        missing = sorted(ids - tree.keys())
        for at in range(0, len(missing), CHUNK):
            for i, sponsor, kind, status in session.execute(select(
                    Member.id, Member.sponsor_id, Member.kind, Member.status)
                    .where(Member.id.in_(missing[at:at + CHUNK]))):
                tree[int(i)] = (int(sponsor) if sponsor is not None else None,
                                kind == "distributor" and status == "active")

    def up(i: int) -> int | None:
        return tree.get(i, (None, False))[0]

    def valid(i: int) -> bool:
        return tree.get(i, (None, False))[1]

    near = near_changes(conn, count.changes_through, count.members_through)
    if near is None or root_id in near:
        return None

    def level_of(ids: set[int]) -> dict[int, int]:
        """The level under the root of each of ``ids`` the walk down reaches (now)."""
        known(ids)
        known({s for i in ids if (s := up(i)) is not None})
        known({s2 for i in ids if (s := up(i)) is not None and (s2 := up(s)) is not None})
        out: dict[int, int] = {}
        for i in ids:
            at = i
            if not valid(i):
                continue
            for level in range(1, HELP_DEPTH + 1):
                sponsor = up(at)
                if sponsor is None:
                    break
                if sponsor == root_id:
                    out[i] = level
                    break
                if not valid(sponsor):
                    break
                at = sponsor
        return out

    levels: dict[int, int] = {}
    picked: Picked = {"new": [], "inactive": [], "close": [], "rank_risk": []}
    judged: dict[str, list[tuple[int, int, int, int, int]]] = {"inactive": [], "rank_risk": []}
    changed: set[int] = set()
    if source is not None and run is not None:
        plan, with_customers = source.plan, source.plan.customer_orders_count_as_pv
        moved = tail(session, mark, now, Everyone())
        changed = set(moved)
        here = level_of(changed)
        if here:  # the people of the root's levels whose PV changed, judged again
            ids = sorted(here)
            stored = {int(r[0]): int(r[1]) + (int(r[2]) if with_customers else 0)
                      for r in _for_ids(conn, _VOLUMES, {"period": mark.period}, ids)}
            for i, active, paid, _pv, _gv in _for_ids(conn, _RANKS, {"run": run.id}, ids):
                if paid is None:
                    continue
                pv = stored.get(int(i), 0) + moved[int(i)].pv(with_customers)
                for j in judge_pv(plan, int(i), bool(active), int(paid), pv, now):
                    judged[j.list].append((j.key1, j.key2, j.member_id, j.pv, j.rank))
                    levels[j.member_id] = here[j.member_id]

    def first(list_: str, skip: set[int], n: int | None) -> list[tuple[Any, ...]]:
        """The first ``n`` stored of ``list_`` under the root still in its levels (all with
        ``None``), less ``skip``."""
        out: list[tuple[Any, ...]] = []
        offset, size = 0, (n or 0) + len(skip) + 20
        while True:
            q = (select(HelpFlag.member_id, HelpFlag.level, HelpFlag.key1, HelpFlag.key2,
                        HelpFlag.pv, HelpFlag.rank, HelpFlag.joined_at)
                 .where(HelpFlag.period == mark.period, HelpFlag.upline == root_id,
                        HelpFlag.list == list_)
                 .order_by(HelpFlag.key1, HelpFlag.key2, HelpFlag.member_id))
            rows = list(session.execute(q if n is None else q.offset(offset).limit(size)))
            fresh = {int(r[0]) for r in rows} - skip
            now_at = level_of(fresh)
            for r in rows:
                if int(r[0]) in fresh and now_at.get(int(r[0])) == int(r[1]):
                    out.append(tuple(r))
                    levels[int(r[0])] = int(r[1])
                    if n is not None and len(out) == n:
                        return out
            if n is None or len(rows) < size:
                return out
            offset += size

    since = now - timedelta(days=NEW_DAYS[-1])
    for r in first("new", set(), None):
        joined = _aware(r[6])
        if since < joined <= now:
            age = (now - joined).days
            picked["new"].append((int(r[0]), {"note": str(next(d for d in NEW_DAYS if age < d))}))
    if source is None or run is None:
        return picked, levels
    plan = source.plan
    for list_ in ("inactive", "rank_risk"):
        rows_ = sorted([(int(r[2]), int(r[3]), int(r[0]), int(r[4]), int(r[5]))
                        for r in first(list_, changed, limit)] + judged[list_])[:limit]
        if list_ == "inactive":
            picked[list_] = [(i, {"pv": pv, "need": plan.active_min_pv})
                             for _k1, _k2, i, pv, _rank in rows_]
        else:
            picked[list_] = [(i, {"note": plan.ranks[rank].name, "pv": pv,
                                  "need": plan.ranks[rank].min_pv})
                             for _k1, _k2, i, pv, rank in rows_]
    run_plan = _run_plan(run.plan_text)
    picked["close"] = [(int(r[0]), {"note": run_plan.ranks[int(r[5])].name, "pv": int(r[4]),
                                    "need": run_plan.ranks[int(r[5])].min_gv})
                       for r in first("close", set(), limit)]
    return picked, levels


def _close(plan: Plan, ranked: list[tuple[Any, ...]], limit: int
           ) -> list[tuple[int, dict[str, object]]]:
    """Those paid below a rank whose PV and GV they reached at least :data:`CLOSE_SHARE` of
    (and not both whole), the first such rank above the one paid, the smallest GV gap first;
    over arrays (one pass per rank, not per person)."""
    ids = np.array([int(r[0]) for r in ranked], dtype=np.int64)
    paid = np.array([int(r[2]) for r in ranked], dtype=np.int64)
    pv = np.array([int(r[3]) for r in ranked], dtype=np.int64)
    gv = np.array([int(r[4]) for r in ranked], dtype=np.int64)
    first = np.full(len(ids), -1, dtype=np.int64)
    for index, rank in enumerate(plan.ranks):
        near = ((first < 0) & (paid < index) & (pv >= CLOSE_SHARE * rank.min_pv)
                & (gv >= CLOSE_SHARE * rank.min_gv) & ((pv < rank.min_pv) | (gv < rank.min_gv)))
        first[near] = index
    at = np.flatnonzero(first >= 0)
    need = np.array([plan.ranks[int(k)].min_gv for k in first[at]], dtype=np.int64)
    gap = need - gv[at]
    order = np.lexsort((ids[at], gap))[:limit]
    return [(int(ids[at][k]), {"note": plan.ranks[int(first[at][k])].name,
                               "pv": int(gv[at][k]), "need": int(need[k])}) for k in order]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def team_tree(session: Session, root_id: int, *, query: str = "",
              depth: int = TREE_DEPTH, limit: int = TREE_LIMIT) -> tuple[list[Node], bool]:
    """The root's downline as a tree, ``depth`` levels, at most ``limit`` people (and whether
    it was cut); with ``query``, the people (down to :data:`HELP_DEPTH` levels) whose name
    holds it, with the path to each."""
    down = _downline(root_id, HELP_DEPTH if query.strip() else depth).subquery()
    cols = (Member.id, Member.sponsor_id, Member.first_name, Member.last_name, Member.phone)
    q = select(*cols).where(Member.id.in_(select(down.c.id)))
    if query.strip():
        like = f"%{query.strip().lower()}%"
        q = q.where(func.lower(Member.first_name + " " + Member.last_name).like(like))
    rows = list(session.execute(q.order_by(Member.first_name, Member.last_name, Member.id)
                                .limit(limit + 1)).all())
    cut = len(rows) > limit
    rows = rows[:limit]
    have = {int(r[0]) for r in rows}
    wanted = {int(r[1]) for r in rows if r[1] is not None} - have - {root_id}
    while query.strip() and wanted:  # the path up to the root, a level at a time
        up = list(session.execute(select(*cols).where(Member.id.in_(sorted(wanted)))).all())
        rows.extend(up)
        have |= {int(r[0]) for r in up}
        wanted = {int(r[1]) for r in up if r[1] is not None} - have - {root_id}
    ids = [int(r[0]) for r in rows]
    customers = _customers(session, ids)
    nodes = {int(i): Node(int(i), f"{first} {last}".strip(), phone, customers.get(int(i), 0))
             for i, _s, first, last, phone in rows}
    parent = {int(r[0]): (int(r[1]) if r[1] is not None else None) for r in rows}
    roots: list[Node] = []
    for i, node in sorted(nodes.items(), key=lambda kv: (kv[1].name, kv[0])):
        up_id = parent.get(i)
        (nodes[up_id].children if up_id in nodes else roots).append(node)
    return roots, cut
