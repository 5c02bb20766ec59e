"""Replays: a proposed plan run over the company's last committed months (their frozen
snapshots, the real history), beside what was committed: by paid-as rank, per member, the
payout ratio and the income disclosure's figures. This is also the plan what-if over several
committed months (``patronage commissions compare --periods``, the staff run-compare page).

The proposed plan's months are chained as if it had been in force: titles, and the binary leg
volume each month carries to the next. The first month starts from the volume the committed
run before it carried (what the company really carried in); each later month from what the
proposed plan carried out of the month before, not from the committed run's carry."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from sqlalchemy import Engine, select

from patronage.arrays import I64, sum_by
from patronage.clock import Period
from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.plan import Plan
from patronage.compensation.core.results import BONUSES, RunResult
from patronage.compensation.runs import PlanSource, replay_committed
from patronage.compliance.core.disclosure import percentile
from patronage.db.compensation import CommissionRun
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.facts import KIND_DISTRIBUTOR, Genealogy

MAX_PERIODS = 36


@dataclass(frozen=True)
class RankChange:
    rank: str
    members_before: int
    members_after: int
    paid_before: int
    paid_after: int


@dataclass(frozen=True)
class PeriodReplay:
    period: str
    plan_before: str  # the committed plan's version
    total_cv: int
    paid_before: int
    paid_after: int
    ranks: list[RankChange]
    #: What the proposed plan paid by payout line (lines that paid something).
    by_bonus_after: dict[str, int] = field(default_factory=dict)

    @property
    def ratio_before(self) -> float:
        return self.paid_before / self.total_cv if self.total_cv else 0.0

    @property
    def ratio_after(self) -> float:
        return self.paid_after / self.total_cv if self.total_cv else 0.0


@dataclass(frozen=True)
class Disclosure:
    """Figures of the income disclosure over the replayed months: every distributor present
    in any of them, with what they were paid in all of them."""

    participants: int
    earned_nothing: int
    median: int
    p90: int
    top: int


@dataclass(frozen=True)
class MemberChange:
    member_id: int
    name: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass
class Replay:
    plan_version: str
    periods: list[PeriodReplay]
    before: Disclosure
    after: Disclosure
    paid_more: int
    paid_less: int
    paid_same: int
    gainers: list[MemberChange] = field(default_factory=list)
    losers: list[MemberChange] = field(default_factory=list)

    @property
    def total_cv(self) -> int:
        return sum(p.total_cv for p in self.periods)

    @property
    def paid_before(self) -> int:
        return sum(p.paid_before for p in self.periods)

    @property
    def paid_after(self) -> int:
        return sum(p.paid_after for p in self.periods)

    @property
    def ratio_before(self) -> float:
        return self.paid_before / self.total_cv if self.total_cv else 0.0

    @property
    def ratio_after(self) -> float:
        return self.paid_after / self.total_cv if self.total_cv else 0.0

    @property
    def ranks(self) -> list[RankChange]:
        """By paid-as rank over all the months: member-months and what they were paid."""
        out: dict[str, list[int]] = {}
        for p in self.periods:
            for k in p.ranks:
                row = out.setdefault(k.rank, [0, 0, 0, 0])
                for i, v in enumerate((k.members_before, k.members_after, k.paid_before,
                                       k.paid_after)):
                    row[i] += v
        return [RankChange(rank, *row) for rank, row in out.items()]


def last_committed(engine: Engine, count: int) -> list[Period]:
    """The last ``count`` committed periods, oldest first."""
    if not 1 <= count <= MAX_PERIODS:
        raise PatronageError(f"periods: replay 1 to {MAX_PERIODS} committed months, got {count}")
    with transaction(engine) as s:
        found = s.scalars(select(CommissionRun.period).where(CommissionRun.calendar == "month")
                          .order_by(CommissionRun.period.desc())
                          .limit(count)).all()
    if not found:
        raise PatronageError("no committed month to replay yet: commit one first")
    return [Period.parse(p) for p in reversed(found)]


def _by_rank(plan: Plan, result: RunResult, dist: np.ndarray, paid: I64) -> dict[str, tuple[int,
                                                                                           int]]:
    out = {}
    for i, name in [(-1, "no rank"), *enumerate(r.name for r in plan.ranks)]:
        members = dist & (result.paid_as == i)
        out[name] = (int(members.sum()), int(paid[members].sum()))
    return out


def _disclosure(totals: dict[int, int]) -> Disclosure:
    values = np.sort(np.array(list(totals.values()), dtype=np.int64))
    if values.shape[0] == 0:
        return Disclosure(0, 0, 0, 0, 0)
    return Disclosure(int(values.shape[0]), int((values <= 0).sum()), percentile(values, 50),
                      percentile(values, 90), int(values[-1]))


def replay_plan(engine: Engine, plan: PlanSource, periods: int = 12) -> Replay:
    """``plan`` over the last ``periods`` committed months, beside the committed runs
    (recomputed from their snapshots with their own plans). Titles under ``plan`` start at the
    first replayed month and carry from month to month. Writes nothing."""
    before_total: dict[int, int] = {}
    after_total: dict[int, int] = {}
    replays = []
    titles: dict[int, int] = {}
    carried: tuple[Genealogy, dict[str, I64]] | None = None
    for period in last_committed(engine, periods):
        old = replay_committed(engine, period)
        g = old.facts.genealogy
        prior = np.array([titles.get(int(m), -1) for m in g.member_id], dtype=np.int64)
        facts = old.facts if carried is None else replace(
            old.facts, carry_in=carry_onto(carried[1], carried[0], g))
        new = run_engine(facts, plan.plan, prior)
        carried = (g, new.carry)
        titles.update(zip(g.member_id.tolist(), new.title.tolist(), strict=True))
        n = g.size
        dist = g.kind == KIND_DISTRIBUTOR
        paid_old = sum_by(old.result.payouts.earner, old.result.payouts.amount, n)
        paid_new = sum_by(new.payouts.earner, new.payouts.amount, n)
        for mid, a, b in zip(g.member_id[dist].tolist(), paid_old[dist].tolist(),
                             paid_new[dist].tolist(), strict=True):
            before_total[mid] = before_total.get(mid, 0) + a
            after_total[mid] = after_total.get(mid, 0) + b
        ranks_old = _by_rank(old.plan.plan, old.result, dist, paid_old)
        ranks_new = _by_rank(plan.plan, new, dist, paid_new)
        ranks = []
        for name in dict.fromkeys([*ranks_old, *ranks_new]):
            (m_old, p_old), (m_new, p_new) = ranks_old.get(name, (0, 0)), ranks_new.get(name,
                                                                                       (0, 0))
            ranks.append(RankChange(name, m_old, m_new, p_old, p_new))
        by_bonus = {b: int(new.payouts.amount[new.payouts.bonus == i].sum())
                    for i, b in enumerate(BONUSES)}
        replays.append(PeriodReplay(str(period), old.plan.plan.version, old.result.total_cv,
                                    int(paid_old.sum()), int(paid_new.sum()), ranks,
                                    {b: v for b, v in by_bonus.items() if v}))
    deltas = sorted((after_total[m] - before_total[m], m) for m in before_total)
    losers = [m for d, m in deltas[:5] if d < 0]
    gainers = [m for d, m in reversed(deltas[-5:]) if d > 0]
    names = _names(engine, losers + gainers)

    def change(m: int) -> MemberChange:
        return MemberChange(m, names.get(m, ""), before_total[m], after_total[m])

    return Replay(
        plan.plan.version, replays, _disclosure(before_total), _disclosure(after_total),
        paid_more=sum(1 for d, _ in deltas if d > 0), paid_less=sum(1 for d, _ in deltas if d < 0),
        paid_same=sum(1 for d, _ in deltas if d == 0),
        gainers=[change(m) for m in gainers], losers=[change(m) for m in losers])


def carry_onto(carry: dict[str, I64], g: Genealogy, onto: Genealogy) -> dict[str, I64]:
    """Volume carried by member index of ``g``, by member index of ``onto`` (members not in
    ``g`` carry nothing; members gone from ``onto`` lose theirs)."""
    idx = onto.index_of(g.member_id)
    known = idx >= 0
    out = {}
    for key, values in carry.items():
        moved = np.zeros(onto.size, dtype=np.int64)
        moved[idx[known]] = values[known]
        out[key] = moved
    return out


def _names(engine: Engine, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    with transaction(engine) as s:
        return {m.id: m.name for m in s.scalars(select(Member).where(Member.id.in_(ids)))}
