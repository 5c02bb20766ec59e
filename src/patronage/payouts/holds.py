"""Why a member's balance is held, and the holds staff place and release.

A hold is *state*, not a ledger movement: a held balance stays on the member's account (the
ledger shows what was earned, the page says why it is not paid) and is paid by the first batch
after every hold on it is gone. Reasons come from hold sources, each a function of the store,
the members asked about and the time: the member's status (terminated or erased), the holds
staff placed (``manual``) and those a returned payment placed (``returned``). Other modules add
theirs (no payout method, no valid tax id, a payout method changed during the cooling period)
as ``extra`` sources built by the composition roots from the settings
(:func:`patronage.payouts.methods.method_hold_source`), or by appending to
:data:`HOLD_SOURCES` when a source needs no settings. Below the minimum and below zero are
not holds: such balances are *carried forward*
(:func:`patronage.payouts.core.ledger.balance_holds`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from patronage import audit
from patronage.clock import require_aware
from patronage.db.payouts import PayoutHold
from patronage.db.tables import Member
from patronage.errors import Conflict, NotFound, PatronageError
from patronage.payouts.core.ledger import (
    HOLD_ERASED,
    HOLD_MANUAL,
    HOLD_TERMINATED,
    HoldReason,
)

#: A hold source: given the store, member ids and the time, the reasons (if any) each of those
#: members' balances is held. Members without a reason may be left out of the answer. Sources
#: are called with every member who has a balance (up to millions): read what is held, not
#: every member asked about.
HoldSource = Callable[[Connection, Sequence[int], datetime], Mapping[int, list[HoldReason]]]


def status_holds(conn: Connection, member_ids: Sequence[int],
                 now: datetime) -> Mapping[int, list[HoldReason]]:
    """Terminated and erased members are not paid."""
    wanted = set(member_ids)
    rows = conn.execute(select(Member.id, Member.status)
                        .where(Member.status.in_(("terminated", "erased")))).all()
    codes = {"terminated": HOLD_TERMINATED, "erased": HOLD_ERASED}
    return {int(m): [HoldReason(codes[str(s)])] for m, s in rows if int(m) in wanted}


def staff_holds(conn: Connection, member_ids: Sequence[int],
                now: datetime) -> Mapping[int, list[HoldReason]]:
    """Holds placed by staff or by a returned payment and not released by ``now``."""
    wanted = set(member_ids)
    out: dict[int, list[HoldReason]] = {}
    rows = conn.execute(select(PayoutHold.member_id, PayoutHold.reason, PayoutHold.note)
                        .where(PayoutHold.placed_at <= now,
                               (PayoutHold.released_at.is_(None))
                               | (PayoutHold.released_at > now))
                        .order_by(PayoutHold.id)).all()
    for member, reason, note in rows:
        if int(member) in wanted:
            out.setdefault(int(member), []).append(HoldReason(str(reason), str(note or "")))
    return out


#: Every source of holds, asked in order. Other modules append theirs.
HOLD_SOURCES: list[HoldSource] = [status_holds, staff_holds]


def holds_of(conn: Connection, member_ids: Sequence[int], now: datetime, *,
             extra: Sequence[HoldSource] = ()) -> dict[int, list[HoldReason]]:
    """The reasons each of ``member_ids`` is held at ``now`` (held members only), from
    :data:`HOLD_SOURCES` and then the ``extra`` sources given by the caller."""
    require_aware(now, place="now")
    out: dict[int, list[HoldReason]] = {}
    for source in (*HOLD_SOURCES, *extra):
        for member, reasons in source(conn, member_ids, now).items():
            if reasons:
                out.setdefault(int(member), []).extend(reasons)
    return out


@dataclass(frozen=True)
class StaffHold:
    id: int
    member_id: int
    member_name: str
    reason: str
    note: str
    placed_at: datetime
    placed_by: str


def place_hold(session: Session, member_id: int, note: str, *, now: datetime, actor: str,
               reason: str = HOLD_MANUAL) -> int:
    """Hold a member's balance until released; the note is shown to them. Audited."""
    require_aware(now, place="now")
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"hold: member {member_id} does not exist")
    if not note.strip():
        raise PatronageError(f"hold on member {member_id}: a note saying why is required")
    hold = PayoutHold(member_id=member_id, reason=reason, note=note.strip(), placed_at=now,
                      placed_by=actor[:100])
    session.add(hold)
    session.flush()
    audit.record(session, actor=actor, action="payout.hold", target=f"member {member_id}",
                 detail=f"hold {hold.id} ({reason}): {note.strip()}", at=now)
    return hold.id


def release_hold(session: Session, hold_id: int, *, now: datetime, actor: str) -> None:
    """Release a hold (the next batch pays the balance if nothing else holds it). Audited;
    releasing a released hold is refused."""
    require_aware(now, place="now")
    hold = session.get(PayoutHold, hold_id)
    if hold is None:
        raise NotFound(f"hold {hold_id} does not exist")
    if hold.released_at is not None:
        raise Conflict(f"hold {hold_id} was already released at "
                       f"{hold.released_at:%Y-%m-%d %H:%M} UTC by {hold.released_by}")
    hold.released_at, hold.released_by = now, actor[:100]
    session.flush()
    audit.record(session, actor=actor, action="payout.hold.release",
                 target=f"member {hold.member_id}", detail=f"hold {hold_id}", at=now)


def open_holds(session: Session, member_id: int | None = None) -> list[StaffHold]:
    """Staff and returned-payment holds in force, oldest first."""
    query = (select(PayoutHold, Member.first_name, Member.last_name)
             .join(Member, Member.id == PayoutHold.member_id)
             .where(PayoutHold.released_at.is_(None)).order_by(PayoutHold.id))
    if member_id is not None:
        query = query.where(PayoutHold.member_id == member_id)
    return [StaffHold(h.id, h.member_id, f"{first} {last}".strip(), h.reason, h.note,
                      h.placed_at, h.placed_by) for h, first, last in session.execute(query)]
