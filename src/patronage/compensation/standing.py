"""Money at risk: how much personal volume a distributor still needs this period to stay
active, and what being active paid them last period.

Cheap enough for every page view: the open period's volume as last counted by the
``open-volumes`` job, and the orders and refunds written since
(:mod:`patronage.compensation.open_volumes`), not a whole-company run. Personal volume is
counted as the engine counts it: the member's own orders, and their customers' orders
credited to them when the plan says so (``customer_orders_count_as_pv``), less the points
refunded in the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session, aliased

from patronage.clock import Period, require_aware, zone
from patronage.compensation.open_volumes import open_pv
from patronage.compensation.runs import PlanSource
from patronage.compensation.totals import earned_in
from patronage.db.compensation import CommissionRun, PlanVersion, RankRecord
from patronage.db.tables import Member, Order, OrderLine, Refund, RefundLine
from patronage.markets.core.currencies import by_numeric
from patronage.markets.markets import plan_currency


@dataclass(frozen=True)
class ActiveStanding:
    """The member's personal volume so far in the open period against the plan's minimum."""

    period: str
    pv: int
    need: int
    #: the last day of the period (in the company's zone)
    last_day: date
    last_period: str | None
    #: paid for the last committed period (minor units of ``currency``)
    last_earned: int
    currency: str
    was_active: bool
    #: the rank the member was paid as last period (index into the plan's ranks; -1: none)
    last_paid_as: int = -1

    @property
    def short(self) -> int:
        return max(0, self.need - self.pv)

    @property
    def at_risk(self) -> bool:
        """Short of the minimum while being active (or paid) last period: money at risk."""
        return self.short > 0 and (self.was_active or self.last_earned > 0)


def plan_for(session: Session, period: Period) -> PlanSource | None:
    """The stored plan in force for ``period`` (``None`` when none is)."""
    text = session.scalar(select(PlanVersion.plan_text)
                          .where(PlanVersion.effective_from <= str(period))
                          .order_by(PlanVersion.effective_from.desc(), PlanVersion.id.desc())
                          .limit(1))
    return PlanSource.from_text(text) if text else None


def personal_volume(session: Session, member_id: int, start: datetime, end: datetime, *,
                    customer_orders: bool) -> int:
    """The member's PV of paid lines placed in ``[start, end)``, less the points refunded then.

    Read by buyer (indexed): the member's own orders, and their customers' orders credited to
    them (a customer's orders are credited to their owner)."""
    total = 0
    buyer = aliased(Member)
    whose: list[tuple[bool, ColumnElement[bool]]] = [
        (False, and_(Order.buyer_id == member_id, OrderLine.buyer_class == "distributor"))]
    if customer_orders:
        # Their customers' orders are found by whom they are credited to (indexed with the
        # time they were placed), not by every order every customer ever placed.
        whose.append((True, and_(Order.credited_to_id == member_id, buyer.owner_id == member_id,
                                 buyer.kind != "distributor",
                                 OrderLine.buyer_class == "customer")))
    for customers, mine in whose:
        placed_q = (select(func.coalesce(func.sum(OrderLine.qv), 0)).select_from(OrderLine)
                    .join(Order, Order.id == OrderLine.order_id))
        # A refund made before ``end`` is of an order placed before it.
        refunded_q = (select(func.coalesce(func.sum(RefundLine.qv), 0)).select_from(RefundLine)
                      .join(Refund, Refund.id == RefundLine.refund_id)
                      .join(OrderLine, OrderLine.id == RefundLine.order_line_id)
                      .join(Order, Order.id == OrderLine.order_id))
        refund_whose = mine
        if customers:
            placed_q = placed_q.join(buyer, buyer.id == Order.buyer_id)
            refunded_q = refunded_q.join(buyer, buyer.id == Order.buyer_id)
        if customers and _many_customers(session, member_id):
            # Their customers' refunds are read from the period's refunds (by date, indexed),
            # not through every order ever credited to them (tens of thousands for the
            # largest): "+ 0" keeps the planner off the credited-to and owner indexes.
            refund_whose = and_((Order.credited_to_id + 0) == member_id,
                                (buyer.owner_id + 0) == member_id, buyer.kind != "distributor",
                                OrderLine.buyer_class == "customer", Order.id == Refund.order_id)
        placed = session.scalar(placed_q.where(
            mine, Order.status == "paid", Order.placed_at >= start,
            Order.placed_at < end)) or 0
        refunded = session.scalar(refunded_q.where(
            refund_whose, Order.placed_at < end, Refund.refunded_at >= start,
            Refund.refunded_at < end)) or 0
        total += int(placed) - int(refunded)
    return total


#: From this many customers on, a distributor's customers' refunds are read from the period's
#: refunds rather than through every order ever credited to them.
MANY_CUSTOMERS = 2_000


def _many_customers(session: Session, member_id: int) -> bool:
    few = select(Member.id).where(Member.owner_id == member_id).limit(MANY_CUSTOMERS)
    return (session.scalar(select(func.count()).select_from(few.subquery())) or 0) \
        >= MANY_CUSTOMERS


def active_standing(session: Session, member_id: int, now: datetime, *,
                    company_zone: str) -> ActiveStanding | None:
    """Where the member stands in the open period (``None`` with no plan in force)."""
    require_aware(now, place="now")
    tz = zone(company_zone)
    period = Period.containing(now, tz)
    source = plan_for(session, period)
    if source is None:
        return None
    plan = source.plan
    # The stored count of the period and the orders and refunds written after it.
    pv = open_pv(session, [member_id], now, tz,
                 customer_orders=plan.customer_orders_count_as_pv).get(member_id, 0)
    run = session.scalars(select(CommissionRun).where(CommissionRun.period < str(period),
                                                      CommissionRun.calendar == "month")
                          .order_by(CommissionRun.period.desc()).limit(1)).first()
    earned, currency, active, paid_as = 0, plan_currency(session), False, -1
    if run is not None:
        total, number = earned_in(session, member_id, [run.id]).get(run.id, (0, None))
        earned = int(total or 0)
        if number is not None:
            currency = by_numeric(int(number))
        rec = session.scalars(select(RankRecord).where(RankRecord.run_id == run.id,
                                                       RankRecord.member_id == member_id)
                              ).first()
        active, paid_as = (bool(rec.active), int(rec.paid_as)) if rec else (False, -1)
    last_day = (period.end(tz) - timedelta(microseconds=1)).date()
    return ActiveStanding(str(period), pv, plan.active_min_pv, last_day,
                          run.period if run else None, earned, currency, active, paid_as)
