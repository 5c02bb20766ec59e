"""Money converted between currencies at frozen rates, in one vectorised step (no database).

A rate is an exact decimal stored as an integer scaled by :data:`RATE_SCALE` (10⁹): the units
of the plan (company) currency that one unit of the other currency buys. Converting ``a`` minor
units of currency *c* (exponent ``e_c``) into the plan currency (exponent ``e_p``) is

    a × rate / 10⁹ × 10^(e_p − e_c)

and back from the plan currency into *c* the inverse; both are exact fractions, reduced, and
rounded **half to even** to a whole minor unit once per amount (never on sums). Half to even
leaves no drift over the millions of lines of a run (half up would add on average a quarter of a
minor unit per ten lines). When a product could pass the 64-bit range the amounts of that
currency are computed with Python integers instead (exact, slower, rare).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np

from patronage.arrays import I64
from patronage.errors import PatronageError
from patronage.markets.core.currencies import exponent

#: Rates are integers in units of 10⁻⁹.
RATE_SCALE = 10**9
_SAFE = 2**62


@dataclass(frozen=True)
class Rates:
    """The rates a run uses: the plan currency and, for each other currency, its rate into the
    plan currency (× :data:`RATE_SCALE`). ``codes`` lists the plan currency first."""

    plan: str
    to_plan: dict[str, int]

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.plan, *sorted(c for c in self.to_plan if c != self.plan))

    def index(self, code: str) -> int:
        codes = self.codes
        if code not in codes:
            raise PatronageError(f"currency {code}: no exchange rate into {self.plan} for this "
                                 "run")
        return codes.index(code)

    def rate(self, code: str) -> int:
        if code == self.plan:
            return RATE_SCALE
        if code not in self.to_plan:
            raise PatronageError(f"currency {code}: no exchange rate into {self.plan} for this "
                                 "run")
        return self.to_plan[code]

    def fraction_to_plan(self, code: str) -> tuple[int, int]:
        """(numerator, denominator): minor units of ``code`` → minor units of the plan."""
        shift = exponent(self.plan) - exponent(code)
        num, den = self.rate(code) * 10 ** max(shift, 0), RATE_SCALE * 10 ** max(-shift, 0)
        g = gcd(num, den)
        return num // g, den // g

    def fraction_from_plan(self, code: str) -> tuple[int, int]:
        """(numerator, denominator): minor units of the plan → minor units of ``code``."""
        num, den = self.fraction_to_plan(code)
        return den, num


def round_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` to the nearest integer, halves to the even one."""
    q, r = divmod(numerator, denominator)
    if 2 * r > denominator or (2 * r == denominator and q % 2 == 1):
        q += 1
    return q


def convert_one(amount: int, fraction: tuple[int, int]) -> int:
    return round_half_even(amount * fraction[0], fraction[1])


def _scale(amounts: I64, num: int, den: int) -> I64:
    if num == den:
        return amounts.copy()
    largest = int(np.abs(amounts).max(initial=0))
    if largest * num >= _SAFE:
        exact = [round_half_even(int(a) * num, den) for a in amounts.tolist()]
        if max(abs(v) for v in exact) >= _SAFE:
            raise PatronageError(f"conversion: an amount of {largest} minor units converts to "
                                 "more than the largest amount kept (2⁶² minor units)")
        return np.array(exact, dtype=np.int64)
    product = amounts * num
    q, r = np.divmod(product, den)  # floor division: 0 ≤ r < den
    up = (2 * r > den) | ((2 * r == den) & (q % 2 == 1))
    result: I64 = (q + up).astype(np.int64)
    return result


def convert(amounts: I64, currency: I64, fractions: list[tuple[int, int]]) -> I64:
    """Each amount times the fraction of its currency (``currency``: an index into
    ``fractions``), rounded half to even."""
    return convert_many([amounts], currency, fractions)[0]


def convert_many(columns: list[I64], currency: I64,
                 fractions: list[tuple[int, int]]) -> list[I64]:
    """:func:`convert` of several columns of one currency each row: one pass over each column,
    the fractions gathered by currency index once for all of them (no per-currency masks)."""
    columns = [np.asarray(c, dtype=np.int64) for c in columns]
    nums = np.array([f[0] for f in fractions], dtype=np.int64)
    dens = np.array([f[1] for f in fractions], dtype=np.int64)
    if not columns or columns[0].size == 0 or bool((nums == dens).all()):
        return [c.copy() for c in columns]
    most = int(nums.max())
    num = den = None
    out: list[I64] = []
    for amounts in columns:
        largest = max(abs(int(amounts.min())), abs(int(amounts.max())))
        if largest * most >= _SAFE:
            exact = amounts.copy()
            for i, (n, d) in enumerate(fractions):
                where = currency == i
                if n != d and where.any():
                    exact[where] = _scale(amounts[where], n, d)
            out.append(exact)
            continue
        if num is None or den is None:
            num, den = nums[currency], dens[currency]
        product = amounts * num
        q = product // den
        twice_r = q * den
        np.subtract(product, twice_r, out=twice_r)  # the remainder, 0 ≤ r < den
        twice_r += twice_r
        up = twice_r > den
        tie = twice_r == den
        tie &= (q & 1).astype(bool)
        up |= tie
        q += up
        out.append(q)
    return out


def to_plan(amounts: I64, currency: I64, rates: Rates) -> I64:
    """Amounts in their currencies (indexes into ``rates.codes``) in the plan currency."""
    return convert(amounts, currency, [rates.fraction_to_plan(c) for c in rates.codes])


def columns_to_plan(columns: list[I64], currency: I64, rates: Rates) -> list[I64]:
    """:func:`to_plan` of several columns with one currency per row."""
    return convert_many(columns, currency, [rates.fraction_to_plan(c) for c in rates.codes])


def from_plan(amounts: I64, currency: I64, rates: Rates) -> I64:
    """Plan-currency amounts in each one's currency (indexes into ``rates.codes``)."""
    return convert(amounts, currency, [rates.fraction_from_plan(c) for c in rates.codes])


def parse_rate(text: str, *, place: str = "rate") -> int:
    """A decimal rate such as ``"0.7312"`` as an integer × 10⁹ (refused when not positive or
    finer than 10⁻⁹)."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise PatronageError(f"{place}: {text!r} is not a number") from exc
    if not value.is_finite() or value <= 0:
        raise PatronageError(f"{place}: {text!r} is not a positive number")
    scaled = value.scaleb(9)
    if scaled != scaled.to_integral_value():
        raise PatronageError(f"{place}: {text!r} has more than 9 decimal places")
    if scaled >= 10**18:
        raise PatronageError(f"{place}: {text!r} is too large")
    return int(scaled)


def format_rate(rate: int) -> str:
    whole, frac = divmod(rate, RATE_SCALE)
    return f"{whole}.{frac:09d}".rstrip("0").rstrip(".")
