"""When a scheduled job is due: a schedule names its slots (instants), and a worker runs the
latest slot that has come (:func:`latest_slot`). Daily slots are at a local time of the
company's time zone, so "06:00" stays 06:00 across daylight saving changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from patronage.clock import require_aware
from patronage.errors import PatronageError


@dataclass(frozen=True)
class Daily:
    """Once a day at ``at``, local time of the company's zone."""

    at: time

    def describe(self) -> str:
        return f"daily at {self.at.strftime('%H:%M')}"


@dataclass(frozen=True)
class Every:
    """Every ``minutes`` minutes, on the multiples of that many minutes since midnight UTC."""

    minutes: int

    def __post_init__(self) -> None:
        if not 1 <= self.minutes <= 24 * 60 or (24 * 60) % self.minutes:
            raise PatronageError(f"schedule: every {self.minutes} minutes does not divide a "
                                 "day; use a divisor of 1440")

    def describe(self) -> str:
        return f"every {self.minutes} minutes"


Schedule = Daily | Every


def latest_slot(schedule: Schedule, now: datetime, zone: ZoneInfo) -> datetime:
    """The latest slot of ``schedule`` at or before ``now``, as UTC."""
    now = require_aware(now, place="now").astimezone(UTC)
    if isinstance(schedule, Every):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        step = timedelta(minutes=schedule.minutes)
        return midnight + ((now - midnight) // step) * step
    local_day = now.astimezone(zone).date()
    for day in (local_day, local_day - timedelta(days=1)):
        slot = datetime.combine(day, schedule.at, zone).astimezone(UTC)
        if slot <= now:
            return slot
    raise AssertionError("unreachable: yesterday's slot is always before now")


def slot_day(slot: datetime, zone: ZoneInfo) -> datetime:
    """The slot in the company's zone (the day a daily job works on)."""
    return slot.astimezone(zone)
