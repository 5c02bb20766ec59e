"""Payments the plan's customer-volume rule withheld: kept with the run that withheld them,
released by a later run or forfeited, and told in words.

Committing a run stores, per distributor and payout line name, what the rule withheld
(``withheld_payments``). A later run loads the amounts still pending *as of its period* (those
not released or forfeited by a run of an earlier period, so that a committed period replays
with the same releases); the plan's ``[compliance] release_withheld_within = N`` passes the
amounts of the last N committed periods to the engine, which releases those of teams that now
meet the rule (:func:`patronage.compensation.core.compliance.release`); older ones are
forfeited by this run. Committing records which run released or forfeited each amount, so no
amount is paid twice; a preview writes nothing. The rule is stated in ``docs/plan-file.md``
("The customer-volume rule").

Releases follow the monthly calendar: amounts withheld by a month's run wait for a later
month's run. A week's run (bonuses paid by the week) releases nothing, and what the rule
withholds from a weekly bonus is forfeited by that week's run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, aliased

from patronage.clock import AnyPeriod, Week
from patronage.compensation.core.bonuses.withheld_release import LINE as RELEASE_LINE
from patronage.compensation.core.compliance import Withheld
from patronage.compensation.core.plan import Plan
from patronage.compensation.core.results import BONUSES, Payouts
from patronage.db.compensation import CommissionRun
from patronage.db.compliance import WithheldPayment
from patronage.db.engine import transaction
from patronage.facts import PeriodFacts
from patronage.languages import _
from patronage.money import format_amount

if TYPE_CHECKING:
    from patronage.compensation.runs import PeriodRun as PeriodRunLike

#: What became of a withheld amount.
PENDING, RELEASED, FORFEITED = "withheld", "released", "forfeited"


@dataclass(frozen=True)
class WithheldRow:
    """A stored withheld amount as a run sees it: ``age`` is how many committed periods before
    the run's period it was withheld (0: the last)."""

    id: int
    period: str
    member_id: int
    bonus: str
    lines: int
    amount: int
    age: int


@dataclass
class WithheldState:
    """What a run found pending: the amounts it may release (within the plan's periods) and
    those it forfeits (older, or the plan releases nothing); ``within`` is the plan's number of
    periods."""

    within: int = 0
    releasable: list[WithheldRow] = field(default_factory=list)
    forfeits: list[WithheldRow] = field(default_factory=list)

    def released(self, payouts: Payouts, member_ids: np.ndarray) -> list[WithheldRow]:
        """The releasable rows the run's release lines paid (``member_ids`` by member index)."""
        code = BONUSES.index(RELEASE_LINE)
        mine = payouts.bonus == code
        paid = {(int(member_ids[e]), int(level)) for e, level in
                zip(payouts.earner[mine].tolist(), payouts.level[mine].tolist(), strict=True)}
        return [w for w in self.releasable if (w.member_id, w.age + 1) in paid]


def withheld_before(engine: Engine, facts: PeriodFacts, plan: Plan,
                    period: AnyPeriod) -> tuple[Withheld, WithheldState]:
    """The amounts withheld before ``period`` and still pending when it runs, for the engine
    (by member index of ``facts``) and for the run's record (a week: none, and what it
    withholds is forfeited)."""
    if isinstance(period, Week):
        return Withheld.empty(), WithheldState(0)
    within = plan.compliance.release_withheld_within if plan.compliance is not None else 0
    p = str(period)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT w.id, r.period, w.member_id, w.bonus, w.lines, w.amount "
            "FROM withheld_payments w JOIN commission_runs r ON r.id = w.run_id "
            "LEFT JOIN commission_runs rel ON rel.id = w.released_in_run_id "
            "LEFT JOIN commission_runs ff ON ff.id = w.forfeited_in_run_id "
            "WHERE r.calendar = 'month' AND r.period < :p "
            "AND (rel.id IS NULL OR rel.period >= :p) "
            "AND (ff.id IS NULL OR ff.period >= :p) ORDER BY r.period, w.member_id, w.bonus"),
            {"p": p}).all()
        if not rows:
            return Withheld.empty(), WithheldState(within)
        oldest = min(str(r[1]) for r in rows)
        periods = [str(x) for x in conn.execute(text(
            "SELECT period FROM commission_runs WHERE calendar = 'month' AND period < :p "
            "AND period >= :o "
            "ORDER BY period DESC"), {"p": p, "o": oldest}).scalars()]
    age = {q: j for j, q in enumerate(periods)}
    state = WithheldState(within)
    for wid, q, member, bonus, lines, amount in rows:
        row = WithheldRow(int(wid), str(q), int(member), BONUSES[int(bonus)], int(lines),
                          int(amount), age[str(q)])
        (state.releasable if row.age < within else state.forfeits).append(row)
    ids = np.array([w.member_id for w in state.releasable], dtype=np.int64)
    return Withheld(facts.genealogy.index_of(ids),
                    np.array([w.age for w in state.releasable], dtype=np.int64),
                    np.array([w.amount for w in state.releasable], dtype=np.int64)), state


