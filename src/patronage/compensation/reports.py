"""Reading a run: every payment and skip explained in words, the rank report card, plan what-ifs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, select

from patronage.clock import Period
from patronage.compensation.committed import stored_clawbacks
from patronage.compensation.plan import BP, Plan
from patronage.compensation.results import (
    BONUSES,
    REASON_INACTIVE,
    REASON_RANK_DEPTH,
    REASONS,
    SOURCE_ORDER,
)
from patronage.compensation.runs import (
    PeriodRun,
    PlanSource,
    _committed,
    preview_period,
    replay_committed,
)
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import NotFound
from patronage.money import format_amount


def load_run(engine: Engine, period: Period, plan: PlanSource | None = None) -> PeriodRun:
    """The committed run (recomputed from its snapshot with its own plan, which reproduces its
    lines, and with the clawback lines stored with it), or a preview (with ``plan``, or else the
    stored plan in force for the period)."""
    record = _committed(engine, period)
    if record is not None:
        run = replay_committed(engine, period)
        run.clawbacks = stored_clawbacks(engine, record.id)
        return run
    return preview_period(engine, period, plan)


def _names(engine: Engine, ids: set[int]) -> dict[int, str]:
    with transaction(engine) as s:
        rows = s.execute(select(Member.id, Member.first_name, Member.last_name)
                         .where(Member.id.in_(sorted(ids)))).all()
    return {i: f"{first} {last}".strip() + f" (#{i})" for i, first, last in rows}


def _pts(volume: int) -> str:
    return format_amount(volume)


def _why(run: PeriodRun, index: int, reason: int, level: int, plan: Plan) -> str:
    r = run.result
    if reason == REASON_INACTIVE:
        return (f"inactive, {_pts(int(r.pv[index]))} PV < {_pts(plan.active_min_pv)}")
    if reason == REASON_RANK_DEPTH:
        rank = int(r.paid_as[index])
        name = plan.ranks[rank].name if rank >= 0 else "no rank"
        depth = plan.ranks[rank].unilevel_depth if rank >= 0 else 0
        return f"paid as {name}, which pays {depth} level(s), not level {level}"
    return REASONS.get(reason, "not qualified")


@dataclass(frozen=True)
class Explanation:
    """A member's period in words: the standing line, one line per payout line (in the order
    of the run's lines), one per clawback line, one per payment that passed them over."""

    standing: str
    payments: list[str]
    clawbacks: list[str]
    skips: list[str]

    def lines(self) -> list[str]:
        return [self.standing, *self.payments, *self.clawbacks, *self.skips]


def explain_member(engine: Engine, member_id: int, period: Period,
                   plan: PlanSource | None = None) -> list[str]:
    """Every payment to the member in the period, and every payment that passed them over."""
    return explain(engine, member_id, period, plan).lines()


