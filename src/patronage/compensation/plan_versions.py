"""The company's plan, stored with its versions; every period runs with the version in force.

A version is the plan text as written (validated by the plan parser before it is stored), in
force from its first period ``effective_from`` (YYYY-MM) until the next version's start. A new
version may not take effect in a committed period (a committed run keeps the plan it ran with)
nor before the last version's start; a version set with the same start as the last one replaces
it from that start. With no version in force for a period, runs refuse to guess: they say how to
store one. A week runs with the version in force for the month its Sunday is in.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from patronage.clock import AnyPeriod, Period, Week
from patronage.compensation.core.plan import Plan
from patronage.compensation.runs import PlanSource
from patronage.db.compensation import CommissionRun, PlanVersion
from patronage.db.engine import transaction
from patronage.errors import Conflict, Problem, Problems

#: What every face says when the company has stored no plan yet.
NO_PLAN = "no plan stored: patronage plan set FILE --from YYYY-MM"


class NoPlanInForce(Conflict):
    """No stored plan version is in force for the period asked about."""

    code = "no_plan"


@dataclass(frozen=True)
class StoredPlan:
    """One stored version of the plan."""

    id: int
    name: str
    version: str
    content_hash: str
    effective_from: str
    set_at: datetime
    set_by: str
    text: str

    def source(self) -> PlanSource:
        return PlanSource.from_text(self.text, f"plan version {self.id}")


def _stored(row: PlanVersion) -> StoredPlan:
    return StoredPlan(row.id, row.name, row.version, row.content_hash, row.effective_from,
                      row.set_at, row.set_by, row.plan_text)


def content_hash(text: str) -> str:
    """SHA-256 of the plan text as written (hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_plan_text(text: str, place: str) -> PlanSource:
    """Validate plan text with the plan parser; a TOML mistake or any plan problem is refused
    naming ``place`` (the file) and where in it."""
    try:
        return PlanSource.from_text(text, place)
    except tomllib.TOMLDecodeError as exc:
        raise Problems(f"{place}: not valid TOML", [Problem(place, str(exc))]) from exc


def set_plan(engine: Engine, text: str, effective_from: Period, *, source: str, actor: str,
             now: datetime) -> StoredPlan:
    """Store ``text`` as the plan in force from ``effective_from`` on, after validating it.

    Refused: a plan with problems (each named); a start in a committed month, or in the
    month of a committed week; a start before the last version's start; a change to the bonuses
    paid by the week, other than paying some where the version before paid none, from a month
    that does not begin on a Monday (the week spanning the change would pay some orders twice
    or not at all)."""
    plan = parse_plan_text(text, source).plan
    start = str(effective_from)
    with transaction(engine) as s:
        if s.get_bind().dialect.name == "postgresql":
            # Two versions set at once are checked one after the other (SQLite writes one at
            # a time already).
            s.execute(sql("LOCK TABLE plan_versions IN SHARE ROW EXCLUSIVE MODE"))
        committed = s.scalar(select(func.max(CommissionRun.period))
                             .where(CommissionRun.calendar == "month"))
        week = s.scalar(select(func.max(CommissionRun.period))
                        .where(CommissionRun.calendar == "week"))
        if week is not None and start <= str(Week.parse(week).month()):
            nxt = Week.parse(week).month().next()
            raise Conflict(f"plan from {start}: week {week} is already committed with the plan "
                           f"it ran with; a new plan can take effect from {nxt} on")
        if committed is not None and start <= committed:
            nxt = Period.parse(committed).next()
            raise Conflict(f"plan from {start}: period {committed} is already committed with "
                           f"the plan it ran with; a new plan can take effect from {nxt} on")
        last = s.scalar(select(func.max(PlanVersion.effective_from)))
        if last is not None and start < last:
            raise Conflict(f"plan from {start}: earlier than the start of the last version "
                           f"({last}); a new plan can take effect from {last} on")
        _check_weekly_change(s, plan, effective_from)
        row = PlanVersion(name=plan.name, version=plan.version, plan_text=text,
                          content_hash=content_hash(text), effective_from=start, set_at=now,
                          set_by=actor)
        s.add(row)
        s.flush()
        return _stored(row)


def _check_weekly_change(s: Session, plan: Plan, effective_from: Period) -> None:
    """A version that changes which bonuses are paid by the week takes effect from a month that
    begins on a Monday, so that no order of the week spanning the change is paid a bonus by
    both calendars or by neither. Starting to pay by the week may start in any month: that
    first week's run begins with the new version's month."""
    if effective_from.first_day().weekday() == 0:
        return
    before = s.scalars(select(PlanVersion.plan_text)
                       .where(PlanVersion.effective_from < str(effective_from))
                       .order_by(PlanVersion.effective_from.desc(), PlanVersion.id.desc())
                       .limit(1)).first()
    if before is None:
        return
    was = set(PlanSource.from_text(before, "the plan before it").plan.weekly_bonuses())
    if not was or was == set(plan.weekly_bonuses()):
        return
    month = effective_from
    while month.first_day().weekday() != 0:
        month = month.next()
    week = Week.of_day(effective_from.first_day())
    raise Conflict(f"plan from {effective_from}: it changes which bonuses are paid by the week "
                   f"({', '.join(sorted(was))} before), and week {week} spans the change (from "
                   f"{week.first_day():%Y-%m-%d}); such a change takes effect from a month that "
                   f"begins on a Monday (the next is {month})")


def plan_in_force(engine: Engine, period: Period) -> StoredPlan | None:
    """The version in force for ``period``: the latest start not after it (of two with the same
    start, the one set last)."""
    with transaction(engine) as s:
        row = s.scalars(select(PlanVersion).where(PlanVersion.effective_from <= str(period))
                        .order_by(PlanVersion.effective_from.desc(), PlanVersion.id.desc())
                        .limit(1)).first()
        return _stored(row) if row is not None else None


def require_plan(engine: Engine, period: AnyPeriod) -> PlanSource:
    """The plan in force for ``period`` (a week: for its month), or a refusal saying how to
    store one; a week is refused when that plan pays nothing by the week."""
    month = period.month() if isinstance(period, Week) else period
    stored = plan_in_force(engine, month)
    if stored is None:
        raise no_plan(engine, month)
    source = stored.source()
    if isinstance(period, Week) and not source.plan.weekly_bonuses():
        raise NoPlanInForce(f"week {period}: the plan in force for {month} pays no bonus by "
                            "the week (period = \"week\" in a bonus section)")
    return source


def no_plan(engine: Engine, period: Period) -> NoPlanInForce:
    """The refusal for a period with no plan in force: none stored at all, or the first
    version takes effect later."""
    with transaction(engine) as s:
        first = s.scalar(select(func.min(PlanVersion.effective_from)))
    if first is None:
        return NoPlanInForce(NO_PLAN)
    return NoPlanInForce(f"period {period}: no plan in force (the first stored plan takes "
                         f"effect from {first}): patronage plan set FILE --from {period}")


@dataclass(frozen=True)
class HistoryEntry:
    """A stored version and the periods it is in force: from its start until ``until`` (the
    next version's start, exclusive; None: still in force). A version replaced from its very
    start is never in force."""

    plan: StoredPlan
    until: str | None

    @property
    def never_in_force(self) -> bool:
        return self.until == self.plan.effective_from


def plan_history(engine: Engine) -> list[HistoryEntry]:
    """Every stored version, oldest first."""
    with transaction(engine) as s:
        rows = [_stored(r) for r in s.scalars(select(PlanVersion).order_by(
            PlanVersion.effective_from, PlanVersion.id))]
    return [HistoryEntry(p, rows[i + 1].effective_from if i + 1 < len(rows) else None)
            for i, p in enumerate(rows)]
