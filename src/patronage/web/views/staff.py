"""What company staff open from the searches: a member's page (for a distributor: rank, volumes,
commissions and downline), an order's page, a committed run's payees and lines, and the figures
of the company dashboard.

Every read goes through an index: a member by id, their orders by ``ix_orders_buyer``, their
rank records and payout lines by run and member, a run's payout lines by run; the dashboard's
order sums by ``ix_orders_placed_at`` over the last weeks only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import phonenumbers
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from patronage.access import member_labels
from patronage.compensation.totals import sum_run
from patronage.db.compensation import CommissionRun, PayoutLine, RunBonusTotal, RunPayee
from patronage.db.placements import PlacementRecord
from patronage.db.tables import Member, Order, OrderLine, Product, Refund
from patronage.errors import NotFound
from patronage.network.placement import PlacementView, placement_view
from patronage.shop.links import link_side
from patronage.web.views.business import PayoutRow, PeriodFigures, payout_rows, period_history
from patronage.web.views.team import TeamPage, team_level

PAGE_SIZE = 25


def phone_keys(text: str, region: str | None) -> list[str]:
    """What a typed phone number may be stored as: its E.164 form (read in ``region`` when it
    has no country code, e.g. ``US``) and its bare digits. Empty when the text is no phone
    number (fewer than six digits, or letters in it)."""
    raw = text.strip()
    digits = "".join(c for c in raw if c.isdigit())
    if len(digits) < 6 or any(c.isalpha() for c in raw):
        return []
    keys = [digits]
    try:
        number = phonenumbers.parse(raw, None if raw.startswith("+") else (region or "US"))
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        keys.insert(0, e164)
        national = str(number.national_number)
        if national != digits:
            keys.append(national)
    if raw not in keys:
        keys.append(raw)
    return list(dict.fromkeys(keys))


@dataclass
class MemberPage:
    member: Member
    sponsor: str | None
    owner: str | None
    referrer: str | None
    customers: int
    history: list[PeriodFigures]
    last_run: CommissionRun | None
    lines: list[PayoutRow]
    team: TeamPage | None
    orders: list[Order]
    #: The placement tree around a distributor, and the names of the members it shows.
    placement: PlacementView | None = None
    #: The side their share link places the distributors joining through it on (None: the
    #: plan's rule).
    link_side: str | None = None
    names: dict[int, str] = field(default_factory=dict)


def _label(session: Session, member_id: int | None) -> str | None:
    if member_id is None:
        return None
    return member_labels(session, None, [member_id]).get(member_id)


def member_page(session: Session, member_id: int, *, team_page: int = 1,
                placed_at: datetime | None = None) -> MemberPage:
    """A member as staff see them; a distributor with the last six committed periods (rank,
    PV, GV, earnings), the lines of the last committed run and the first level of the
    downline."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"member {member_id} does not exist")
    customers = session.scalar(select(func.count()).select_from(Member).where(
        Member.owner_id == member_id)) or 0
    orders = list(session.scalars(select(Order).where(Order.buyer_id == member_id)
                                  .order_by(Order.placed_at.desc(), Order.id.desc()).limit(10)))
    history: list[PeriodFigures] = []
    last_run: CommissionRun | None = None
    lines: list[PayoutRow] = []
    team: TeamPage | None = None
    if member.kind == "distributor":
        history = period_history(session, member_id)
        last_run = session.scalar(select(CommissionRun).where(CommissionRun.calendar == "month")
                                  .order_by(CommissionRun.period.desc())
                                  .limit(1))
        if last_run is not None:
            lines = payout_rows(session, member_id, last_run.id, limit=50)
        team = team_level(session, member_id, level=1, page=team_page)
    page = MemberPage(member, _label(session, member.sponsor_id), _label(session, member.owner_id),
                      _label(session, member.referrer_id), int(customers), history, last_run,
                      lines, team, orders)
    if member.kind == "distributor":
        _with_placement(session, page, placed_at or datetime.now(UTC))
    return page


def _with_placement(session: Session, page: MemberPage, at: datetime) -> None:
    """The member's placement as of ``at`` and the names it shows (nothing when the company
    places nobody)."""
    if session.scalar(select(PlacementRecord.id).limit(1)) is None:
        return
    view = placement_view(session, page.member.id, at)
    page.placement = view
    page.link_side = link_side(session, page.member.id)
    shown = [m for m in (view.spot.parent if view.spot else None, view.left.top,
                         view.right.top) if m is not None]
    page.names = member_labels(session, None, shown)


@dataclass(frozen=True)
class OrderLineRow:
    sku: str
    name: str
    quantity: int
    unit_price: int
    amount: int
    qv: int
    cv: int
    volume_kind: str
    buyer_class: str


@dataclass
class OrderPage:
    order: Order
    buyer: str
    credited_to: str | None
    lines: list[OrderLineRow]
    refunded: int
    refunds: list[Refund] = field(default_factory=list)


def order_page(session: Session, order_id: int) -> OrderPage:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    lines = [OrderLineRow(p.sku, p.name, line.quantity, line.unit_price, line.amount, line.qv,
                          line.cv, line.volume_kind, line.buyer_class)
             for line, p in session.execute(
                 select(OrderLine, Product).join(Product, Product.id == OrderLine.product_id)
                 .where(OrderLine.order_id == order_id).order_by(OrderLine.id)).all()]
    refunds = list(session.scalars(select(Refund).where(Refund.order_id == order_id)
                                   .order_by(Refund.refunded_at)))
    return OrderPage(order, _label(session, order.buyer_id) or f"#{order.buyer_id}",
                     _label(session, order.credited_to_id), lines,
                     sum(r.total for r in refunds), refunds)