def store_withheld(s: Session, run_id: int, member_ids: np.ndarray, withheld: Payouts | None,
                   payouts: Payouts, state: WithheldState) -> None:
    """In the commit's transaction: the run's withheld amounts per distributor and payout line
    (forfeited at once when the plan releases nothing), the earlier amounts it released and
    those it forfeited."""
    if withheld is not None and withheld.size:
        sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        for e, b, a in zip(withheld.earner.tolist(), withheld.bonus.tolist(),
                           withheld.amount.tolist(), strict=True):
            got = sums[(int(member_ids[e]), int(b))]
            got[0] += 1
            got[1] += int(a)
        s.add_all([WithheldPayment(
            run_id=run_id, member_id=m, bonus=b, lines=n, amount=a,
            forfeited_in_run_id=None if state.within else run_id)
            for (m, b), (n, a) in sorted(sums.items()) if a > 0])
    released = {w.id for w in state.released(payouts, member_ids)}
    for row in s.scalars(select(WithheldPayment).where(WithheldPayment.id.in_(
            sorted(released | {w.id for w in state.forfeits})))):
        if row.id in released:
            row.released_in_run_id = run_id
        else:
            row.forfeited_in_run_id = run_id
    s.flush()


@dataclass(frozen=True)
class WithheldEntry:
    """A withheld amount with its state, for pages: ``state_period`` is the period whose run
    released or forfeited it (None while pending)."""

    member_id: int
    name: str
    period: str
    bonus: str
    lines: int
    amount: int
    state: str
    state_period: str | None

    @property
    def bonus_words(self) -> str:
        """The payout line's name in the reader's language."""
        from patronage.compensation.reports import bonus_label

        return bonus_label(self.bonus)

    @property
    def state_words(self) -> str:
        """The state in the reader's language: withheld, released in a period, forfeited."""
        if self.state == RELEASED:
            return _("released in %(period)s") % {"period": self.state_period}
        if self.state == FORFEITED:
            return _("forfeited in %(period)s") % {"period": self.state_period}
        return _("withheld, pending release")

    @property
    def explanation(self) -> str:
        """The amount's story in the reader's language."""
        from patronage.compensation.reports import bonus_label

        words = {"bonus": bonus_label(self.bonus), "period": self.period,
                 "when": self.state_period or ""}
        if self.state == RELEASED:
            return _("%(bonus)s of %(period)s: withheld because the team's customers bought "
                     "less than the plan's minimum share of its volume; released in %(when)s, "
                     "the first period they bought enough") % words
        if self.state == FORFEITED:
            return _("%(bonus)s of %(period)s: withheld because the team's customers bought "
                     "less than the plan's minimum share of its volume; forfeited in %(when)s "
                     "(the plan releases none, or not after so long)") % words
        return _("%(bonus)s of %(period)s: withheld because the team's customers bought less "
                 "than the plan's minimum share of its volume; released in a later period "
                 "when they buy enough, if the plan says so") % words


@dataclass(frozen=True)
class WithheldSummary:
    """Withheld amounts, newest first (at most the page's number), and totals by state over
    every one."""

    entries: list[WithheldEntry]
    totals: dict[str, int]
    counts: dict[str, int]
    total_count: int


def withheld_summary(engine: Engine, *, member_id: int | None = None,
                     limit: int = 100) -> WithheldSummary:
    """What the customer-volume rule withheld in committed runs, with each amount's state;
    only ``member_id``'s when given."""
    from patronage.db.tables import Member

    rel, ff, run = aliased(CommissionRun), aliased(CommissionRun), aliased(CommissionRun)
    query = (select(WithheldPayment, run.period, rel.period, ff.period, Member.first_name,
                    Member.last_name)
             .join(run, run.id == WithheldPayment.run_id)
             .join(Member, Member.id == WithheldPayment.member_id)
             .outerjoin(rel, rel.id == WithheldPayment.released_in_run_id)
             .outerjoin(ff, ff.id == WithheldPayment.forfeited_in_run_id))
    if member_id is not None:
        query = query.where(WithheldPayment.member_id == member_id)
    totals = {PENDING: 0, RELEASED: 0, FORFEITED: 0}
    counts = dict(totals)
    entries: list[WithheldEntry] = []
    with transaction(engine) as s:
        for w, period, released, forfeited, first, last in s.execute(
                query.order_by(run.period.desc(), WithheldPayment.amount.desc(),
                               WithheldPayment.id)):
            state = RELEASED if released else FORFEITED if forfeited else PENDING
            totals[state] += int(w.amount)
            counts[state] += 1
            if len(entries) < limit:
                entries.append(WithheldEntry(
                    int(w.member_id), f"{first} {last}".strip(), str(period), BONUSES[w.bonus],
                    int(w.lines), int(w.amount), state, released or forfeited))
    return WithheldSummary(entries, totals, counts, sum(counts.values()))


