"""A committed run's payout lines summed by earner (``run_payees``) and by bonus
(``run_bonus_totals``): what the run's page, My business and Today read instead of adding up
the lines again (the largest earners have a hundred thousand lines in a run). Written by the
close in the transaction that writes the lines; runs committed before these tables existed
are summed the first time one of them is read. A committed run's lines never change."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patronage.db.compensation import PayoutLine, RunBonusTotal, RunPayee


def sum_run(session: Session, run_id: int) -> None:
    """Write the run's sums unless they are written (idempotent; a concurrent reader that
    writes them first wins)."""
    if session.scalar(select(RunBonusTotal.run_id).where(RunBonusTotal.run_id == run_id)
                      .limit(1)) is not None:
        return
    if session.scalar(select(PayoutLine.id).where(PayoutLine.run_id == run_id)
                      .limit(1)) is None:
        return  # no lines: nothing to sum (and nothing read)
    paid = func.coalesce(PayoutLine.paid_amount, PayoutLine.amount)
    try:
        with session.begin_nested():
            session.execute(insert(RunBonusTotal).from_select(
                ["run_id", "bonus", "lines", "amount"],
                select(PayoutLine.run_id, PayoutLine.bonus, func.count(), func.sum(paid))
                .where(PayoutLine.run_id == run_id)
                .group_by(PayoutLine.run_id, PayoutLine.bonus)))
            session.execute(insert(RunPayee).from_select(
                ["run_id", "earner_id", "lines", "amount", "currency"],
                select(PayoutLine.run_id, PayoutLine.earner_id, func.count(), func.sum(paid),
                       func.max(PayoutLine.currency))
                .where(PayoutLine.run_id == run_id)
                .group_by(PayoutLine.run_id, PayoutLine.earner_id)))
    except IntegrityError:
        pass


def earned_in(session: Session, member_id: int,
              run_ids: Iterable[int]) -> dict[int, tuple[int, int | None]]:
    """What each run paid the member (in their currency) and that currency's number (``None``
    for runs made before markets); runs that paid them nothing are left out."""
    ids = sorted(set(run_ids))
    for run_id in ids:
        sum_run(session, run_id)
    return {int(r): (int(a), None if c is None else int(c)) for r, a, c in session.execute(
        select(RunPayee.run_id, RunPayee.amount, RunPayee.currency)
        .where(RunPayee.run_id.in_(ids), RunPayee.earner_id == member_id)).all()} if ids else {}
