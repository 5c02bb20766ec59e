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

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session, aliased

from patronage.clock import Period
from patronage.compensation.runs import PlanSource
from patronage.compensation.standing import plan_for
from patronage.db.compensation import CommissionRun, RankRecord
from patronage.db.tables import Member, Order, OrderLine
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


def _pv_so_far(session: Session, ids: list[int], start: datetime, end: datetime,
               customer_orders: bool) -> dict[int, int]:
    """PV of each member in ``[start, end)``: own orders, and customers' credited to them."""
    out: dict[int, int] = {}
    if not ids:
        return out
    base = (select(func.coalesce(func.sum(OrderLine.qv), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.status == "paid", Order.placed_at >= start, Order.placed_at < end))
    for at in range(0, len(ids), CHUNK):
        chunk = ids[at:at + CHUNK]
        queries = [base.add_columns(Order.buyer_id).where(
            Order.buyer_id.in_(chunk), OrderLine.buyer_class == "distributor")
            .group_by(Order.buyer_id)]
        if customer_orders:  # the period's orders credited to them (indexed), their customers'
            buyer = aliased(Member)
            queries.append(base.add_columns(Order.credited_to_id)
                           .join(buyer, buyer.id == Order.buyer_id)
                           .where(Order.credited_to_id.in_(chunk), buyer.owner_id.in_(ids),
                                  buyer.kind != "distributor",
                                  OrderLine.buyer_class == "customer")
                           .group_by(Order.credited_to_id))
        for query in queries:
            for pv, member in session.execute(query).all():
                if member is not None:
                    out[int(member)] = out.get(int(member), 0) + int(pv or 0)
    return out


def who_needs_help(session: Session, root_id: int, now: datetime, tz: tzinfo, *,
                   limit: int = 20) -> Help:
    """The downline's new distributors, those about to go inactive and those close to a rank
    (at most ``limit`` of each, the most pressing first). Names, phones and customer counts
    are read for those listed only."""
    down = _downline(root_id, HELP_DEPTH).subquery()
    # The downline is walked once; the reads below take its ids (and joined dates) from it.
    levels: dict[int, int] = {}
    new: list[tuple[int, datetime]] = []
    for i, d, joined in session.execute(
            select(down.c.id, down.c.depth, Member.joined_at)
            .join(Member, Member.id == down.c.id)):
        levels[int(i)] = int(d)
        if now - timedelta(days=NEW_DAYS[-1]) < _aware(joined) <= now:
            new.append((int(i), joined))
    help_ = Help()
    if not levels:
        return help_
    ids = sorted(levels)
    picked: dict[str, list[tuple[int, dict[str, object]]]] = {"new": [], "inactive": [],
                                                              "close": [], "rank_risk": []}
    for i, joined in new:
        age = (now - _aware(joined)).days
        picked["new"].append((i, {"note": str(next(d for d in NEW_DAYS if age < d))}))
    period = Period.containing(now, tz)
    source: PlanSource | None = plan_for(session, period)
    run = session.scalars(select(CommissionRun).where(CommissionRun.period < str(period),
                                                      CommissionRun.calendar == "month")
                          .order_by(CommissionRun.period.desc()).limit(1)).first()
    if source is not None and run is not None:
        plan = source.plan
        # Plain rows (a leader's three levels hold tens of thousands): no ORM objects.
        ranks = {int(r.member_id): r for at in range(0, len(ids), CHUNK)
                 for r in session.execute(select(
                     RankRecord.member_id, RankRecord.active, RankRecord.paid_as,
                     RankRecord.pv, RankRecord.gv).where(
                     RankRecord.run_id == run.id, RankRecord.member_id.in_(ids[at:at + CHUNK])))}
        active_then = sorted(i for i, r in ranks.items() if r.active)
        leaders = sorted(i for i, r in ranks.items() if 1 <= r.paid_as < len(plan.ranks))
        pv = _pv_so_far(session, sorted({*active_then, *leaders}), period.start(tz),
                        now + timedelta(microseconds=1), plan.customer_orders_count_as_pv)
        risk = sorted((-ranks[i].paid_as, plan.ranks[ranks[i].paid_as].min_pv - pv.get(i, 0), i)
                      for i in leaders if pv.get(i, 0) < plan.ranks[ranks[i].paid_as].min_pv)
        picked["rank_risk"] = [
            (i, {"note": plan.ranks[-neg].name, "pv": pv.get(i, 0),
                 "need": plan.ranks[-neg].min_pv}) for neg, _gap, i in risk[:limit]]
        short = sorted((plan.active_min_pv - pv.get(i, 0), i) for i in active_then
                       if pv.get(i, 0) < plan.active_min_pv)
        picked["inactive"] = [(i, {"pv": plan.active_min_pv - gap, "need": plan.active_min_pv})
                              for gap, i in short[:limit]]
        last_plan = _run_plan(run.plan_text)
        close: list[tuple[int, int, dict[str, object]]] = []
        for i, rec in ranks.items():
            for index in range(rec.paid_as + 1, len(last_plan.ranks)):
                rank = last_plan.ranks[index]
                if rec.pv >= CLOSE_SHARE * rank.min_pv and rec.gv >= CLOSE_SHARE * rank.min_gv \
                        and (rec.pv < rank.min_pv or rec.gv < rank.min_gv):
                    close.append((rank.min_gv - rec.gv, i, {"note": rank.name, "pv": rec.gv,
                                                             "need": rank.min_gv}))
                    break
        picked["close"] = [(i, kw) for _gap, i, kw in sorted(close, key=lambda c: (c[0], c[1]))
                           [:limit]]
    wanted = sorted({i for rows in picked.values() for i, _kw in rows})
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(wanted)))}
    customers = _customers(session, wanted)

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
