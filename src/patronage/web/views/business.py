"""A distributor's business: volumes and ranks of committed periods, their payout lines.

Reads only the distributor's own rows of committed runs (``rank_records`` by member,
``payout_lines`` by run and earner: both indexed). Projections for the open period and the rank
report card need a whole-company run and are loaded separately (see the business routes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.access import HIDDEN_CUSTOMER, HIDDEN_DISTRIBUTOR, Principal, visible_among
from patronage.compensation.core.bonuses import BONUS_TYPES
from patronage.compensation.core.codes import REASONS
from patronage.compensation.core.plan import Plan
from patronage.compensation.reports import bonus_label
from patronage.compensation.runs import PlanSource
from patronage.compensation.totals import earned_in
from patronage.db.compensation import CommissionRun, PayoutLine, PayoutSkip, RankRecord
from patronage.db.tables import Member, Order
from patronage.languages import _
from patronage.languages.formatting import format_money, format_points
from patronage.markets.core.currencies import by_numeric
from patronage.markets.markets import plan_currency


@dataclass
class PeriodFigures:
    period: str
    pv: int
    gv: int
    active: bool
    paid_as: str
    title: str
    earned: int  # in the member's currency (minor units)
    currency: str = ""
    #: The rank the period's volumes qualified for, when the plan's rules over time paid
    #: another (a grace month, a rank not yet held long enough); "" when the same.
    qualified: str = ""


@dataclass
class PayoutRow:
    bonus: str
    level: int
    #: who the line is from, named as the viewer may see them (never an id)
    source: str
    volume: int
    rate_bp: int
    amount: int  # in the earner's currency (minor units)
    clawback_of: int | None
    currency: str = ""
    #: The line in words by its bonus type, with how its amount was reached (None: the
    #: standard wording below).
    described: str | None = None

    def _money(self, amount: int) -> str:
        return format_money(amount, self.currency or "USD")

    @property
    def explanation(self) -> str:
        """The line in words with its formula, in the reader's language ("10% of Cory
        Smith's 394.00 points = 39.40"; "retail profit: Cory Smith paid 45.00, wholesale 30.00
        → 15.00")."""
        what = bonus_label(self.bonus, self.level)
        if self.clawback_of is not None:
            return _("%(bonus)s taken back: %(source)s's order was refunded") % {
                "bonus": what, "source": self.source}
        if self.described is not None:
            return _("%(words)s = %(amount)s") % {"words": self.described,
                                                  "amount": self._money(self.amount)}
        if self.bonus == "retail_profit":
            return _("%(bonus)s: %(source)s paid %(paid)s, wholesale %(wholesale)s → "
                     "%(profit)s") % {
                "bonus": what, "source": self.source, "paid": self._money(self.volume),
                "wholesale": self._money(self.volume - self.amount),
                "profit": self._money(self.amount)}
        if not self.rate_bp:
            return _("%(bonus)s from %(source)s") % {"bonus": what, "source": self.source}
        if BONUS_TYPES.of_line(self.bonus).money_volume:
            return _("%(bonus)s: %(rate)s%% of %(source)s's %(volume)s = %(amount)s") % {
                "bonus": what, "source": self.source, "rate": f"{self.rate_bp / 100:g}",
                "volume": self._money(self.volume), "amount": self._money(self.amount)}
        return _("%(bonus)s: %(rate)s%% of %(source)s's %(volume)s points = %(amount)s") % {
            "bonus": what, "source": self.source, "rate": f"{self.rate_bp / 100:g}",
            "volume": format_points(self.volume), "amount": self._money(self.amount)}


@dataclass
class PassedOverRow:
    """A payment the member was first in line for and did not get, and who got it."""

    bonus: str
    level: int
    source: str
    reason: int
    passed_to: str | None

    @property
    def explanation(self) -> str:
        words = {"bonus": bonus_label(self.bonus, self.level), "source": self.source,
                 "why": _(REASONS.get(self.reason, "not qualified")),
                 "who": self.passed_to or ""}
        if self.passed_to:
            return _("%(bonus)s on %(source)s's volume went to %(who)s: you were %(why)s") % words
        return _("%(bonus)s on %(source)s's volume was not paid: you were %(why)s") % words


def names_for(session: Session, viewer: Principal | None, members: set[int],
              orders: set[int]) -> tuple[dict[int, str], dict[int, str]]:
    """Members and orders' buyers by name where ``viewer`` may see them (no ids), else "a
    customer of your team" / "a distributor of your team"."""
    buyers = {o: b for o, b in session.execute(
        select(Order.id, Order.buyer_id).where(Order.id.in_(sorted(orders))))} if orders else {}
    wanted = sorted(members | set(buyers.values()))
    rows = session.execute(select(Member.id, Member.first_name, Member.last_name, Member.kind)
                           .where(Member.id.in_(wanted))).all() if wanted else []
    seen = visible_among(session, viewer, wanted)
    named = {i: f"{first} {last}".strip() if i in seen else _(
        HIDDEN_DISTRIBUTOR if kind == "distributor" else HIDDEN_CUSTOMER)
        for i, first, last, kind in rows}
    return named, {o: named.get(b, _(HIDDEN_CUSTOMER)) for o, b in buyers.items()}


