"""Bonus types, one module each, and the registry of those a plan file may use.

Each module holds one type's plan section model and checks, its vectorised pay, its reference,
its clawback base and its explanation wording (:class:`~.base.BonusType`). :data:`BONUS_TYPES`
maps the plan file's section names to them; both engines, the plan checks, clawbacks and
explanations go through it. ``docs/bonuses.md`` shows how to add one.
"""

from __future__ import annotations

from patronage.compensation.core.bonuses import (
    binary,
    customer_acquisition,
    customer_first_order,
    customer_referral,
    fast_start,
    matching,
    pool,
    rank_advancement,
    retail_profit,
    stair_step,
    unilevel,
    unilevel_generation,
    withheld_release,
)
from patronage.compensation.core.bonuses.base import BonusType, Refunded
from patronage.compensation.core.bonuses.registry import BonusSections, Registry

#: The bonus types of plan files, run in this order (a type that reads the lines of others, as
#: matching does, comes after them; payout line codes are fixed once stored).
BONUS_TYPES = Registry([
    retail_profit.BONUS,
    fast_start.BONUS,
    unilevel.BONUS,
    customer_acquisition.BONUS,
    customer_referral.BONUS,
    stair_step.BONUS,
    rank_advancement.BONUS,
    pool.BONUS,
    binary.BONUS,
    unilevel_generation.BONUS,
    matching.BONUS,
    customer_first_order.BONUS,
    withheld_release.BONUS,
], module=__name__)

#: The model of a plan's ``[bonuses]`` table with the sections of :data:`BONUS_TYPES`.
Bonuses = BONUS_TYPES.sections

__all__ = ["BONUS_TYPES", "BonusSections", "BonusType", "Bonuses", "Refunded", "Registry"]
