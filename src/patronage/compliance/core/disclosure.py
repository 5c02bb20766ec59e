"""The income disclosure statement's figures, exact to the minor unit.

Every participant of the year is counted, those who earned nothing too. Gross earnings are integer
minor units. Percentiles interpolate linearly between the two closest ranks (the method of
Excel's PERCENTILE.INC and numpy's default): for ``n`` sorted values and percentile ``p``, the
position is ``h = (n - 1) * p / 100`` and the value ``x[floor(h)] + (h - floor(h)) *
(x[floor(h) + 1] - x[floor(h)])``. Computed as an exact fraction, then rounded half to even to
the minor unit; the mean is rounded the same way. The median is the 50th percentile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from patronage.arrays import I64

#: The percentiles a statement shows, besides the median.
PERCENTILES = (10, 25, 75, 90, 99)
#: The rank index of participants who held no rank during the year.
NO_RANK = -1


def round_half_even(value: Fraction) -> int:
    """``value`` rounded to the nearest integer, ties to the even one."""
    return round(value)  # Fraction.__round__ rounds half to even


def percentile(ordered: I64, p: int) -> int:
    """The ``p``-th percentile (0–100) of ascending ``ordered`` values, as documented above."""
    n = int(ordered.shape[0])
    if n == 0:
        raise ValueError("a percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0..100")
    whole, part = divmod((n - 1) * p, 100)
    low = int(ordered[whole])
    if part == 0:
        return low
    high = int(ordered[whole + 1])
    return round_half_even(low + Fraction(part * (high - low), 100))


@dataclass(frozen=True)
class EarningsRow:
    """The figures of one group of participants (a paid-as rank, or everybody)."""

    rank: int | None  # rank index; NO_RANK for none; None for the row of all participants
    headcount: int
    share: Fraction  # of all participants in the table
    earned_nothing: int
    total: int
    mean: int
    median: int
    percentiles: dict[int, int]
    lowest: int
    highest: int
    mean_months_at_rank: Fraction | None  # None for the row of all participants

    @property
    def share_earning_nothing(self) -> Fraction:
        return Fraction(self.earned_nothing, self.headcount) if self.headcount else Fraction(0)


def _row(rank: int | None, earnings: I64, months: I64 | None, everybody: int) -> EarningsRow:
    ordered = np.sort(earnings, kind="stable")
    n = int(ordered.shape[0])
    total = int(ordered.sum())
    return EarningsRow(
        rank=rank, headcount=n, share=Fraction(n, everybody) if everybody else Fraction(0),
        earned_nothing=int((ordered == 0).sum()), total=total,
        mean=round_half_even(Fraction(total, n)), median=percentile(ordered, 50),
        percentiles={p: percentile(ordered, p) for p in PERCENTILES},
        lowest=int(ordered[0]), highest=int(ordered[-1]),
        mean_months_at_rank=None if months is None else Fraction(int(months.sum()), n),
    )


def earnings_table(rank: I64, earnings: I64, months_at_rank: I64) -> list[EarningsRow]:
    """One row per paid-as rank present (highest rank first, then "no rank"), then the row of
    all participants. ``rank[i]`` is participant ``i``'s paid-as rank for the statement (the
    highest held during the year, NO_RANK if none), ``earnings[i]`` their gross earnings of the
    year and ``months_at_rank[i]`` how many committed months they were paid as that rank."""
    if not (rank.shape == earnings.shape == months_at_rank.shape):
        raise ValueError("rank, earnings and months_at_rank must have one value per participant")
    n = int(rank.shape[0])
    if n == 0:
        return []
    rows = []
    for r in sorted({int(x) for x in np.unique(rank)}, key=lambda x: (x == NO_RANK, -x)):
        mask = rank == r
        rows.append(_row(r, earnings[mask], months_at_rank[mask], n))
    rows.append(_row(None, earnings, None, n))
    return rows


def highest_rank(member_index: I64, paid_as: I64, participants: int) -> tuple[I64, I64]:
    """From one ``(member index, paid-as rank)`` pair per committed month, each participant's
    highest paid-as rank of the year and the number of months they were paid as it."""
    best = np.full(participants, NO_RANK, dtype=np.int64)
    if member_index.shape[0]:
        np.maximum.at(best, member_index, paid_as)
    at_best = (paid_as == best[member_index]) & (paid_as != NO_RANK)
    months = np.bincount(member_index[at_best], minlength=participants).astype(np.int64)
    return best, months


def describe(values: Sequence[int]) -> dict[str, int]:
    """The median and percentiles of a few values (for tests and small tables)."""
    ordered = np.sort(np.asarray(values, dtype=np.int64))
    return {"median": percentile(ordered, 50),
            **{f"p{p}": percentile(ordered, p) for p in PERCENTILES}}
