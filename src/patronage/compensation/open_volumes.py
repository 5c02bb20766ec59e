"""The open period's volumes per distributor: counted by a job, read exact by the pages.

Today's money at risk, My business (the same, and the volume mix) and My team's "who needs
help" need each distributor's volume so far in the open period. Summed from the orders on every
request, that is the period's orders of every customer of the viewer (ten thousand for the
largest) or of a leader's whole downline (tens of thousands of people).

So the ``open-volumes`` job counts the open period's volumes of every distributor (one pass over
the period's orders and refunds) and stores them (``open_volumes``) with what the count holds
(``open_volume_counts``): the orders up to an id placed up to a time, the refunds up to an id
made up to it, and the genealogy changes up to an id. A page reads the count and adds the
**tail**, the orders and refunds the count does not hold (written after it, read by id, or
dated after it, read by time: both indexed, and as many as are written between two runs of
the job), so what it shows is what summing the orders would show, to the point:

- personal volume as :func:`patronage.compensation.standing.personal_volume` counts it (own
  lines, customers' lines credited to their owner, less the points refunded in the period);
- the volume mix as :func:`patronage.value.service.distributor_overview` counts it.

A customer's orders count toward their owner's volume only while they own them: for a
distributor who gained or lost a customer after the count (a genealogy change after its
watermark), the page sums their volume from the orders instead. With no count of the open
period (a new company, the first minutes of a period, a ``now`` before the count's), the page
sums from the orders too, all of them tail. ``patronage check`` counts the stored period again
and compares (:func:`stale_open_volumes`).
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, text
from sqlalchemy.orm import Session, aliased

from patronage.clock import Period, require_aware
from patronage.db.bulk import fetch_rows
from patronage.db.engine import transaction
from patronage.db.loaders import bound_time
from patronage.db.tables import GenealogyChange, Member, Order, OrderLine, Refund, RefundLine
from patronage.db.volumes import HelpFlag, OpenVolume, OpenVolumeCount

#: Ids per ``IN`` list.
CHUNK = 5_000
#: Up to this many members, a page without a usable count sums each one's volume through
#: their own orders (indexed by buyer and credited-to); more (a leader's downline), it reads
#: the period's orders once.
FEW = 50
#: How long the job waits for writers still inserting orders or refunds (PostgreSQL).
LOCK_WAIT_MS = 5_000
#: The time a personal-volume window includes (``placed_at <= now``: ``< now + TICK``).
TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Watermark:
    """What a count holds: orders with ids up to ``order_id`` (placed before ``as_of`` for the
    mix, up to it for personal volume), refunds up to ``refund_id`` made up to ``as_of``, and
    owners as the genealogy changes up to ``change_id`` left them."""

    period: str
    start: datetime
    as_of: datetime
    order_id: int
    refund_id: int
    change_id: int

    @property
    def counted(self) -> bool:
        return self.order_id > 0 or self.refund_id > 0 or self.change_id > 0


@dataclass
class Volumes:
    own_pv: int = 0
    customer_pv: int = 0
    consumption_cv: int = 0
    promotional_cv: int = 0
    customer_cv: int = 0

    def add(self, other: Volumes) -> None:
        self.own_pv += other.own_pv
        self.customer_pv += other.customer_pv
        self.consumption_cv += other.consumption_cv
        self.promotional_cv += other.promotional_cv
        self.customer_cv += other.customer_cv

    def pv(self, customer_orders: bool) -> int:
        return self.own_pv + (self.customer_pv if customer_orders else 0)


# --- counting (the job) -----------------------------------------------------------------------

_OWN_PLACED = (
    "SELECT o.buyer_id, SUM(l.qv) FROM orders o JOIN order_lines l ON l.order_id = o.id "
    "WHERE o.status = 'paid' AND o.placed_at >= :start AND o.placed_at < :cut "
    "AND o.id <= :w AND l.buyer_class = 'distributor' GROUP BY o.buyer_id")
_CUSTOMER_PLACED = (
    "SELECT o.credited_to_id, SUM(l.qv) FROM orders o JOIN order_lines l ON l.order_id = o.id "
    "JOIN members b ON b.id = o.buyer_id "
    "WHERE o.status = 'paid' AND o.placed_at >= :start AND o.placed_at < :cut "
    "AND o.id <= :w AND l.buyer_class = 'customer' AND b.owner_id = o.credited_to_id "
    "AND b.kind <> 'distributor' GROUP BY o.credited_to_id")
_MIX = (
    "SELECT o.credited_to_id, "
    "COALESCE(SUM(CASE WHEN l.volume_kind = 'consumption' THEN l.cv END), 0), "
    "COALESCE(SUM(CASE WHEN l.volume_kind = 'promotional' THEN l.cv END), 0), "
    "COALESCE(SUM(CASE WHEN l.buyer_class = 'customer' THEN l.cv END), 0) "
    "FROM orders o JOIN order_lines l ON l.order_id = o.id "
    "WHERE o.status = 'paid' AND o.placed_at >= :start AND o.placed_at < :as_of "
    "AND o.id <= :w AND o.credited_to_id IS NOT NULL GROUP BY o.credited_to_id")
_REFUNDS = (
    "FROM refund_lines rl JOIN refunds r ON r.id = rl.refund_id "
    "JOIN order_lines l ON l.id = rl.order_line_id JOIN orders o ON o.id = l.order_id ")
_OWN_REFUNDED = (
    "SELECT o.buyer_id, SUM(rl.qv) " + _REFUNDS +
    "WHERE r.refunded_at >= :start AND r.refunded_at < :cut AND r.id <= :rw "
    "AND o.placed_at < :cut AND l.buyer_class = 'distributor' GROUP BY o.buyer_id")
_CUSTOMER_REFUNDED = (
    "SELECT o.credited_to_id, SUM(rl.qv) " + _REFUNDS + "JOIN members b ON b.id = o.buyer_id "
    "WHERE r.refunded_at >= :start AND r.refunded_at < :cut AND r.id <= :rw "
    "AND o.placed_at < :cut AND l.buyer_class = 'customer' AND b.owner_id = o.credited_to_id "
    "AND b.kind <> 'distributor' GROUP BY o.credited_to_id")


def tally(conn: Connection, mark: Watermark) -> dict[int, Volumes]:
    """Every member's volumes as ``mark`` holds them, from the orders and refunds (set-based:
    one pass over the period's orders per figure)."""
    params = {"start": bound_time(conn, mark.start), "cut": bound_time(conn, mark.as_of + TICK),
              "as_of": bound_time(conn, mark.as_of), "w": mark.order_id, "rw": mark.refund_id}
    out: dict[int, Volumes] = {}

    def at(member: Any) -> Volumes:
        return out.setdefault(int(member), Volumes())

    for member, qv in fetch_rows(conn, _OWN_PLACED, params):
        at(member).own_pv += int(qv or 0)
    for member, qv in fetch_rows(conn, _OWN_REFUNDED, params):
        at(member).own_pv -= int(qv or 0)
    for member, qv in fetch_rows(conn, _CUSTOMER_PLACED, params):
        at(member).customer_pv += int(qv or 0)
    for member, qv in fetch_rows(conn, _CUSTOMER_REFUNDED, params):
        at(member).customer_pv -= int(qv or 0)
    for member, consumption, promotional, customer in fetch_rows(conn, _MIX, params):
        v = at(member)
        v.consumption_cv, v.promotional_cv, v.customer_cv = (
            int(consumption), int(promotional), int(customer))
    return out


