"""Money in integer minor units, and the one rounding rule used everywhere.

Amounts are ``int`` minor units (cents for USD). Volumes (QV, CV, PV, GV) are kept at the same
scale: integer hundredths of a point, so that ``rate × CV`` gives an amount in minor units directly.

Rounding policy: a computed amount is rounded **half away from zero** to a whole minor unit, once,
per payout line (never on intermediate sums). :func:`apply_rate` is that rule for a rate given in
basis points; :func:`apply_fraction` for an exact fraction.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from patronage.errors import PatronageError

#: Basis points in one whole (100% = 10_000 bp).
BP = 10_000


def round_half_away(numerator: int, denominator: int) -> int:
    """Round ``numerator / denominator`` to the nearest integer, halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


def apply_rate(amount: int, rate_bp: int) -> int:
    """``amount × rate_bp / 10 000``, rounded half away from zero."""
    return round_half_away(amount * rate_bp, BP)


def apply_fraction(amount: int, fraction: Fraction) -> int:
    """``amount × fraction``, rounded half away from zero."""
    return round_half_away(amount * fraction.numerator, fraction.denominator)


def parse_amount(text: str, *, place: str = "amount", exponent: int = 2) -> int:
    """Parse a decimal string such as ``"12.34"`` into minor units; refuse more precision."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise PatronageError(f"{place}: {text!r} is not a number") from exc
    if not value.is_finite():
        raise PatronageError(f"{place}: {text!r} is not a finite number")
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise PatronageError(f"{place}: {text!r} has more than {exponent} decimal places")
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_amount(minor: int, exponent: int = 2) -> str:
    """Minor units as a plain decimal string: ``1234 -> "12.34"``."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}" if exponent else f"{sign}{whole}"
