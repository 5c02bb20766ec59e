"""Inventory-loading flags: a distributor who bought more in a month than they plausibly used
or sold.

The rule (the spirit of Amway's 70% rule, judged from the orders the company sees): in the
judged month a distributor's *own purchases* are the CV of their own paid orders (net of the
month's refunds). What they plausibly used or sold is their *usual consumption* (the lower
median of their own purchases over those of the :data:`HISTORY` previous committed months they
had a record in) plus the CV their customers bought through them in the month. They are
flagged when that is less than ``used_share`` (basis points, 7,000 = 70%) of their own purchases:

    usual + customers' CV < used share × own purchases

A distributor with fewer than :data:`MIN_HISTORY` months of history is not judged (their usual
consumption is unknown). Each flag keeps its evidence: own purchases, usual consumption and the
customers' CV; ``no customers`` is noted when no customer bought through them that month.

Volumes are integer hundredths of a point; no rounding happens anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patronage.arrays import I64

BP = 10_000
#: At most this many previous committed months give the usual consumption.
HISTORY = 6
#: A distributor needs this many previous months with a record to be judged.
MIN_HISTORY = 2
#: The default share of own purchases that must be used or sold (Amway: 70%).
DEFAULT_USED_SHARE = 7_000

Bools = np.ndarray


@dataclass(frozen=True)
class LoadingFlags:
    """By judged distributor (rows of the input that were flagged), the evidence."""

    index: I64  # row of the input
    own: I64
    usual: I64
    customer: I64

    @property
    def size(self) -> int:
        return int(self.index.shape[0])


def usual_consumption(own: I64, known: Bools) -> tuple[I64, I64]:
    """``(usual, months)`` per row from the history columns: the largest of the known months'
    own purchases (0 with no known month) and how many months were known."""
    n = own.shape[0]
    months = known.sum(axis=1).astype(np.int64)
    filled = np.where(known, own, np.iinfo(np.int64).min)
    usual = filled.max(axis=1) if filled.shape[1] else np.zeros(n, dtype=np.int64)
    usual = np.where(months > 0, usual, 0).astype(np.int64)
    return usual, months


def loading_flags(own: I64, customer: I64, known: Bools,
                  used_share: int = DEFAULT_USED_SHARE) -> LoadingFlags:
    """Judge the last column of ``own`` (distributors × months, oldest first) against the
    earlier ones (``known``: the distributor had a record that month); ``customer``: the
    customers' CV of the judged month per distributor."""
    if not 0 <= used_share <= BP:
        raise ValueError(f"used share {used_share}: between 0 and {BP} basis points")
    history = own[:, :-1][:, -HISTORY:] if own.shape[1] > 1 else own[:, :0]
    seen = known[:, :-1][:, -HISTORY:] if own.shape[1] > 1 else known[:, :0]
    usual, months = usual_consumption(history, seen)
    now = own[:, -1]
    flagged = ((months >= MIN_HISTORY) & (now > 0)
               & ((usual + customer) * BP < now * used_share))
    index = np.flatnonzero(flagged).astype(np.int64)
    return LoadingFlags(index=index, own=now[index].copy(), usual=usual[index].copy(),
                        customer=customer[index].copy())


def loading_flags_reference(own: list[list[int]], customer: list[int], known: list[list[bool]],
                            used_share: int = DEFAULT_USED_SHARE) -> list[tuple[int, int, int,
                                                                                 int]]:
    """The rule one distributor at a time: ``(row, own, usual, customer)`` per flag."""
    out = []
    for row, (months, bought, seen) in enumerate(zip(own, customer, known, strict=True)):
        past = [m for m, k in list(zip(months[:-1], seen[:-1], strict=True))[-HISTORY:] if k]
        if len(past) < MIN_HISTORY or months[-1] <= 0:
            continue
        usual = max(past)
        if (usual + bought) * BP < months[-1] * used_share:
            out.append((row, months[-1], usual, bought))
    return out
