"""The plan's compliance rule: downline earnings only for a team whose volume comes enough from
customers.

```toml
[compliance]
min_team_customer_share = 0.5          # of the team's CV, bought by customers
bonuses = ["unilevel", "fast_start"]   # the payout lines it governs (default: DOWNLINE_LINES)
release_withheld_within = 3            # committed periods a withheld amount waits (0: forfeited)
```

A distributor's *team* is themselves and their whole downline (customers included, through
their owners); its volume is the CV (net of the period's refunds) of every order line credited
in it, and its customer volume the part of that retail and preferred customers bought. When a
team has volume and ``customer CV < min share × CV``, every line of the governed bonuses to its
distributor is withheld: not paid, recorded as a skip with the reason
:data:`~patronage.compensation.core.codes.REASON_CUSTOMER_SHARE` and passed to nobody. The rule
runs after every bonus and before the cap. Both engines apply it.

With ``release_withheld_within = N``, the amounts withheld from a distributor in the last N
committed periods (:class:`Withheld`, loaded by the run service) are paid to them in this run
when their team has volume and meets the rule: one ``withheld_release`` line per earlier period,
its level the number of committed periods before this one, its volume and amount the sum
released. A release is not capped and not withheld again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import field_validator

from patronage.arrays import sum_by
from patronage.compensation.core.arrays import I64
from patronage.compensation.core.bonuses.withheld_release import LINE as RELEASE_LINE
from patronage.compensation.core.codes import REASON_CUSTOMER_SHARE, SOURCE_MEMBER
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
    #: Committed periods a withheld amount waits for its team to meet the rule (0: forfeited).
    release_withheld_within: int = 0

    @field_validator("release_withheld_within", mode="before")
    @classmethod
    def _within(cls, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError("a whole number of committed periods (0: withheld payments are "
                             "forfeited)")
        if not 0 <= v <= 24:
            raise ValueError("between 0 and 24 committed periods")
        return v

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


def meets_share(customer: int, total: int, min_bp: int) -> bool:
    """A team with volume whose customers bought at least ``min_bp`` of it: one a withheld
    amount is released to."""
    return total > 0 and not below_share(customer, total, min_bp)


@dataclass(frozen=True)
class Withheld:
    """Amounts withheld in earlier committed periods and not yet released, that a run may
    release: by row, the member index, how many committed periods before this one (0: the
    last) and the amount (plan currency)."""

    member: I64
    age: I64
    amount: I64

    @classmethod
    def empty(cls) -> Withheld:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z)

    @property
    def size(self) -> int:
        return int(self.member.shape[0])


def team_volumes(g: Genealogy, credited_to: I64, cv: I64,
                 customer_purchase: Bools) -> tuple[I64, I64]:
    """By member index: the team's CV and the part customers bought."""
    n = g.size
    credited = credited_to >= 0
    volume = sum_by(credited_to[credited], cv[credited], n)
    bought = credited & customer_purchase
    customer = sum_by(credited_to[bought], cv[bought], n)
    return subtree_sums(g, volume), subtree_sums(g, customer)


def failing_teams(g: Genealogy, credited_to: I64, cv: I64, customer_purchase: Bools,
                  min_bp: int) -> Bools:
    """By member index: whether the member's team is below the minimum customer share."""
    team, team_customer = team_volumes(g, credited_to, cv, customer_purchase)
    result: Bools = (team > 0) & (team_customer * BP < team * min_bp)
    return result


def release(withheld: Withheld, meeting: Bools, within: int,
            line_codes: Mapping[str, int]) -> list[tuple[int, tuple[Any, ...]]]:
    """The fast engine's release lines: the amounts withheld in the last ``within`` committed
    periods from members whose team meets the rule, summed per member and earlier period."""
    if withheld.size == 0 or within <= 0 or RELEASE_LINE not in line_codes:
        return []
    member, age, amount = withheld.member, withheld.age, withheld.amount
    ok = (member >= 0) & (member < meeting.shape[0]) & (age >= 0) & (age < within)
    ok[ok] = meeting[member[ok]]
    if not ok.any():
        return []
    keys = np.stack([member[ok], age[ok]], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    sums = np.zeros(unique.shape[0], dtype=np.int64)
    np.add.at(sums, inverse.reshape(-1), amount[ok])
    who = unique[:, 0].astype(np.int64)
    return [(int(unique.shape[0]), (who, line_codes[RELEASE_LINE], SOURCE_MEMBER, who,
                                    unique[:, 1].astype(np.int64) + 1, sums, 0, sums))]


def withhold(pay: list[tuple[int, tuple[Any, ...]]], skips: list[tuple[int, tuple[Any, ...]]],
             governed: set[int], failing: Bools,
             withheld: list[tuple[int, tuple[Any, ...]]] | None = None,
             ) -> list[tuple[int, tuple[Any, ...]]]:
    """The fast engine's payout parts without the governed lines of failing earners; those
    are appended to ``skips`` as withheld (and, whole, to ``withheld``)."""
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
        if withheld is not None:
            withheld.append((int(out.sum()), tuple(pick(x, out) for x in
                                                   (earner, code, kind, source, level, volume,
                                                    rate, amount))))
    return kept