@lru_cache(maxsize=16)
def _run_plan(plan_text: str) -> Plan:
    return PlanSource.from_text(plan_text).plan


def _described(plan: Plan | None, bonus: str, level: int, volume: int,
               clawback_of: int | None) -> str | None:
    """A line in its bonus type's words under the plan of its run (None: standard words)."""
    if plan is None or clawback_of is not None:
        return None
    return plan.bonuses.registry.of_line(bonus).describe(plan, level, volume)


@lru_cache(maxsize=16)
def rank_names(plan_text: str) -> tuple[str, ...]:
    return tuple(r.name for r in PlanSource.from_text(plan_text).plan.ranks)


def _rank(names: tuple[str, ...], index: int) -> str:
    return names[index] if 0 <= index < len(names) else _("no rank")


def committed_runs(session: Session, limit: int = 12) -> list[CommissionRun]:
    """The newest committed months first."""
    return list(session.scalars(select(CommissionRun).where(CommissionRun.calendar == "month")
                                .order_by(CommissionRun.period.desc())
                                .limit(limit)))


def period_history(session: Session, member_id: int, *, periods: int = 6) -> list[PeriodFigures]:
    """PV, GV, ranks and earnings of the member in the last committed periods, oldest first."""
    runs = committed_runs(session, periods)
    if not runs:
        return []
    ids = [r.id for r in runs]
    ranks = {r.run_id: r for r in session.scalars(select(RankRecord).where(
        RankRecord.member_id == member_id, RankRecord.run_id.in_(ids)))}
    earned = earned_in(session, member_id, ids)
    out = []
    for run in reversed(runs):
        names = rank_names(run.plan_text)
        rec = ranks.get(run.id)
        out.append(PeriodFigures(
            run.period, rec.pv if rec else 0, rec.gv if rec else 0,
            bool(rec.active) if rec else False, _rank(names, rec.paid_as if rec else -1),
            _rank(names, rec.title if rec else -1), int(earned.get(run.id, (0, None))[0] or 0),
            _currency(session, earned.get(run.id, (0, None))[1]),
            _rank(names, rec.qualified) if rec and rec.qualified not in (None, rec.paid_as)
            else ""))
    return out


def payout_rows(session: Session, member_id: int, run_id: int, *, limit: int = 200,
                viewer: Principal | None = None) -> list[PayoutRow]:
    """The member's payout lines in a committed run, largest first, each explained; sources
    are named as ``viewer`` may see them (``None``: the company, every name)."""
    # Plain rows, not mapped objects: a large earner's page shows 200 lines.
    lines = session.execute(select(
        PayoutLine.bonus, PayoutLine.level, PayoutLine.source_kind, PayoutLine.source_id,
        PayoutLine.volume, PayoutLine.rate_bp, PayoutLine.amount, PayoutLine.paid_amount,
        PayoutLine.clawback_of, PayoutLine.currency).where(
        PayoutLine.run_id == run_id, PayoutLine.earner_id == member_id)
        .order_by(PayoutLine.amount.desc(), PayoutLine.id).limit(limit)).all()
    members, orders = names_for(
        session, viewer, {p.source_id for p in lines if p.source_kind != "order"},
        {p.source_id for p in lines if p.source_kind == "order"})

    text = session.scalar(select(CommissionRun.plan_text).where(CommissionRun.id == run_id))
    plan = _run_plan(text) if text is not None and lines else None

    hidden = _(HIDDEN_CUSTOMER)
    currencies: dict[int | None, str] = {}
    out = []
    for p in lines:
        labels = orders if p.source_kind == "order" else members
        if p.currency not in currencies:
            currencies[p.currency] = _currency(session, p.currency)
        out.append(PayoutRow(p.bonus, p.level, labels.get(p.source_id, hidden), p.volume,
                             p.rate_bp, p.amount if p.paid_amount is None else p.paid_amount,
                             p.clawback_of, currencies[p.currency],
                             _described(plan, p.bonus, p.level, p.volume, p.clawback_of)))
    return out


def passed_over_rows(session: Session, member_id: int, run_id: int, *, limit: int = 100,
                     viewer: Principal | None = None) -> list[PassedOverRow]:
    """The payments of a committed run the member was first in line for and did not get,
    with who got each (named as ``viewer`` may see them)."""
    skips = list(session.scalars(select(PayoutSkip).where(
        PayoutSkip.run_id == run_id, PayoutSkip.member_id == member_id)
        .order_by(PayoutSkip.id).limit(limit)))
    members, orders = names_for(
        session, viewer,
        {k.source_id for k in skips if k.source_kind != "order"}
        | {k.passed_to_id for k in skips if k.passed_to_id is not None},
        {k.source_id for k in skips if k.source_kind == "order"})
    return [PassedOverRow(
        k.bonus, k.level,
        (orders if k.source_kind == "order" else members).get(k.source_id, _(HIDDEN_CUSTOMER)),
        k.reason, members.get(k.passed_to_id) if k.passed_to_id is not None else None)
        for k in skips]


def _currency(session: Session, number: int | None) -> str:
    """A payout line's currency (lines of runs made before markets: the plan currency)."""
    return plan_currency(session) if number is None else by_numeric(number)