def _watermark(engine: Engine, period: Period, tz: tzinfo, now: datetime
               ) -> tuple[Watermark, int]:
    """The newest order, refund and genealogy change written. On PostgreSQL the tables are
    locked against writers for the moment it takes, so that no row with a smaller id is still
    being written (ids are drawn as rows are inserted, under the insert's lock)."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # Not behind a long writer (a large import): writers would queue behind the wait.
            # The job fails and runs again at its next slot; pages read a longer tail meanwhile.
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_MS}ms'"))
            conn.execute(text("LOCK TABLE orders, refunds, genealogy_changes, members "
                              "IN SHARE MODE"))
        order_id, refund_id, change_id, member_id = conn.execute(text(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM orders), "
            "(SELECT COALESCE(MAX(id), 0) FROM refunds), "
            "(SELECT COALESCE(MAX(id), 0) FROM genealogy_changes), "
            "(SELECT COALESCE(MAX(id), 0) FROM members)")).one()
    return Watermark(str(period), period.start(tz), now, int(order_id), int(refund_id),
                     int(change_id)), int(member_id)


def count_open_volumes(engine: Engine, now: datetime, tz: tzinfo) -> tuple[Watermark, int]:
    """Count the volumes of the period open at ``now`` and store them in place of any earlier
    count; returns the count's watermark and how many members have volume. (Never from a read
    replica: one that lags would miss rows the watermark says it holds.)"""
    require_aware(now, place="now")
    period = Period.containing(now, tz)
    from patronage.compensation.help_flags import judge_all

    mark, members_through = _watermark(engine, period, tz, now)
    with engine.connect() as conn:
        volumes = tally(conn, mark)
        # Who needs help, judged as the count stands (read by the pages with the tail).
        run_id, digest, flags = judge_all(conn, now, period, volumes)
    rows = [{"period": mark.period, "member_id": m, "own_pv": v.own_pv,
             "customer_pv": v.customer_pv, "consumption_cv": v.consumption_cv,
             "promotional_cv": v.promotional_cv, "customer_cv": v.customer_cv}
            for m, v in sorted(volumes.items())]
    with transaction(engine) as session:
        session.execute(delete(HelpFlag))
        session.execute(delete(OpenVolume))
        session.execute(delete(OpenVolumeCount))
        session.add(OpenVolumeCount(
            period=mark.period, starts_at=mark.start, as_of=now, counted_at=now,
            orders_through=mark.order_id, refunds_through=mark.refund_id,
            changes_through=mark.change_id, members_through=members_through, run_id=run_id,
            plan_digest=digest))
        session.flush()
        for at in range(0, len(rows), 20_000):
            session.execute(insert(OpenVolume), rows[at:at + 20_000])
        for at in range(0, len(flags), 20_000):
            session.execute(insert(HelpFlag), [{"period": mark.period, **f}
                                               for f in flags[at:at + 20_000]])
    return mark, len(rows)


# --- reading (the pages) ----------------------------------------------------------------------

def usable_count(session: Session, now: datetime, tz: tzinfo) -> Watermark | None:
    """The stored count of the period open at ``now``, if there is one of a time up to it."""
    period = Period.containing(now, tz)
    row = session.get(OpenVolumeCount, str(period))
    if row is None or row.as_of > now or row.starts_at != period.start(tz):
        return None
    return Watermark(row.period, period.start(tz), row.as_of, row.orders_through,
                     row.refunds_through, row.changes_through)


def _nothing_counted(now: datetime, tz: tzinfo) -> Watermark:
    period = Period.containing(now, tz)
    start = period.start(tz)
    return Watermark(str(period), start, start - TICK, 0, 0, 0)


class Everyone:
    """Every member (for :func:`tail`: all those the tail holds)."""

    def __contains__(self, item: object) -> bool:
        return item is not None


def tail(session: Session, mark: Watermark, now: datetime,
         wanted: Container[int]) -> dict[int, Volumes]:
    """The volumes of ``wanted`` members in the orders and refunds ``mark`` does not hold,
    up to ``now``."""
    return _tail(session, mark, now, wanted)


def _tail(session: Session, mark: Watermark, now: datetime,
          wanted: Container[int]) -> dict[int, Volumes]:
    """The volumes of ``wanted`` members in the orders and refunds ``mark`` does not hold,
    up to ``now``."""
    out: dict[int, Volumes] = {}
    end, cut = now + TICK, mark.as_of + TICK
    buyer = aliased(Member)
    cols = (Order.id, Order.buyer_id, Order.credited_to_id, Order.placed_at, OrderLine.qv,
            OrderLine.cv, OrderLine.buyer_class, OrderLine.volume_kind, buyer.owner_id,
            buyer.kind)
    placed = (select(*cols).join(OrderLine, OrderLine.order_id == Order.id)
              .outerjoin(buyer, buyer.id == Order.buyer_id)
              .where(Order.status == "paid", Order.placed_at < end))
    # Written after the count (by id), and written before it but dated after it (by time).
    # (``coalesce``: the ids written after it are read by id, not the period's by time.)
    queries = [placed.where(Order.id > mark.order_id,
                            func.coalesce(Order.placed_at, Order.placed_at) >= mark.start)]
    if mark.order_id:
        queries.append(placed.where(Order.id <= mark.order_id, Order.placed_at >= mark.as_of,
                                    Order.placed_at >= mark.start))
    for query in queries:
        for (oid, buyer_id, credited, at, qv, cv, klass, kind, owner,
             buyer_kind) in session.execute(query):
            held = oid <= mark.order_id
            if not held or at >= cut:  # personal volume counts up to ``now`` included
                if klass == "distributor" and buyer_id is not None and buyer_id in wanted:
                    out.setdefault(buyer_id, Volumes()).own_pv += int(qv)
                if (klass == "customer" and credited is not None and credited in wanted
                        and owner == credited and buyer_kind != "distributor"):
                    out.setdefault(credited, Volumes()).customer_pv += int(qv)
            if (credited is not None and credited in wanted and at < now
                    and (not held or at >= mark.as_of)):
                v = out.setdefault(credited, Volumes())  # the mix, up to ``now`` excluded
                if kind == "consumption":
                    v.consumption_cv += int(cv)
                elif kind == "promotional":
                    v.promotional_cv += int(cv)
                if klass == "customer":
                    v.customer_cv += int(cv)
    _tail_refunds(session, mark, now, wanted, out)
    return out


def _tail_refunds(session: Session, mark: Watermark, now: datetime, wanted: Container[int],
                  out: dict[int, Volumes]) -> None:
    """The points refunded that ``mark`` does not hold, taken off ``out``."""
    end, cut = now + TICK, mark.as_of + TICK
    buyer = aliased(Member)
    # From the refunds (by id, or by time) to their lines through the order's lines (indexed).
    refunded = (select(RefundLine.qv, OrderLine.buyer_class, Order.buyer_id,
                       Order.credited_to_id, buyer.owner_id, buyer.kind)
                .select_from(Refund)
                .join(Order, Order.id == Refund.order_id)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .join(RefundLine, (RefundLine.order_line_id == OrderLine.id)
                      & (RefundLine.refund_id == Refund.id))
                .outerjoin(buyer, buyer.id == Order.buyer_id)
                .where(Refund.refunded_at < end, Order.placed_at < end))
    refund_queries = [refunded.where(
        Refund.id > mark.refund_id,
        func.coalesce(Refund.refunded_at, Refund.refunded_at) >= mark.start)]
    if mark.refund_id:
        # Held refunds are of orders placed up to the count (a refund follows its order).
        refund_queries.append(refunded.where(Refund.id <= mark.refund_id,
                                             Refund.refunded_at >= cut,
                                             Refund.refunded_at >= mark.start))
    for query in refund_queries:
        for qv, klass, buyer_id, credited, owner, buyer_kind in session.execute(query):
            if klass == "distributor" and buyer_id is not None and buyer_id in wanted:
                out.setdefault(buyer_id, Volumes()).own_pv -= int(qv)
            if (klass == "customer" and credited is not None and credited in wanted
                    and owner == credited and buyer_kind != "distributor"):
                out.setdefault(credited, Volumes()).customer_pv -= int(qv)


def _moved_owners(session: Session, mark: Watermark) -> set[int]:
    """Distributors who gained or lost a customer after the count."""
    out: set[int] = set()
    for old, new in session.execute(select(GenealogyChange.old_value, GenealogyChange.new_value)
                                    .where(GenealogyChange.id > mark.change_id,
                                           GenealogyChange.field == "owner")):
        out |= {int(v) for v in (old, new) if v is not None and str(v).isdigit()}
    return out


def open_volumes(session: Session, ids: Iterable[int], now: datetime, tz: tzinfo
                 ) -> dict[int, Volumes]:
    """The volumes of ``ids`` in the period open at ``now``, up to ``now``: the stored count
    and the tail after it (exact as summing the orders); members without volume are left out.
    Customers' volume of a distributor whose customers moved after the count is summed from
    the orders (:func:`_owned_customer_pv`)."""
    require_aware(now, place="now")
    wanted = set(ids)
    if not wanted:
        return {}
    mark = usable_count(session, now, tz)
    if mark is None:
        if len(wanted) <= FEW:
            return {i: _summed(session, i, now, tz) for i in wanted}
        mark = _nothing_counted(now, tz)
    out: dict[int, Volumes] = {}
    ordered = sorted(wanted)
    if mark.counted:
        for at in range(0, len(ordered), CHUNK):
            for row in session.execute(select(
                    OpenVolume.member_id, OpenVolume.own_pv, OpenVolume.customer_pv,
                    OpenVolume.consumption_cv, OpenVolume.promotional_cv,
                    OpenVolume.customer_cv).where(
                    OpenVolume.period == mark.period,
                    OpenVolume.member_id.in_(ordered[at:at + CHUNK]))):
                out[int(row[0])] = Volumes(*(int(v) for v in row[1:]))
    return with_tail(session, mark, out, wanted, now)


def with_tail(session: Session, mark: Watermark, stored: dict[int, Volumes], wanted: set[int],
              now: datetime) -> dict[int, Volumes]:
    """``stored`` (the count's rows of ``wanted`` members, read by the caller) with the tail
    added: the volumes at ``now``."""
    out = stored
    for member, extra in _tail(session, mark, now, wanted).items():
        out.setdefault(member, Volumes()).add(extra)
    if mark.counted:
        for member in sorted(_moved_owners(session, mark) & wanted):
            v = out.setdefault(member, Volumes())
            v.customer_pv = _owned_customer_pv(session, member, mark.start, now + TICK)
    return out


def _summed(session: Session, member_id: int, now: datetime, tz: tzinfo) -> Volumes:
    """One member's volumes summed from their orders (no count)."""
    from patronage.compensation.standing import personal_volume

    start = Period.containing(now, tz).start(tz)
    own = personal_volume(session, member_id, start, now + TICK, customer_orders=False)
    customers = _owned_customer_pv(session, member_id, start, now + TICK)
    consumption, promotional, customer = session.execute(
        select(func.coalesce(func.sum(OrderLine.cv).filter(
            OrderLine.volume_kind == "consumption"), 0),
               func.coalesce(func.sum(OrderLine.cv).filter(
                   OrderLine.volume_kind == "promotional"), 0),
               func.coalesce(func.sum(OrderLine.cv).filter(
                   OrderLine.buyer_class == "customer"), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.credited_to_id == member_id, Order.status == "paid",
               Order.placed_at >= start, Order.placed_at < now)).one()
    return Volumes(own, customers, int(consumption), int(promotional), int(customer))


def _owned_customer_pv(session: Session, member_id: int, start: datetime,
                       end: datetime) -> int:
    from patronage.compensation.standing import personal_volume

    return (personal_volume(session, member_id, start, end, customer_orders=True)
            - personal_volume(session, member_id, start, end, customer_orders=False))


def open_pv(session: Session, ids: Iterable[int], now: datetime, tz: tzinfo, *,
            customer_orders: bool) -> dict[int, int]:
    """Personal volume so far in the open period, as
    :func:`patronage.compensation.standing.personal_volume` counts it."""
    wanted = set(ids)
    if len(wanted) <= FEW and usable_count(session, now, tz) is None:
        from patronage.compensation.standing import personal_volume

        start = Period.containing(now, tz).start(tz)
        return {i: personal_volume(session, i, start, now + TICK,
                                   customer_orders=customer_orders) for i in sorted(wanted)}
    return {m: v.pv(customer_orders) for m, v in open_volumes(session, wanted, now, tz).items()}


def open_mix(session: Session, member_id: int, now: datetime,
             tz: tzinfo) -> tuple[int, int, int] | None:
    """Consumption CV, promotional CV and CV bought by customers credited to the member in the
    open period before ``now``, from the count and its tail (``None``: no count to read)."""
    if usable_count(session, now, tz) is None:
        return None
    v = open_volumes(session, [member_id], now, tz).get(member_id, Volumes())
    return v.consumption_cv, v.promotional_cv, v.customer_cv


# --- checking ---------------------------------------------------------------------------------

def stale_open_volumes(conn: Connection, examples: int) -> tuple[int, list[str]]:
    """Members whose stored volumes differ from the orders and refunds the count holds,
    counted again (owners who gained or lost customers since are compared without their
    customers' volume, which the pages sum from the orders)."""
    row = conn.execute(select(OpenVolumeCount)).first()
    if row is None:
        return 0, []
    stored = {int(r[0]): Volumes(*(int(v) for v in r[1:])) for r in conn.execute(select(
        OpenVolume.member_id, OpenVolume.own_pv, OpenVolume.customer_pv,
        OpenVolume.consumption_cv, OpenVolume.promotional_cv, OpenVolume.customer_cv)
        .where(OpenVolume.period == row.period))}
    first = conn.execute(select(OpenVolume.period).where(
        OpenVolume.period != row.period).limit(1)).first()
    bad: list[str] = []
    if first is not None:
        bad.append(f"volumes of period {first[0]}, which has no count")
    mark = Watermark(row.period, row.starts_at, row.as_of, row.orders_through, row.refunds_through,
                     row.changes_through)
    again = tally(conn, mark)
    moved: set[int] = set()
    for old, new in conn.execute(select(GenealogyChange.old_value, GenealogyChange.new_value)
                                 .where(GenealogyChange.id > mark.change_id,
                                        GenealogyChange.field == "owner",
                                        or_(GenealogyChange.old_value.is_not(None),
                                            GenealogyChange.new_value.is_not(None)))):
        moved |= {int(v) for v in (old, new) if v is not None and str(v).isdigit()}
    for member in sorted(set(stored) | {m for m, v in again.items() if v != Volumes()}):
        have, want = stored.get(member, Volumes()), again.get(member, Volumes())
        if member in moved:
            have, want = (Volumes(have.own_pv, 0, have.consumption_cv, have.promotional_cv,
                                  have.customer_cv),
                          Volumes(want.own_pv, 0, want.consumption_cv, want.promotional_cv,
                                  want.customer_cv))
        if have != want:
            bad.append(f"member {member} in {row.period}: stored {have}, counted again {want}")
    from patronage.compensation.help_flags import stale_help_flags

    bad += stale_help_flags(conn, again)
    return len(bad), bad[:examples]