def explain(engine: Engine, member_id: int, period: Period,
            plan: PlanSource | None = None) -> Explanation:
    """:func:`explain_member`, the lines by kind."""
    run = load_run(engine, period, plan)
    g = run.facts.genealogy
    idx = int(g.index_of(np.array([member_id]))[0])
    if idx < 0:
        raise NotFound(f"member {member_id} is not in the genealogy of {period}")
    p, k, r, pl = run.result.payouts, run.result.skips, run.result, run.plan.plan
    mine = np.flatnonzero(p.earner == idx)
    touched = np.flatnonzero((k.member == idx) | (k.passed_to == idx))
    ids = {member_id} | {int(g.member_id[i]) for i in k.member[touched]}
    ids |= {int(g.member_id[i]) for i in k.passed_to[touched] if i >= 0}
    ids |= {int(g.member_id[s]) for s, kind in zip(p.source[mine], p.source_kind[mine],
                                                    strict=True) if kind != SOURCE_ORDER}
    ids |= {int(g.member_id[s]) for s, kind in zip(k.source[touched], k.source_kind[touched],
                                                    strict=True) if kind != SOURCE_ORDER}
    names = _names(engine, ids)

    def who(i: int) -> str:
        return names.get(int(g.member_id[i]), f"#{int(g.member_id[i])}")

    def source(kind: int, s: int) -> str:
        return f"order {s}" if kind == SOURCE_ORDER else who(s)

    rank = int(r.paid_as[idx])
    standing = (f"{names.get(member_id, member_id)} in {period}: PV {_pts(int(r.pv[idx]))}, "
                f"GV {_pts(int(r.gv[idx]))}, {'active' if r.active[idx] else 'not active'}, "
                f"paid as {pl.ranks[rank].name if rank >= 0 else 'no rank'}")
    payments: list[str] = []
    for j in mine.tolist():
        bonus, level = BONUSES[int(p.bonus[j])], int(p.level[j])
        rate = int(p.rate_bp[j])
        what = f"{bonus.replace('_', ' ')}"
        if level:
            what += f" level {level}"
        base = (f" {rate / 100:g}% of {_pts(int(p.volume[j]))}" if rate else "")
        payments.append(f"{what} from {source(int(p.source_kind[j]), int(p.source[j]))}:"
                        f"{base} = {format_amount(int(p.amount[j]))}")
    clawbacks = [f"clawback of line {c.clawback_of} ({c.bonus.replace('_', ' ')}): "
                 f"refund of {_pts(-c.volume)} = {format_amount(c.amount)}"
                 for c in run.clawbacks if c.earner_id == member_id]
    skips: list[str] = []
    for j in touched.tolist():
        bonus, level = BONUSES[int(k.bonus[j])], int(k.level[j])
        skipped, to = int(k.member[j]), int(k.passed_to[j])
        why = _why(run, skipped, int(k.reason[j]), level, pl)
        src = source(int(k.source_kind[j]), int(k.source[j]))
        label = f"{bonus.replace('_', ' ')}" + (f" level {level}" if level else "")
        if level == 0 and skipped == int(k.source[j]) and int(k.source_kind[j]) != SOURCE_ORDER:
            skips.append(f"{label}: volume of {who(skipped)} not paid: {why}")
        elif to >= 0:
            skips.append(f"{label} of {src} passed to {who(to)}: {who(skipped)} {why}")
        else:
            skips.append(f"{label} of {src} not paid: {who(skipped)} {why}")
    return Explanation(standing, payments, clawbacks, skips)


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
              plan: PlanSource | None = None) -> tuple[str, str | None, list[Requirement]]:
    """The member's paid-as rank, the next rank, and each of its requirements: met or how far."""
    run = load_run(engine, period, plan)
    pl, g, r = run.plan.plan, run.facts.genealogy, run.result
    idx = int(g.index_of(np.array([member_id]))[0])
    if idx < 0:
        raise NotFound(f"member {member_id} is not in the genealogy of {period}")
    current = int(r.paid_as[idx])
    name = pl.ranks[current].name if current >= 0 else "no rank"
    if current + 1 >= len(pl.ranks):
        return name, None, []
    target = pl.ranks[current + 1]
    children = np.flatnonzero((g.parent == idx) & (g.kind == 2))
    cap = target.min_gv * target.leg_cap // BP
    capped = int(r.pv[idx]) + int(np.minimum(r.gv[children], cap).sum())
    active_customers = int(r.active_customers[idx])
    customer_volume = int(r.customer_volume[idx])
    reqs = [
        Requirement("personal volume (PV)", target.min_pv, int(r.pv[idx]),
                    int(r.pv[idx]) >= target.min_pv, "points"),
        Requirement("active status (PV)", pl.active_min_pv, int(r.pv[idx]),
                    bool(r.active[idx]), "points"),
    ]
    if target.min_gv:
        reqs.append(Requirement(f"group volume, at most {_pts(cap)} from one leg", target.min_gv,
                                capped, capped >= target.min_gv, "points"))
    if target.min_active_legs:
        n = int(r.active[children].sum())
        reqs.append(Requirement("active front-line distributors", target.min_active_legs, n,
                                n >= target.min_active_legs))
    if target.legs_with_rank is not None:
        t = pl.rank_index(target.legs_with_rank.rank)
        best = np.zeros(children.shape[0], dtype=bool)
        for c_i, c in enumerate(children.tolist()):
            sub = g.preorder[g.position[c]: g.position[c] + g.subtree_size[c]]
            best[c_i] = bool((r.paid_as[sub] >= t).any())
        n = int(best.sum())
        reqs.append(Requirement(f"legs with a {target.legs_with_rank.rank}",
                                target.legs_with_rank.count, n,
                                n >= target.legs_with_rank.count))
    if target.min_active_customers:
        reqs.append(Requirement("customers who ordered", target.min_active_customers,
                                active_customers, active_customers >= target.min_active_customers))
    if target.min_customer_volume:
        reqs.append(Requirement("customer volume", target.min_customer_volume, customer_volume,
                                customer_volume >= target.min_customer_volume, "points"))
    return name, target.name, reqs


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
    paid_by_member = np.bincount(r.payouts.earner, weights=r.payouts.amount,
                                 minlength=run.facts.genealogy.size)
    by_rank: dict[str, tuple[int, int]] = {}
    dist = run.facts.genealogy.kind == 2
    for i, rank in [(-1, "no rank")] + [(i, x.name) for i, x in enumerate(pl.ranks)]:
        members = dist & (r.paid_as == i)
        by_rank[rank] = (int(members.sum()), round(paid_by_member[members].sum()))
    return PlanFigures(pl.version, run.total_paid, r.total_cv, run.totals_by_bonus(), by_rank)


def compare_plans(engine: Engine, period: Period, a: PlanSource,
                  b: PlanSource) -> tuple[PlanFigures, PlanFigures]:
    """The same period under two plans: totals by bonus and by paid-as rank, share of CV."""
    return _figures(preview_period(engine, period, a)), _figures(preview_period(engine, period, b))
