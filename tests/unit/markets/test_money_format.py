"""Pages show money in its currency's format for the viewer's locale, one helper for all."""

from __future__ import annotations

from patronage.web.deps import money


def test_money_in_its_currency_and_locale() -> None:
    assert money(123450, "USD") == "$1,234.50"
    assert money(1333, "CAD") == "CA$13.33"
    assert money(15000, "JPY") == "¥15,000"  # no minor unit
    assert money(129900, "MXN", "es-MX") == "$1,299.00"
    assert money(-250, "GBP", "en-GB") == "-£2.50"
    assert money(123450) == "1,234.50"  # no currency: a plain amount
