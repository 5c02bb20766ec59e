"""Time zones for whole arrays of members: UTC offsets and local wall-clock instants.

Members live in a few dozen zones, so the work is done once per zone, not once per member: each
zone's offset changes (daylight saving) over a span are found exactly (sampled daily, then pinned
to the second by bisection), and an instant's offset is a sorted search. Local days are counted
as days since 1970-01-01.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from patronage.arrays import I64, Bools

DAY = 86_400
EPOCH = date(1970, 1, 1)


@lru_cache(maxsize=512)
def tz(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def known_zone(name: str) -> bool:
    """Whether ``name`` is a time zone name this machine knows (``America/Chicago``); not a
    path, an abbreviation that is not a zone, or empty."""
    if not name or name != name.strip():
        return False
    try:
        tz(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def offset_at(zone: ZoneInfo, seconds: int) -> int:
    """The zone's UTC offset in seconds at a unix instant."""
    off = zone.utcoffset(datetime.fromtimestamp(seconds, UTC).astimezone(zone))
    return int(off.total_seconds()) if off is not None else 0


def wall_instant(zone: ZoneInfo, day: int, minute: int) -> int:
    """The unix instant of local day ``day`` (days since 1970-01-01) at ``minute`` past
    midnight, as :func:`datetime.combine` reads a wall-clock time."""
    local = datetime.combine(EPOCH + timedelta(days=day), time(minute // 60, minute % 60), zone)
    return int(local.timestamp())


class ZoneTable:
    """Exact offsets of ``names`` between ``start`` and ``stop`` (unix seconds)."""

    def __init__(self, names: tuple[str, ...], start: int, stop: int) -> None:
        self.names = names
        self.zones = [tz(n) for n in names]
        self._times: list[I64] = []
        self._offsets: list[I64] = []
        start, stop = start - 2 * DAY, stop + 2 * DAY
        samples = list(range(start, stop + DAY, DAY))
        for zone in self.zones:
            times, offs = [np.iinfo(np.int64).min], [offset_at(zone, start)]
            prev_t, prev_off = start, offs[0]
            for t in samples[1:]:
                off = offset_at(zone, t)
                if off != prev_off:
                    lo, hi = prev_t, t  # offset(lo) == prev_off, offset(hi) == off
                    while hi - lo > 1:
                        mid = (lo + hi) // 2
                        if offset_at(zone, mid) == prev_off:
                            lo = mid
                        else:
                            hi = mid
                    times.append(hi)
                    offs.append(off)
                prev_t, prev_off = t, off
            self._times.append(np.array(times, dtype=np.int64))
            self._offsets.append(np.array(offs, dtype=np.int64))

    def offset(self, zone: I64, seconds: I64) -> I64:
        """Each instant's UTC offset in its zone."""
        out = np.zeros(seconds.shape[0], dtype=np.int64)
        if not seconds.shape[0]:
            return out
        for z in np.unique(zone).tolist():
            at = zone == z
            idx = np.searchsorted(self._times[z], seconds[at], side="right") - 1
            out[at] = self._offsets[z][idx]
        return out

    def local_seconds(self, zone: I64, seconds: I64) -> I64:
        """Wall-clock seconds since 1970-01-01 00:00 local."""
        return seconds + self.offset(zone, seconds)

    def wall_table(self, first_day: int, last_day: int, minute: int) -> I64:
        """``[zone, day - first_day]``: the instant of each local day at ``minute``."""
        days = range(first_day, last_day + 1)
        return np.array([[wall_instant(z, d, minute) for d in days] for z in self.zones],
                        dtype=np.int64).reshape(len(self.zones), len(days))


def civil(days: I64) -> tuple[I64, I64, I64]:
    """Year, month and day of days since 1970-01-01."""
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def day_number(year: Any, month: Any, day: Any) -> I64:
    """Days since 1970-01-01 of year/month/day (arrays; day must exist in the month)."""
    months = (np.asarray(year, dtype=np.int64) - 1970) * 12 + np.asarray(month, dtype=np.int64) - 1
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return np.asarray(first + np.asarray(day, dtype=np.int64) - 1, dtype=np.int64)


def is_leap(year: I64) -> Bools:
    return np.asarray((year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0)))
