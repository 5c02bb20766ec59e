"""Adjustments: a bonus or deduction staff add to a distributor's balance after a period is
committed, with a reason code and a note.

An adjustment at or below the company's approval limit (``PayoutRules.approval_above``, per
currency) is posted to the ledger at once; above it, it waits (``pending``) until a second staff
member approves it: the one who made it cannot. Rejecting one posts nothing. Adding, approving
and rejecting are audited (who, when). A retry carrying the same request key returns the first
adjustment instead of adding another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage import audit
from patronage.access import Forbidden
from patronage.clock import require_aware
from patronage.db.payouts import LedgerEntry, PayoutAdjustment
from patronage.db.tables import Member
from patronage.errors import Conflict, NotFound, PatronageError
from patronage.markets.core.currencies import by_numeric, check_currency, numeric
from patronage.markets.markets import market_of
from patronage.money import format_amount
from patronage.payouts.core.ledger import COUNTER_ACCOUNT, PayoutRules, check_adjustment


@dataclass(frozen=True)
class AdjustmentView:
    id: int
    member_id: int
    member_name: str
    amount: int
    currency: str
    reason: str
    note: str
    status: str
    created_at: datetime
    created_by: str
    decided_at: datetime | None
    decided_by: str | None


def _view(a: PayoutAdjustment, name: str) -> AdjustmentView:
    return AdjustmentView(a.id, a.member_id, name, a.amount, by_numeric(a.currency), a.reason,
                          a.note, a.status, a.created_at, a.created_by, a.decided_at,
                          a.decided_by)


def _post(session: Session, a: PayoutAdjustment, now: datetime, actor: str) -> None:
    session.add(LedgerEntry(member_id=a.member_id, counter_account=COUNTER_ACCOUNT["adjusted"],
                            kind="adjusted", amount=a.amount, currency=a.currency,
                            source_id=a.id, posted_at=now, posted_by=actor[:100]))
    session.flush()


def add_adjustment(session: Session, member_id: int, amount: int, reason: str, note: str, *,
                   now: datetime, actor: str, rules: PayoutRules, currency: str | None = None,
                   request_key: str | None = None) -> AdjustmentView:
    """Add a bonus (``amount`` > 0) or deduction (< 0) in minor units of ``currency`` (default:
    the member's market currency): posted at once, or pending a second approval above the
    company's limit."""
    require_aware(now, place="now")
    place = f"adjustment for member {member_id}"
    if request_key:
        found = session.scalar(select(PayoutAdjustment)
                               .where(PayoutAdjustment.request_key == request_key))
        if found is not None:
            return _view(found, _name(session, found.member_id))
    check_adjustment(amount, reason, note, place=place)
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"{place}: member {member_id} does not exist")
    if member.kind != "distributor":
        raise PatronageError(f"{place}: {member.name} is a customer; only distributors "
                             "have an earnings balance")
    code = check_currency(currency, place=f"{place}: currency") if currency else \
        market_of(session, member).currency
    pending = rules.needs_approval(amount, code)
    a = PayoutAdjustment(member_id=member_id, amount=amount, currency=numeric(code),
                         reason=reason, note=note.strip(),
                         status="pending" if pending else "posted", created_at=now,
                         created_by=actor[:100], request_key=request_key or None)
    session.add(a)
    session.flush()
    if not pending:
        a.decided_at, a.decided_by = now, actor[:100]
        _post(session, a, now, actor)
    audit.record(session, actor=actor, action="payout.adjustment.add",
                 target=f"member {member_id}",
                 detail=(f"adjustment {a.id}: {format_amount(amount)} {code} {reason}"
                         f"{' (pending approval)' if pending else ''}: {a.note}"), at=now)
    return _view(a, member.name)


def _pending(session: Session, adjustment_id: int, actor: str, verb: str) -> PayoutAdjustment:
    a = session.get(PayoutAdjustment, adjustment_id, with_for_update=True)
    if a is None:
        raise NotFound(f"adjustment {adjustment_id} does not exist")
    if a.status != "pending":
        raise Conflict(f"adjustment {adjustment_id} is {a.status}, not pending approval")
    if a.created_by == actor[:100]:
        raise Forbidden(f"adjustment {adjustment_id}: you made it, so another staff member "
                        f"must {verb} it")
    return a


def approve_adjustment(session: Session, adjustment_id: int, *, now: datetime,
                       actor: str) -> AdjustmentView:
    """A second staff member approves a pending adjustment: it is posted to the ledger."""
    require_aware(now, place="now")
    a = _pending(session, adjustment_id, actor, "approve")
    a.status, a.decided_at, a.decided_by = "posted", now, actor[:100]
    _post(session, a, now, actor)
    audit.record(session, actor=actor, action="payout.adjustment.approve",
                 target=f"member {a.member_id}", detail=f"adjustment {a.id}", at=now)
    return _view(a, _name(session, a.member_id))


def reject_adjustment(session: Session, adjustment_id: int, *, now: datetime,
                      actor: str) -> AdjustmentView:
    """A second staff member rejects a pending adjustment: nothing is posted."""
    require_aware(now, place="now")
    a = _pending(session, adjustment_id, actor, "reject")
    a.status, a.decided_at, a.decided_by = "rejected", now, actor[:100]
    session.flush()
    audit.record(session, actor=actor, action="payout.adjustment.reject",
                 target=f"member {a.member_id}", detail=f"adjustment {a.id}", at=now)
    return _view(a, _name(session, a.member_id))


def _name(session: Session, member_id: int) -> str:
    member = session.get(Member, member_id)
    return member.name if member is not None else ""


def adjustments(session: Session, *, status: str | None = None, member_id: int | None = None,
                limit: int = 100) -> list[AdjustmentView]:
    """Adjustments, newest first, with the member's name."""
    query = (select(PayoutAdjustment, Member.first_name, Member.last_name)
             .join(Member, Member.id == PayoutAdjustment.member_id)
             .order_by(PayoutAdjustment.id.desc()).limit(limit))
    if status is not None:
        query = query.where(PayoutAdjustment.status == status)
    if member_id is not None:
        query = query.where(PayoutAdjustment.member_id == member_id)
    return [_view(a, f"{first} {last}".strip()) for a, first, last in session.execute(query)]