@dataclass(frozen=True)
class WithheldNote:
    """A withheld amount as a member's period explanation tells it: ``kind`` is ``"withheld"``
    (withheld in this period; ``state`` and ``state_period`` say what became of it),
    ``"released"`` or ``"forfeited"`` (an earlier period's amount, by this run)."""

    kind: str
    bonus: str
    period: str
    amount: int
    state: str = PENDING
    state_period: str | None = None


def committed_notes(s: Session, run_id: int, member_id: int) -> list[WithheldNote]:
    """The withheld amounts of a committed run's member: withheld by it, released or forfeited
    by it."""
    rel, ff, run = aliased(CommissionRun), aliased(CommissionRun), aliased(CommissionRun)
    rows = s.execute(
        select(WithheldPayment, run.period, rel.period, ff.period)
        .join(run, run.id == WithheldPayment.run_id)
        .outerjoin(rel, rel.id == WithheldPayment.released_in_run_id)
        .outerjoin(ff, ff.id == WithheldPayment.forfeited_in_run_id)
        .where(WithheldPayment.member_id == member_id,
               (WithheldPayment.run_id == run_id) | (WithheldPayment.released_in_run_id == run_id)
               | (WithheldPayment.forfeited_in_run_id == run_id))
        .order_by(run.period, WithheldPayment.bonus)).all()
    notes = []
    for w, period, released, forfeited in rows:
        if w.run_id == run_id:
            state = RELEASED if released else FORFEITED if forfeited else PENDING
            notes.append(WithheldNote(PENDING, BONUSES[w.bonus], str(period), int(w.amount), state,
                                      released or forfeited))
        else:
            notes.append(WithheldNote(RELEASED if w.released_in_run_id == run_id else FORFEITED,
                                      BONUSES[w.bonus], str(period), int(w.amount)))
    return notes


def preview_notes(run: PeriodRunLike, member_id: int) -> list[WithheldNote]:
    """The same notes for a run not committed: what it withholds (pending, or forfeited when
    the plan releases nothing), releases and forfeits."""
    g = run.facts.genealogy
    notes: list[WithheldNote] = []
    held = run.result.withheld
    if held is not None and held.size:
        idx = int(g.index_of(np.array([member_id], dtype=np.int64))[0])
        sums: dict[int, int] = defaultdict(int)
        for b, a in zip(held.bonus[held.earner == idx].tolist(),
                        held.amount[held.earner == idx].tolist(), strict=True):
            sums[int(b)] += int(a)
        state = PENDING if run.withheld.within else FORFEITED
        notes += [WithheldNote(PENDING, BONUSES[b], str(run.period), a, state,
                               None if run.withheld.within else str(run.period))
                  for b, a in sorted(sums.items()) if a > 0]
    released = {w.id for w in run.withheld.released(run.result.payouts, g.member_id)}
    notes += [WithheldNote(RELEASED, w.bonus, w.period, w.amount)
              for w in run.withheld.releasable if w.member_id == member_id and w.id in released]
    notes += [WithheldNote(FORFEITED, w.bonus, w.period, w.amount)
              for w in run.withheld.forfeits if w.member_id == member_id]
    return notes


def withheld_words(plan: Plan, notes: list[WithheldNote]) -> list[str]:
    """Each note in the reader's language, with the plan of the run told about."""
    from patronage.compensation.reports import bonus_label

    rule = plan.compliance
    within = rule.release_withheld_within if rule is not None else 0
    share = f"{rule.min_team_customer_share / 100:g}" if rule is not None else "0"
    out = []
    for n in notes:
        words = {"bonus": bonus_label(n.bonus), "period": n.period,
                 "amount": format_amount(n.amount), "state_period": n.state_period or "",
                 "within": within, "share": share}
        if n.kind == RELEASED:
            out.append(_("released now: %(bonus)s withheld in %(period)s: %(amount)s, paid "
                         "because the team's customers now buy at least %(share)s%% of its "
                         "volume") % words)
        elif n.kind == FORFEITED:
            out.append(_("forfeited: %(bonus)s withheld in %(period)s: %(amount)s: the team "
                         "did not meet the rule within the %(within)d committed period(s) the "
                         "plan waits") % words)
        elif n.state == RELEASED:
            out.append(_("%(bonus)s withheld in %(period)s: %(amount)s: released in "
                         "%(state_period)s") % words)
        elif n.state == FORFEITED and n.state_period == n.period:
            out.append(_("%(bonus)s withheld in %(period)s: %(amount)s: forfeited, the plan "
                         "does not release withheld payments") % words)
        elif n.state == FORFEITED:
            out.append(_("%(bonus)s withheld in %(period)s: %(amount)s: forfeited in "
                         "%(state_period)s, the team did not meet the rule in time") % words)
        else:
            out.append(_("%(bonus)s withheld in %(period)s: %(amount)s: pending release, paid "
                         "in the first of the next %(within)d committed period(s) whose run "
                         "finds the team's customers buying at least %(share)s%% of its "
                         "volume") % words)
    return out
