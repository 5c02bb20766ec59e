"""Purchase histories summarised for the BG/NBD and Gamma-Gamma models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patronage.arrays import F64, I64


@dataclass(frozen=True)
class Summary:
    """Per customer: repeat purchases ``x``, time of the last ``t_x`` and age ``T`` (in the time
    unit asked for, counted from the first purchase), mean repeat spend ``m`` (0 when x = 0)
    and the spend of the first purchase (day) ``first``."""

    customer: I64
    x: F64
    t_x: F64
    T: F64
    m: F64
    first: F64


def summarise(customer: I64, day: I64, spend: F64, end_day: int, unit_days: float) -> Summary:
    """From transactions (customer, day number, spend) up to and including ``end_day``.

    Purchases on the same day count once (their spend added up); the first purchase is the start
    and is not a repeat; times are in units of ``unit_days`` days (7 for weeks).
    """
    keep = day <= end_day
    customer, day, spend = customer[keep], day[keep], spend[keep]
    # One packed int64 key (customer, day) sorts faster than a two-key lexsort.
    if customer.size:
        offset = day - day.min()
        key = customer.astype(np.int64) * (int(offset.max()) + 1) + offset
        order = np.argsort(key, kind="stable")
    else:
        order = np.zeros(0, dtype=np.int64)
    customer, day, spend = customer[order], day[order], spend[order]
    new_day = np.ones(customer.shape[0], dtype=bool)
    new_day[1:] = (customer[1:] != customer[:-1]) | (day[1:] != day[:-1])
    group = np.cumsum(new_day) - 1
    day_customer, day_day = customer[new_day], day[new_day]
    day_spend = np.bincount(group, weights=spend)
    ids, first_index, counts = np.unique(day_customer, return_index=True, return_counts=True)
    last_index = first_index + counts - 1
    first_day = day_day[first_index]
    x = (counts - 1).astype(np.float64)
    t_x = (day_day[last_index] - first_day) / unit_days
    T = (end_day - first_day) / unit_days
    total = np.add.reduceat(day_spend, first_index)
    repeat_spend = total - day_spend[first_index]
    m = np.where(x > 0, repeat_spend / np.maximum(x, 1), 0.0)
    return Summary(ids.astype(np.int64), x, t_x.astype(np.float64), T.astype(np.float64), m,
                   np.asarray(day_spend[first_index], dtype=np.float64))
