"""How a plan file writes numbers, and the strict base of every plan section.

Rates are written as fractions (``0.05`` for 5%) and kept as exact basis points; volumes and
money amounts are written in points and currency units and kept as integer hundredths.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

BP = 10_000


def bp(value: Any) -> int:
    """A rate written as a fraction (0.05) in exact basis points (500)."""
    d = Decimal(str(value))
    scaled = d * BP
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} is finer than a basis point (0.0001)")
    if d < 0 or d > 1:
        raise ValueError(f"{value} is not between 0 and 1 (0% to 100%)")
    return int(scaled)


def hundredths(value: Any) -> int:
    """A volume or money amount written in units (12.5) as integer hundredths (1250)."""
    d = Decimal(str(value))
    scaled = d * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than 2 decimal places")
    if d < 0:
        raise ValueError(f"{value} is negative")
    return int(scaled)


class Strict(BaseModel):
    """A part of a plan file: unknown keys are errors, and it never changes once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
