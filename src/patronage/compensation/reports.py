"""Reading a run: every payment and skip explained in words, the rank report card, plan what-ifs.

The words are in the current reader's language (:func:`patronage.languages.use_locale`;
English by default): a page sets it to the viewer's, the command line leaves it English.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from sqlalchemy import Engine, or_, select

from patronage.access import HIDDEN_DISTRIBUTOR, Principal, member_labels, order_labels
from patronage.arrays import sum_by
from patronage.clock import DEFAULT_COMPANY_ZONE, AnyPeriod, Period
from patronage.compensation.committed import stored_clawbacks
from patronage.compensation.core.bonuses import BONUS_TYPES
from patronage.compensation.core.plan import BP, Plan
from patronage.compensation.core.results import (
    BONUSES,
    REASON_INACTIVE,
    REASON_RANK_DEPTH,
    REASONS,
    SOURCE_KINDS,
    SOURCE_ORDER,
)
from patronage.compensation.runs import (
    Clawback,
    PeriodRun,
    PlanSource,
    _committed,
    preview_period,
    replay_committed,
)
from patronage.compensation.withheld import (
    committed_notes,
    preview_notes,
    withheld_words,
)
from patronage.db.compensation import CommissionRun, PayoutLine, PayoutSkip, RankRecord
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import NotFound
from patronage.facts import KIND_DISTRIBUTOR
from patronage.languages import _
from patronage.money import format_amount


def bonus_label(bonus: str, level: int = 0) -> str:
    """A payout line of ``bonus`` (and its level, if any) as the reader's language names it
    (the wording is its bonus type's: :meth:`BonusType.label`)."""
    return BONUS_TYPES.of_line(bonus).label(bonus, level)


def load_run(engine: Engine, period: Period, plan: PlanSource | None = None, *,
             company_zone: str = DEFAULT_COMPANY_ZONE) -> PeriodRun:
    """The committed run (recomputed from its snapshot with its own plan, which reproduces its
    lines, and with the clawback lines stored with it), or a preview (with ``plan``, or else the
    stored plan in force for the period)."""
    record = _committed(engine, period)
    if record is not None:
        run = replay_committed(engine, period)
        run.clawbacks = stored_clawbacks(engine, record.id)
        return run
    return preview_period(engine, period, plan, company_zone=company_zone)


def _pts(volume: int) -> str:
    return format_amount(volume)


@dataclass(frozen=True)
class _Standing:
    pv: int
    gv: int
    active: bool
    paid_as: int  # rank index, -1 none


@dataclass(frozen=True)
class _Line:
    """A payout line with member ids: ``source`` an order id or a member id by ``kind``."""

    bonus: str
    kind: int
    source: int
    level: int
    volume: int
    rate_bp: int
    amount: int


@dataclass(frozen=True)
class _Skip:
    bonus: str
    kind: int
    source: int
    level: int
    member: int
    reason: int
    passed_to: int | None


def _why(standing: dict[int, _Standing], member: int, reason: int, level: int,
         plan: Plan) -> str:
    held = standing.get(member, _Standing(0, 0, False, -1))
    if reason == REASON_INACTIVE:
        return _("inactive, %(pv)s PV < %(minimum)s") % {"pv": _pts(held.pv),
                                                          "minimum": _pts(plan.active_min_pv)}
    if reason == REASON_RANK_DEPTH:
        rank = held.paid_as
        name = plan.ranks[rank].name if rank >= 0 else _("no rank")
        depth = plan.ranks[rank].unilevel_depth if rank >= 0 else 0
        return _("paid as %(rank)s, which pays %(depth)d level(s), not level %(level)d") % {
            "rank": name, "depth": depth, "level": level}
    found = REASONS.get(reason)
    return _(found) if found else _("not qualified")


@dataclass(frozen=True)
class Explanation:
    """A member's period in words: the standing line, one line per payout line, one per
    clawback line, one per payment that passed them over."""

    standing: str
    payments: list[str]
    clawbacks: list[str]
    skips: list[str]
    #: Amounts the customer-volume rule withheld, released or forfeited in the period.
    withheld: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [self.standing, *self.payments, *self.clawbacks, *self.skips, *self.withheld]


def explain_member(engine: Engine, member_id: int, period: AnyPeriod,
                   plan: PlanSource | None = None, viewer: Principal | None = None, *,
                   company_zone: str = DEFAULT_COMPANY_ZONE) -> list[str]:
    """Every payment to the member in the period, and every payment that passed them over."""
    return explain(engine, member_id, period, plan, viewer, company_zone=company_zone).lines()


def explain(engine: Engine, member_id: int, period: AnyPeriod,
            plan: PlanSource | None = None, viewer: Principal | None = None, *,
            company_zone: str = DEFAULT_COMPANY_ZONE) -> Explanation:
    """:func:`explain_member`, the lines by kind. A committed period is explained from the lines,
    skips and ranks stored with its run (clawbacks included), with the plan it ran with; an open
    one from a preview (with ``plan``, or else the plan in force).

    People and orders are named as ``viewer`` may see them (:func:`patronage.access.member_labels`,
    :func:`patronage.access.order_labels`; ``None``, the company, sees every name): the amounts
    and formulas are the same for every viewer."""
    record = _committed(engine, period)
    if record is not None:
        return _explain_committed(engine, record, member_id, period, viewer)
    run = preview_period(engine, period, plan, company_zone=company_zone)
    g, r = run.facts.genealogy, run.result
    idx = int(g.index_of(np.array([member_id]))[0])
    if idx < 0:
        raise NotFound(f"member {member_id} is not in the genealogy of {period}")
    p, k = r.payouts, r.skips
    mine = np.flatnonzero(p.earner == idx)
    touched = np.flatnonzero((k.member == idx) | (k.passed_to == idx))

    def mid(i: int) -> int:
        return int(g.member_id[i])

    def source(kind: int, s: int) -> int:
        return s if kind == SOURCE_ORDER else mid(s)

    lines = [_Line(BONUSES[int(p.bonus[j])], int(p.source_kind[j]),
                   source(int(p.source_kind[j]), int(p.source[j])), int(p.level[j]),
                   int(p.volume[j]), int(p.rate_bp[j]), int(p.amount[j]))
             for j in mine.tolist()]
    skips = [_Skip(BONUSES[int(k.bonus[j])], int(k.source_kind[j]),
                   source(int(k.source_kind[j]), int(k.source[j])), int(k.level[j]),
                   mid(int(k.member[j])), int(k.reason[j]),
                   mid(int(k.passed_to[j])) if int(k.passed_to[j]) >= 0 else None)
             for j in touched.tolist()]
    who = {member_id} | {x.member for x in skips}
    standing = {mid(i): _Standing(int(r.pv[i]), int(r.gv[i]), bool(r.active[i]),
                                  int(r.paid_as[i]))
                for i in g.index_of(np.array(sorted(who))).tolist() if i >= 0}
    told = _words(engine, member_id, period, run.plan.plan, standing, lines, skips,
                  [c for c in run.clawbacks if c.earner_id == member_id], viewer)
    return replace(told, withheld=withheld_words(
        run.plan.plan, preview_notes(run, member_id)))


def _explain_committed(engine: Engine, record: CommissionRun, member_id: int,
                       period: AnyPeriod, viewer: Principal | None) -> Explanation:
    plan = PlanSource.from_text(record.plan_text, f"run {period}").plan
    with transaction(engine) as s:
        if s.get(Member, member_id) is None:
            raise NotFound(f"member {member_id} is not in the genealogy of {period}")
        stored = s.scalars(select(PayoutLine).where(
            PayoutLine.run_id == record.id, PayoutLine.earner_id == member_id)
            .order_by(PayoutLine.id)).all()
        passed = s.scalars(select(PayoutSkip).where(
            PayoutSkip.run_id == record.id,
            or_(PayoutSkip.member_id == member_id, PayoutSkip.passed_to_id == member_id))
            .order_by(PayoutSkip.id)).all()
        who = {member_id} | {x.member_id for x in passed}
        ranks = s.scalars(select(RankRecord).where(RankRecord.run_id == record.id,
                                                   RankRecord.member_id.in_(sorted(who)))).all()
        standing = {x.member_id: _Standing(x.pv, x.gv, x.active, x.paid_as) for x in ranks}
        lines = [_Line(x.bonus, SOURCE_KINDS.index(x.source_kind), x.source_id, x.level,
                       x.volume, x.rate_bp, x.amount) for x in stored if x.clawback_of is None]
        clawbacks = [Clawback(x.earner_id, x.bonus, SOURCE_KINDS.index(x.source_kind),
                              x.source_id, x.level, x.volume, x.rate_bp, x.amount,
                              x.clawback_of) for x in stored if x.clawback_of is not None]
        skips = [_Skip(x.bonus, SOURCE_KINDS.index(x.source_kind), x.source_id, x.level,
                       x.member_id, x.reason, x.passed_to_id) for x in passed]
        notes = committed_notes(s, record.id, member_id)
    told = _words(engine, member_id, period, plan, standing, lines, skips, clawbacks, viewer)
    return replace(told, withheld=withheld_words(plan, notes))


def _words(engine: Engine, member_id: int, period: AnyPeriod, plan: Plan,
           standing: dict[int, _Standing], lines: list[_Line], skips: list[_Skip],
           clawbacks: list[Clawback], viewer: Principal | None) -> Explanation:
    ids = {member_id} | {x.member for x in skips}
    ids |= {x.passed_to for x in skips if x.passed_to is not None}
    ids |= {x.source for x in lines if x.kind != SOURCE_ORDER}
    ids |= {x.source for x in skips if x.kind != SOURCE_ORDER}
    orders = {x.source for x in lines if x.kind == SOURCE_ORDER}
    orders |= {x.source for x in skips if x.kind == SOURCE_ORDER}
    with transaction(engine) as s:
        names = member_labels(s, viewer, ids)
        order_names = order_labels(s, viewer, orders)

    def who(m: int) -> str:
        return names.get(m, f"#{m}" if viewer is None else _(HIDDEN_DISTRIBUTOR))

    def source(kind: int, s: int) -> str:
        if kind == SOURCE_ORDER:
            return order_names.get(s, _("order %(id)d") % {"id": s})
        return who(s)

    me = standing.get(member_id, _Standing(0, 0, False, -1))
    rank = me.paid_as
    head = _("%(name)s in %(period)s: PV %(pv)s, GV %(gv)s, %(active)s, paid as %(rank)s") % {
        "name": names.get(member_id, member_id), "period": period, "pv": _pts(me.pv),
        "gv": _pts(me.gv), "active": _("active") if me.active else _("not active"),
        "rank": plan.ranks[rank].name if rank >= 0 else _("no rank")}
    def label(line: str, level: int = 0) -> str:
        return plan.bonuses.registry.of_line(line).label(line, level)

    payments: list[str] = []
    for x in lines:
        told = plan.bonuses.registry.of_line(x.bonus).describe(plan, x.level, x.volume)
        if told is not None:
            payments.append(_("%(words)s = %(amount)s") % {
                "words": told, "amount": format_amount(x.amount)})
            continue
        what = label(x.bonus, x.level)
        base = (" " + _("%(rate)s%% of %(volume)s") % {"rate": f"{x.rate_bp / 100:g}",
                                                       "volume": _pts(x.volume)}
                if x.rate_bp else "")
        payments.append(_("%(bonus)s from %(source)s:%(base)s = %(amount)s") % {
            "bonus": what, "source": source(x.kind, x.source), "base": base,
            "amount": format_amount(x.amount)})
    taken = [_("clawback of line %(line)d (%(bonus)s): refund of %(volume)s = %(amount)s") % {
        "line": c.clawback_of, "bonus": label(c.bonus), "volume": _pts(-c.volume),
        "amount": format_amount(c.amount)} for c in clawbacks]
    passed: list[str] = []
    for y in skips:
        words = {"bonus": label(y.bonus, y.level), "source": source(y.kind, y.source),
                 "member": who(y.member), "why": _why(standing, y.member, y.reason, y.level,
                                                      plan)}
        if y.level == 0 and y.member == y.source and y.kind != SOURCE_ORDER:
            passed.append(_("%(bonus)s: volume of %(member)s not paid: %(why)s") % words)
        elif y.passed_to is not None:
            passed.append(_("%(bonus)s of %(source)s passed to %(upline)s: %(member)s %(why)s")
                          % {**words, "upline": who(y.passed_to)})
        else:
            passed.append(_("%(bonus)s of %(source)s not paid: %(member)s %(why)s") % words)
    return Explanation(head, payments, taken, passed)


@dataclass(frozen=True)
class Requirement:
    name: str
    needed: int
    actual: int
    met: bool
    unit: str = "count"

    def gap(self) -> int:
        return max(0, self.needed - self.actual)


def rank_card(engine: Engine, member_id: int, period: Period,
              plan: PlanSource | None = None, *, company_zone: str = DEFAULT_COMPANY_ZONE,
              ) -> tuple[str, str | None, list[Requirement]]:
    """The member's paid-as rank, the next rank, and each of its requirements: met or how far."""
    run = load_run(engine, period, plan, company_zone=company_zone)
    idx = _member_index(run, member_id, period)
    pl, r = run.plan.plan, run.result
    current = int(r.paid_as[idx])
    name = pl.ranks[current].name if current >= 0 else _("no rank")
    if current + 1 >= len(pl.ranks):
        return name, None, []
    return name, pl.ranks[current + 1].name, rank_requirements(run, idx, current + 1)


@dataclass(frozen=True)
class HoldCard:
    """What keeping a rank held last period takes in this one."""

    rank: str
    requirements: list[Requirement]

    @property
    def missing(self) -> list[Requirement]:
        return [q for q in self.requirements if not q.met]


def hold_card(run: PeriodRun, member_id: int, period: Period, rank: int) -> HoldCard | None:
    """The requirements of rank ``rank`` (an index into the run's plan; the rank the member was
    paid as last period) for the member in ``run``; ``None`` for no rank."""
    if not 0 <= rank < len(run.plan.plan.ranks):
        return None
    idx = _member_index(run, member_id, period)
    return HoldCard(run.plan.plan.ranks[rank].name, rank_requirements(run, idx, rank))


def _member_index(run: PeriodRun, member_id: int, period: Period) -> int:
    idx = int(run.facts.genealogy.index_of(np.array([member_id]))[0])
    if idx < 0:
        raise NotFound(f"member {member_id} is not in the genealogy of {period}")
    return idx


def rank_requirements(run: PeriodRun, idx: int, rank: int) -> list[Requirement]:
    """Each requirement of rank ``rank`` for the member at ``idx`` of ``run``: met or how far
    (group volume counted with the rank's leg cap)."""
    pl, g, r = run.plan.plan, run.facts.genealogy, run.result
    target = pl.ranks[rank]
    children = np.flatnonzero((g.parent == idx) & (g.kind == KIND_DISTRIBUTOR))
    cap = target.min_gv * target.leg_cap // BP
    capped = int(r.pv[idx]) + int(np.minimum(r.gv[children], cap).sum())
    active_customers = int(r.active_customers[idx])
    customer_volume = int(r.customer_volume[idx])
    reqs = [
        Requirement(_("personal volume (PV)"), target.min_pv, int(r.pv[idx]),
                    int(r.pv[idx]) >= target.min_pv, "points"),
        Requirement(_("active status (PV)"), pl.active_min_pv, int(r.pv[idx]),
                    bool(r.active[idx]), "points"),
    ]
    if target.min_gv:
        reqs.append(Requirement(
            _("group volume, at most %(cap)s from one leg") % {"cap": _pts(cap)},
            target.min_gv, capped, capped >= target.min_gv, "points"))
    if target.min_active_legs:
        n = int(r.active[children].sum())
        reqs.append(Requirement(_("active front-line distributors"), target.min_active_legs, n,
                                n >= target.min_active_legs))
    if target.legs_with_rank is not None:
        t = pl.rank_index(target.legs_with_rank.rank)
        best = np.zeros(children.shape[0], dtype=bool)
        for c_i, c in enumerate(children.tolist()):
            sub = g.preorder[g.position[c]: g.position[c] + g.subtree_size[c]]
            best[c_i] = bool((r.paid_as[sub] >= t).any())
        n = int(best.sum())
        reqs.append(Requirement(_("legs with a %(rank)s") % {"rank": target.legs_with_rank.rank},
                                target.legs_with_rank.count, n,
                                n >= target.legs_with_rank.count))
    if target.min_active_customers:
        reqs.append(Requirement(_("customers who ordered"), target.min_active_customers,
                                active_customers, active_customers >= target.min_active_customers))
    if target.min_customer_volume:
        reqs.append(Requirement(_("customer volume"), target.min_customer_volume, customer_volume,
                                customer_volume >= target.min_customer_volume, "points"))
    return reqs


@dataclass(frozen=True)
class PlanFigures:
    version: str
    total_paid: int
    total_cv: int
    by_bonus: dict[str, int]
    by_rank: dict[str, tuple[int, int]]  # rank -> (members, paid)

    @property
    def share_of_cv(self) -> float:
        return self.total_paid / self.total_cv if self.total_cv else 0.0


def _figures(run: PeriodRun) -> PlanFigures:
    r, pl = run.result, run.plan.plan
    paid_by_member = sum_by(r.payouts.earner, r.payouts.amount, run.facts.genealogy.size)
    by_rank: dict[str, tuple[int, int]] = {}
    dist = run.facts.genealogy.kind == KIND_DISTRIBUTOR
    for i, rank in [(-1, "no rank")] + [(i, x.name) for i, x in enumerate(pl.ranks)]:
        members = dist & (r.paid_as == i)
        by_rank[rank] = (int(members.sum()), int(paid_by_member[members].sum()))
    return PlanFigures(pl.version, run.total_paid, r.total_cv, run.totals_by_bonus(), by_rank)


def compare_plans(engine: Engine, period: Period, a: PlanSource, b: PlanSource, *,
                  company_zone: str = DEFAULT_COMPANY_ZONE) -> tuple[PlanFigures, PlanFigures]:
    """The same period under two plans: totals by bonus and by paid-as rank, share of CV."""
    return (_figures(preview_period(engine, period, a, company_zone=company_zone)),
            _figures(preview_period(engine, period, b, company_zone=company_zone)))
