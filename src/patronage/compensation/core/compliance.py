"""The plan's compliance rule: downline earnings only for a team whose volume comes enough from
customers.

```toml
[compliance]
min_team_customer_share = 0.5          # of the team's CV, bought by customers
bonuses = ["unilevel", "fast_start"]   # the payout lines it governs (default: DOWNLINE_LINES)
```

A distributor's *team* is themselves and their whole downline (customers included, through
their owners); its volume is the CV (net of the period's refunds) of every order line credited
in it, and its customer volume the part of that retail and preferred customers bought. When a
team has volume and ``customer CV < min share × CV``, every line of the governed bonuses to its
distributor is withheld: not paid, recorded as a skip with the reason
:data:`~patronage.compensation.core.codes.REASON_CUSTOMER_SHARE` and passed to nobody. The rule
runs after every bonus and before the cap. Both engines apply it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import field_validator

from patronage.arrays import sum_by
from patronage.compensation.core.arrays import I64
from patronage.compensation.core.codes import REASON_CUSTOMER_SHARE
from patronage.compensation.core.units import BP, Strict, bp
from patronage.facts import Genealogy
from patronage.network.core.genealogy import subtree_sums

#: The payout lines paid on a downline's volume: what the rule governs unless the plan names
#: its own list.
DOWNLINE_LINES = ("unilevel", "fast_start", "stair_step", "generation", "unilevel_infinity",
                  "unilevel_generation", "matching")

Bools = np.ndarray


class ComplianceRule(Strict):
    min_team_customer_share: int  # basis points
    bonuses: list[str] | None = None

    @field_validator("min_team_customer_share", mode="before")
    @classmethod
    def _share(cls, v: Any) -> int:
        share = bp(v)
        if not 0 <= share <= BP:
            raise ValueError("a share between 0 and 1")
        return share

    def governed(self, line_codes: Mapping[str, int]) -> set[int]:
        """The codes of the payout lines the rule governs."""
        names = self.bonuses if self.bonuses is not None else DOWNLINE_LINES
        return {line_codes[name] for name in names if name in line_codes}


def below_share(customer: int, total: int, min_bp: int) -> bool:
    """A team with volume whose customers bought less than ``min_bp`` of it."""
    return total > 0 and customer * BP < total * min_bp


def failing_teams(g: Genealogy, credited_to: I64, cv: I64, customer_purchase: Bools,
                  min_bp: int) -> Bools:
    """By member index: whether the member's team is below the minimum customer share."""
    n = g.size
    credited = credited_to >= 0
    volume = sum_by(credited_to[credited], cv[credited], n)
    bought = credited & customer_purchase
    customer = sum_by(credited_to[bought], cv[bought], n)
    team, team_customer = subtree_sums(g, volume), subtree_sums(g, customer)
    result: Bools = (team > 0) & (team_customer * BP < team * min_bp)
    return result


def withhold(pay: list[tuple[int, tuple[Any, ...]]], skips: list[tuple[int, tuple[Any, ...]]],
             governed: set[int], failing: Bools) -> list[tuple[int, tuple[Any, ...]]]:
    """The fast engine's payout parts without the governed lines of failing earners; those
    are appended to ``skips`` as withheld."""
    kept: list[tuple[int, tuple[Any, ...]]] = []
    for count, (earner, code, kind, source, level, volume, rate, amount) in pay:
        if int(code) not in governed or count == 0:
            kept.append((count, (earner, code, kind, source, level, volume, rate, amount)))
            continue
        out = failing[earner]
        if not out.any():
            kept.append((count, (earner, code, kind, source, level, volume, rate, amount)))
            continue
        stay = ~out

        def pick(x: Any, mask: Bools) -> Any:
            return x[mask] if isinstance(x, np.ndarray) and x.ndim else x

        kept.append((int(stay.sum()), tuple(pick(x, stay) for x in
                                            (earner, code, kind, source, level, volume, rate,
                                             amount))))
        skips.append((int(out.sum()), (code, kind, pick(source, out), pick(level, out),
                                       earner[out], REASON_CUSTOMER_SHARE, -1)))
    return kept
