"""The pure rules of money out: amounts per currency, pay dates, what a batch pays."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from patronage.errors import PatronageError
from patronage.payouts.core.ledger import (
    CurrencyAmounts,
    PayoutRules,
    Totals,
    balance_holds,
    next_pay_date,
    payment_ref,
    select_payable,
)


def test_amounts_per_currency_in_their_own_minor_units() -> None:
    rules = PayoutRules.from_text("20.00, JPY:3000, MXN:400", "500", 15)
    assert rules.minimum.of("USD") == 2000 and rules.minimum.of("eur") == 2000
    assert rules.minimum.of("JPY") == 3000 and rules.minimum.of("MXN") == 40000
    assert rules.minimum.of("BHD") == 20000  # three decimal places
    assert rules.needs_approval(50001, "USD") and not rules.needs_approval(-50000, "USD")
    with pytest.raises(PatronageError, match=r"payout minimum: 'XYZ:1': .*ISO 4217"):
        CurrencyAmounts.parse("XYZ:1", place="payout minimum")
    with pytest.raises(PatronageError, match="must not be negative"):
        CurrencyAmounts.parse("-5", place="payout minimum")
    with pytest.raises(PatronageError, match="payout day: 31 must be between 1 and 28"):
        PayoutRules.from_text("20", "500", 31)


def test_next_pay_date() -> None:
    assert next_pay_date(date(2026, 11, 3), 15) == date(2026, 11, 15)
    assert next_pay_date(date(2026, 11, 15), 15) == date(2026, 11, 15)
    assert next_pay_date(date(2026, 12, 16), 15) == date(2027, 1, 15)


def test_every_balance_is_paid_carried_or_held_never_negative() -> None:
    balance = np.array([2500, 1999, -300, 5000, 0])
    sel = select_payable(balance, np.full(5, 2000), np.array([0, 0, 0, 1, 0], dtype=bool))
    assert sel.paid.tolist() == [0] and sel.held.tolist() == [3]
    assert sel.carried.tolist() == [1, 2, 4]
    assert select_payable(np.array([-5]), np.array([0]), np.array([False])).paid.size == 0
    assert [r.code for r in balance_holds(-1, 2000)] == ["negative_balance"]
    assert [r.code for r in balance_holds(1999, 2000)] == ["below_minimum"]
    assert balance_holds(2000, 2000) == []


def test_totals_and_references() -> None:
    t = Totals.of([("earned", 5000), ("clawed_back", -1000), ("paid", -4000),
                   ("returned", 4000), ("adjusted", 100)])
    assert (t.balance, t.paid_out) == (4100, 0)
    with pytest.raises(PatronageError, match="unknown movement kind 'gift'"):
        Totals.of([("gift", 1)])
    assert payment_ref(12, 1_000_000, "USD") == "PAY-12-1000000-USD"
    assert len(payment_ref(2**31, 2**31, "USD")) <= 35
