"""Taxes as one pluggable line of a checkout.

A :class:`TaxCalculator` is asked for the tax of a cart once the shipping address is known. The
shop starts with :class:`FlatRateTax` (a rate per market, or per region of a market); a real tax
service (Avalara, TaxJar, Stripe Tax) is an adapter of the same protocol: it is given the
market, the shipping country and region, the postal code, the currency and the lines (amounts
after price, minor units), and answers one :class:`TaxLine`. It must be deterministic for the
same question during one checkout, because the amount charged is the amount shown.

Rates are basis points (725 = 7.25%). Rounding is half-even on the total (one rounding per
order, not per line). In a market whose prices include tax (``tax_inclusive``) the line states
the tax contained in the subtotal and adds nothing to the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from patronage.errors import N_, PatronageError


@dataclass(frozen=True)
class TaxQuestion:
    market: str
    country: str
    region: str
    postal_code: str
    currency: str
    amounts: Sequence[int]
    tax_inclusive: bool = False


@dataclass(frozen=True)
class TaxLine:
    """``amount``: the tax (minor units); ``added``: whether it is added to the subtotal (else
    it is contained in it); ``label``: what the page shows ("Tax 7.25%")."""

    amount: int
    added: bool
    label: str
    rate_bp: int = 0


class TaxCalculator(Protocol):
    def tax(self, question: TaxQuestion) -> TaxLine:
        """The tax of the cart (see the module's description)."""
        ...


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def parse_rates(text: str, place: str = "shop_tax_rates") -> dict[str, int]:
    """``"US=0, US-CA=725, MX=1600"`` → rates in basis points by market or market-region."""
    rates: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key, value = key.strip().upper(), value.strip()
        if not eq or not key or not value.isdigit() or int(value) > 10_000:
            raise PatronageError(N_("%(place)s: %(part)r is not MARKET=BASIS_POINTS or "
                                    "MARKET-REGION=BASIS_POINTS with 0–10000 basis points"),
                                 values={"place": place, "part": part})
        rates[key] = int(value)
    return rates


class FlatRateTax:
    """A flat rate per market, or per region of a market (``US-CA``), in basis points; a market
    without a rate has no tax."""

    def __init__(self, rates: Mapping[str, int]) -> None:
        self.rates = {k.upper(): int(v) for k, v in rates.items()}

    def rate_for(self, market: str, region: str) -> int:
        regional = f"{market}-{region}".upper()
        if region and regional in self.rates:
            return self.rates[regional]
        return self.rates.get(market.upper(), 0)

    def tax(self, question: TaxQuestion) -> TaxLine:
        rate = self.rate_for(question.market, question.region.strip())
        subtotal = sum(question.amounts)
        label = f"{Decimal(rate) / 100:g}%"
        if question.tax_inclusive:
            amount = _round(Decimal(subtotal) * rate / (10_000 + rate))
            return TaxLine(amount, added=False, label=label, rate_bp=rate)
        return TaxLine(_round(Decimal(subtotal) * rate / 10_000), added=True, label=label,
                       rate_bp=rate)