def buyer_names(session: Session, orders: list[Order]) -> dict[int, str]:
    """``First Last`` of each order's buyer, for an order list (one query by primary key)."""
    ids = sorted({o.buyer_id for o in orders})
    if not ids:
        return {}
    return {i: f"{first} {last}".strip() for i, first, last in session.execute(
        select(Member.id, Member.first_name, Member.last_name).where(Member.id.in_(ids))).all()}


@dataclass(frozen=True)
class Payee:
    member_id: int
    name: str
    kind: str
    lines: int
    amount: int


@dataclass
class RunPage:
    run: CommissionRun
    by_bonus: list[tuple[str, int, int]]  # bonus, lines, amount
    payees: list[Payee]
    payee_count: int
    page: int
    has_next: bool
    payee: Payee | None
    lines: list[PayoutRow]


def run_page(session: Session, run_id: int, *, page: int = 1,
             payee: int | None = None) -> RunPage:
    """A committed run: what each bonus paid, its payees largest first (a page at a time) and
    the lines of one payee, each explained."""
    run = session.get(CommissionRun, run_id)
    if run is None:
        raise NotFound(f"commission run {run_id} does not exist")
    paid = func.coalesce(PayoutLine.paid_amount, PayoutLine.amount)
    sum_run(session, run_id)
    by_bonus = [(str(b), int(n), int(a or 0)) for b, n, a in session.execute(
        select(RunBonusTotal.bonus, RunBonusTotal.lines, RunBonusTotal.amount)
        .where(RunBonusTotal.run_id == run_id)).all()]
    by_bonus.sort(key=lambda r: -r[2])
    count = session.scalar(select(func.count()).select_from(RunPayee)
                           .where(RunPayee.run_id == run_id)) or 0
    page = max(1, page)
    rows = session.execute(
        select(RunPayee.earner_id, RunPayee.lines, RunPayee.amount, Member.first_name,
               Member.last_name, Member.kind)
        .join(Member, Member.id == RunPayee.earner_id)
        .where(RunPayee.run_id == run_id)
        .order_by(RunPayee.amount.desc(), RunPayee.earner_id)
        .limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    payees = [Payee(int(e), f"{first} {last}".strip(), kind, int(n), int(a or 0))
              for e, n, a, first, last, kind in rows]
    chosen: Payee | None = None
    lines: list[PayoutRow] = []
    if payee is not None:
        found = session.execute(
            select(func.count(), func.sum(paid)).where(PayoutLine.run_id == run_id,
                                                       PayoutLine.earner_id == payee)).one()
        member = session.get(Member, payee)
        if member is None or not found[0]:
            raise NotFound(f"member {payee} has no lines in commission run {run_id}")
        chosen = Payee(payee, member.name, member.kind, int(found[0]), int(found[1] or 0))
        lines = payout_rows(session, payee, run_id)
    return RunPage(run, by_bonus, payees[:PAGE_SIZE], int(count), page, len(payees) > PAGE_SIZE,
                   chosen, lines)


@dataclass
class Dashboard:
    weeks: list[str]  # each week's first day, ISO
    sales: dict[str, list[int]]  # currency -> total per week (minor units)
    orders: list[int]  # orders per week
    consumption: list[int]  # CV per week
    promotional: list[int]
    customer: list[int]
    distributor: list[int]
    commission: list[tuple[str, int, int]]  # period, CV, paid
    kinds: dict[str, int]


def dashboard(session: Session, now: datetime, *, weeks: int = 12) -> Dashboard:
    """Paid sales of the last ``weeks`` whole weeks and this one (Monday to Sunday, UTC), the
    CV they carried split by volume kind and by buyer class, the commission share of CV of
    the last committed runs and the members by kind."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0,
                                                           microsecond=0)
    starts = [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    bucket = case(*[(Order.placed_at < starts[i + 1], i) for i in range(weeks - 1)],
                  else_=weeks - 1)
    since = Order.placed_at >= starts[0]
    paid = Order.status == "paid"
    sales: dict[str, list[int]] = {}
    orders = [0] * weeks
    for week, currency, total, n in session.execute(
            select(bucket, Order.currency, func.sum(Order.total), func.count())
            .where(since, Order.placed_at < now, paid)
            .group_by(bucket, Order.currency)).all():
        sales.setdefault(str(currency), [0] * weeks)[int(week)] = int(total or 0)
        orders[int(week)] += int(n)
    mix = {k: [0] * weeks for k in ("consumption", "promotional", "customer", "distributor")}
    for week, kind, buyer, cv in session.execute(
            select(bucket, OrderLine.volume_kind, OrderLine.buyer_class, func.sum(OrderLine.cv))
            .join(Order, Order.id == OrderLine.order_id)
            .where(since, Order.placed_at < now, paid)
            .group_by(bucket, OrderLine.volume_kind, OrderLine.buyer_class)).all():
        mix[str(kind)][int(week)] += int(cv or 0)
        mix[str(buyer)][int(week)] += int(cv or 0)
    runs = list(session.execute(select(CommissionRun.period, CommissionRun.total_cv,
                                       CommissionRun.total_paid)
                                .where(CommissionRun.calendar == "month")
                                .order_by(CommissionRun.period.desc()).limit(12)).all())
    kinds = {str(k): int(n) for k, n in session.execute(
        select(Member.kind, func.count()).group_by(Member.kind)).all()}
    return Dashboard([s.date().isoformat() for s in starts], sales, orders,
                     mix["consumption"], mix["promotional"], mix["customer"],
                     mix["distributor"],
                     [(str(p), int(cv), int(paid_)) for p, cv, paid_ in reversed(runs)], kinds)
