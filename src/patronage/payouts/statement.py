"""What a distributor sees of their earnings: the balance per currency, why anything is held
or carried forward, the next pay date and every movement with its source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, select

from patronage.clock import require_aware, zone
from patronage.db.tables import Member
from patronage.errors import NotFound
from patronage.payouts.core.ledger import HoldReason, PayoutRules, balance_holds, next_pay_date
from patronage.payouts.holds import HoldSource, holds_of
from patronage.payouts.ledger import Movement, balances_of, movements


@dataclass(frozen=True)
class Earnings:
    member_id: int
    name: str
    #: Balance per currency code.
    balances: dict[str, int]
    #: Why the balance is held (none: it is paid on the next pay date if at least the minimum).
    holds: list[HoldReason]
    #: Per currency: why that balance is carried forward (below the minimum, below zero).
    carried: dict[str, HoldReason]
    minimum: dict[str, int]
    next_pay_date: date
    movements: list[Movement]


def earnings_of(engine: Engine, member_id: int, *, now: datetime, rules: PayoutRules,
                company_zone: str, limit: int = 200,
                extra_holds: Sequence[HoldSource] = ()) -> Earnings:
    """A member's earnings page: balances, holds (``extra_holds``: the sources the batch asks
    besides the ledger's own), next pay date, movements (newest first)."""
    require_aware(now, place="now")
    with engine.connect() as conn:
        row = conn.execute(select(Member.first_name, Member.last_name)
                           .where(Member.id == member_id)).first()
        if row is None:
            raise NotFound(f"member {member_id} does not exist")
        name = f"{row.first_name} {row.last_name}".strip()
        balances = balances_of(conn, member_id)
        held = holds_of(conn, [member_id], now, extra=extra_holds).get(member_id, [])
        moves = movements(conn, member_id, limit=limit)
    minimum = {c: rules.minimum.of(c) for c in balances}
    carried: dict[str, HoldReason] = {}
    for c, amount in balances.items():
        reasons = balance_holds(amount, minimum[c])
        if reasons and amount:
            carried[c] = reasons[0]
    today = now.astimezone(zone(company_zone)).date()
    return Earnings(member_id, name, balances, held, carried, minimum,
                    next_pay_date(today, rules.pay_day), moves)
