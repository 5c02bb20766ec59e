"""The earnings ledger's rules, without a database: movement kinds, the company's amounts
(minimum payout, approval limit), balance arithmetic, why a balance is held, which balances a
batch pays, and the next pay date.

Amounts are integer minor units of their currency. A balance is the sum of its movements; a
balance below zero (a clawback larger than what was left) is never paid: later earnings repay
it first, because they are added to the same sum.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from patronage.errors import PatronageError
from patronage.markets.core.currencies import check_currency, exponent
from patronage.money import parse_amount

#: Movement kinds, with the company account each one moves money with (its counter-entry).
COUNTER_ACCOUNT = {
    "earned": "company:commissions_expense",
    "clawed_back": "company:commissions_expense",
    "adjusted": "company:adjustments",
    "paid": "company:cash",
    "returned": "company:cash",
}
KINDS = tuple(COUNTER_ACCOUNT)

#: Why staff adjust a balance (bonus: positive; deduction: negative).
ADJUSTMENT_REASONS = ("missed_bonus", "promotion", "correction", "fee", "debt_recovery",
                      "other")

#: Hold codes this package decides; other modules add theirs through hold sources.
HOLD_TERMINATED = "terminated"
HOLD_ERASED = "erased"
HOLD_MANUAL = "manual"
HOLD_RETURNED = "returned"
HOLD_BELOW_MINIMUM = "below_minimum"
HOLD_NEGATIVE = "negative_balance"


@dataclass(frozen=True)
class HoldReason:
    """Why a balance is not paid: a stable ``code`` and the particulars in words (a staff note,
    the days left of a cooling period ...), shown to the distributor."""

    code: str
    detail: str = ""


@dataclass(frozen=True)
class CurrencyAmounts:
    """An amount set by the company per currency, in each currency's own minor units: one for
    every currency (``default``, in major units) and exceptions."""

    default: str
    exceptions: Mapping[str, int] = field(default_factory=dict)

    def of(self, currency: str) -> int:
        code = check_currency(currency)
        if code in self.exceptions:
            return self.exceptions[code]
        return parse_amount(self.default, place="amount", exponent=exponent(code))

    @classmethod
    def parse(cls, text: str, *, place: str) -> CurrencyAmounts:
        """``"20.00"`` (every currency) or ``"20.00, MXN:400, JPY:3000"`` (exceptions)."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        default = "0"
        exceptions: dict[str, int] = {}
        for part in parts:
            if ":" in part:
                code, amount = (x.strip() for x in part.split(":", 1))
                code = check_currency(code, place=f"{place}: {part!r}")
                exceptions[code] = parse_amount(amount, place=f"{place}: {part!r}",
                                                exponent=exponent(code))
                if exceptions[code] < 0:
                    raise PatronageError(f"{place}: {part!r} must not be negative")
            else:
                parse_amount(part, place=f"{place}: {part!r}")
                if part.startswith("-"):
                    raise PatronageError(f"{place}: {part!r} must not be negative")
                default = part
        return cls(default, exceptions)


@dataclass(frozen=True)
class PayoutRules:
    """The company's settings for paying: the minimum payout (below it a balance is carried
    forward), the adjustment amount above which a second staff member must approve, and the day
    of the month payments are made."""

    minimum: CurrencyAmounts = field(default_factory=lambda: CurrencyAmounts("20.00"))
    approval_above: CurrencyAmounts = field(default_factory=lambda: CurrencyAmounts("500.00"))
    pay_day: int = 15

    def __post_init__(self) -> None:
        if not 1 <= self.pay_day <= 28:
            raise PatronageError(f"payout day: {self.pay_day} must be between 1 and 28")

    @classmethod
    def from_text(cls, minimum: str, approval_above: str, pay_day: int) -> PayoutRules:
        return cls(CurrencyAmounts.parse(minimum, place="payout minimum"),
                   CurrencyAmounts.parse(approval_above, place="adjustment approval above"),
                   pay_day)

    def needs_approval(self, amount: int, currency: str) -> bool:
        return abs(amount) > self.approval_above.of(currency)


def next_pay_date(today: date, pay_day: int) -> date:
    """The first pay date on or after ``today`` (the ``pay_day`` of this month or the next)."""
    if today.day <= pay_day:
        return today.replace(day=pay_day)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, min(pay_day, calendar.monthrange(year, month)[1]))


def check_adjustment(amount: int, reason: str, note: str, *, place: str) -> None:
    """Refuse an adjustment of nothing, with an unknown reason or without a note."""
    if amount == 0:
        raise PatronageError(f"{place}: the amount must not be zero")
    if reason not in ADJUSTMENT_REASONS:
        raise PatronageError(f"{place}: reason {reason!r} is not one of "
                             f"{', '.join(ADJUSTMENT_REASONS)}")
    if not note.strip():
        raise PatronageError(f"{place}: a note saying why is required")


@dataclass(frozen=True)
class Selection:
    """Of the balances given to :func:`select_payable`: which are paid, which carried
    forward (below the minimum, or below zero) and which held (by index)."""

    paid: np.ndarray
    carried: np.ndarray
    held: np.ndarray


def select_payable(balance: np.ndarray, minimum: np.ndarray, held: np.ndarray) -> Selection:
    """Balances (one per member and currency) a batch pays: not held and at least the minimum
    of their currency (and above zero, whatever the minimum). Every balance is in exactly one
    of paid, carried and held."""
    balance = np.asarray(balance, dtype=np.int64)
    held = np.asarray(held, dtype=bool)
    payable = ~held & (balance >= np.asarray(minimum, dtype=np.int64)) & (balance > 0)
    return Selection(np.flatnonzero(payable), np.flatnonzero(~held & ~payable),
                     np.flatnonzero(held))


def balance_holds(balance: int, minimum: int) -> list[HoldReason]:
    """Why a balance that is not held would still not be paid: below zero (repaid by later
    earnings) or below the minimum (carried forward)."""
    if balance < 0:
        return [HoldReason(HOLD_NEGATIVE)]
    if balance < minimum:
        return [HoldReason(HOLD_BELOW_MINIMUM)]
    return []


@dataclass(frozen=True)
class Totals:
    """A ledger's movements summed by kind (one member's or the company's, one currency)."""

    earned: int = 0
    clawed_back: int = 0
    adjusted: int = 0
    paid: int = 0
    returned: int = 0

    @classmethod
    def of(cls, movements: Iterable[tuple[str, int]]) -> Totals:
        sums = dict.fromkeys(KINDS, 0)
        for kind, amount in movements:
            if kind not in sums:
                raise PatronageError(f"ledger: unknown movement kind {kind!r}")
            sums[kind] += amount
        return cls(**sums)

    @property
    def balance(self) -> int:
        """Clawbacks and payments are stored negative, returns positive: the sum of all."""
        return self.earned + self.clawed_back + self.adjusted + self.paid + self.returned

    @property
    def paid_out(self) -> int:
        """What left the company and stayed out (payments less returned ones), positive."""
        return -(self.paid + self.returned)


def payment_ref(batch_id: int, member_id: int, currency: str) -> str:
    """The reference a payment carries to the bank (at most 35 characters, SEPA's end-to-end
    id limit): the same for the same batch, member and currency."""
    return f"PAY-{batch_id}-{member_id}-{currency}"
