"""Care rules as data: a TOML file read into typed, validated objects.

The file has three parts: ``[settings]`` (send time, quiet hours, frequency caps, holdout share,
postal lead days for cards, the February 29 policy...), ``[holidays]`` (name = when, see
:mod:`patronage.care.core.holidays`) and ``[[rules]]``, each naming an occasion, a channel, a
template, a priority, an audience and its timing. Every problem in a file is reported at once,
each naming the file, the key path and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from patronage.care.core.holidays import HolidayRule, parse_holiday
from patronage.care.core.occasions import CALENDAR, MUTED_IN_RECOVERY, OCCASIONS, Occasion
from patronage.errors import Problem, Problems, read_toml, validation_problems

Channel = Literal["email", "card", "task", "sms"]
Audience = Literal["customers", "distributors", "all"]
CHANNELS: tuple[str, ...] = ("email", "card", "task", "sms")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    m = _CLOCK.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a time of day written HH:MM (00:00 to 23:59)")
    return time(int(m.group(1)), int(m.group(2)))


def minutes(t: time) -> int:
    return t.hour * 60 + t.minute


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cap(_Strict):
    """At most ``max`` touches on a channel per member in any ``days`` days."""

    max: int = Field(ge=0, le=100)
    days: int = Field(ge=1, le=366)


class Caps(_Strict):
    email: Cap = Cap(max=1, days=7)
    card: Cap = Cap(max=2, days=30)
    sms: Cap = Cap(max=1, days=7)
    #: New personal tasks per distributor in any 24 hours.
    tasks_per_owner_per_day: int = Field(default=20, ge=0, le=1000)


class Settings(_Strict):
    send_time: time = time(10, 0)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    #: How far back a tick still plans what it missed (a stopped tick catches up this much, and
    #: no further: a member added late gets no burst of back-dated touches).
    lookback_days: int = Field(default=3, ge=0, le=30)
    card_lead_days: int = Field(default=7, ge=0, le=60)
    #: ``consent``: a card needs post consent; ``legitimate_interest``: a card may be sent
    #: unless post consent was withdrawn.
    card_basis: Literal["consent", "legitimate_interest"] = "legitimate_interest"
    feb29: Literal["feb28", "mar1"] = "feb28"
    holdout_share: float = Field(default=0.05, ge=0.0, le=0.5)
    holdout_salt: str = Field(default="patronage-care", min_length=1, max_length=100)
    caps: Caps = Caps()

    @field_validator("send_time", "quiet_start", "quiet_end", mode="before")
    @classmethod
    def _time(cls, v: Any) -> time:
        return _clock(v)

    def in_quiet_hours(self, minute_of_day: int) -> bool:
        start, end = minutes(self.quiet_start), minutes(self.quiet_end)
        if start == end:
            return False
        if start < end:
            return start <= minute_of_day < end
        return minute_of_day >= start or minute_of_day < end


class Rule(_Strict):
    """One rule: on ``occasion``, a touch on ``channel`` with ``template``.

    ``delay_days`` waits after an event; ``lead_days`` plans a calendar occasion ahead (cards get
    the postal lead days on top); ``every`` thanks every Nth order; ``days`` is the gap for
    ``no_touch``; ``min_value`` (currency units) the value at risk that triggers
    ``value_at_risk``; ``holidays`` limits a holiday rule to some holidays (empty: all). A
    ``task`` goes to the member's owner distributor (a distributor's sponsor)."""

    key: str
    occasion: Occasion
    channel: Channel
    template: str
    priority: int = Field(default=50, ge=0, le=100)
    audience: Audience = "customers"
    delay_days: int = Field(default=0, ge=0, le=365)
    lead_days: int = Field(default=0, ge=0, le=60)
    every: int = Field(default=1, ge=1, le=1000)
    days: int | None = Field(default=None, ge=1, le=3650)
    min_value: int | None = None
    holidays: tuple[str, ...] = ()
    mute_in_recovery: bool | None = None
    enabled: bool = True
    #: A sample or gift sent with the card: a product's SKU (a zero-price, non-commissionable
    #: order, paid from a gift budget; :mod:`patronage.care.gifts`).
    gift: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("key", "template")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r} is not a plain name (lower-case letters, digits, _)")
        return v

    @field_validator("min_value", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> int | None:
        if v is None:
            return None
        try:
            d = Decimal(str(v))
        except InvalidOperation:
            raise ValueError(f"{v!r} is not an amount") from None
        if d < 0 or d * 100 != (d * 100).to_integral_value():
            raise ValueError(f"{v} is not a non-negative amount with at most 2 decimals")
        return int(d * 100)

    @property
    def muted_in_recovery(self) -> bool:
        if self.mute_in_recovery is not None:
            return self.mute_in_recovery
        return self.occasion in MUTED_IN_RECOVERY


class Rules(_Strict):
    settings: Settings = Settings()
    holidays: dict[str, HolidayRule] = {}
    rules: tuple[Rule, ...] = ()

    @field_validator("holidays", mode="before")
    @classmethod
    def _holidays(cls, v: Any) -> dict[str, HolidayRule]:
        if not isinstance(v, dict):
            raise ValueError("write holidays as a table: name = \"when\"")
        out = {}
        for name, spec in v.items():
            if isinstance(spec, HolidayRule):
                out[name] = spec
                continue
            if not isinstance(spec, str):
                raise ValueError(f"{name}: write the date as text, e.g. \"12-25\"")
            try:
                out[name] = parse_holiday(spec)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return out

    @property
    def active(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)

    def rule_index(self) -> dict[str, int]:
        """Each rule key's first position among the active rules (the rules of several
        playbooks, combined, may hold one key more than once)."""
        out: dict[str, int] = {}
        for i, r in enumerate(self.active):
            out.setdefault(r.key, i)
        return out


def _check(rules: Rules) -> list[tuple[str, str]]:
    """What pydantic cannot see: names used twice, options that do not fit the occasion."""
    problems: list[tuple[str, str]] = []
    s = rules.settings
    if s.in_quiet_hours(minutes(s.send_time)):
        problems.append(("settings.send_time", f"{s.send_time:%H:%M} is inside the quiet hours "
                         f"{s.quiet_start:%H:%M}-{s.quiet_end:%H:%M}"))
    seen: set[str] = set()
    for i, r in enumerate(rules.rules):
        at = f"rules[{i}]"
        if r.key in seen:
            problems.append((f"{at}.key", f"{r.key!r} is used by an earlier rule"))
        seen.add(r.key)
        if r.lead_days and r.occasion not in CALENDAR:
            problems.append((f"{at}.lead_days", f"only calendar occasions ({', '.join(CALENDAR)})"
                             f" can be planned ahead; {r.occasion!r} is not one"))
        if r.delay_days and r.occasion in CALENDAR:
            problems.append((f"{at}.delay_days", f"{r.occasion!r} happens on its day: use "
                             "lead_days to plan it ahead"))
        if r.every != 1 and r.occasion != "order":
            problems.append((f"{at}.every", "only the 'order' occasion counts every Nth"))
        if r.occasion == "no_touch" and r.days is None:
            problems.append((f"{at}.days", "'no_touch' needs days (the gap without a personal "
                             "touch)"))
        if r.days is not None and r.occasion != "no_touch":
            problems.append((f"{at}.days", "only 'no_touch' takes days"))
        if r.occasion == "value_at_risk" and r.min_value is None:
            problems.append((f"{at}.min_value", "'value_at_risk' needs min_value (an amount)"))
        if r.min_value is not None and r.occasion != "value_at_risk":
            problems.append((f"{at}.min_value", "only 'value_at_risk' takes min_value"))
        if r.gift is not None and r.channel != "card":
            problems.append((f"{at}.gift", "only a card carries a gift (channel = \"card\")"))
        if r.holidays and r.occasion != "holiday":
            problems.append((f"{at}.holidays", "only the 'holiday' occasion names holidays"))
        for j, name in enumerate(r.holidays):
            if name not in rules.holidays:
                problems.append((f"{at}.holidays[{j}]", f"unknown holiday {name!r} (define it "
                                 "under [holidays])"))
        if r.occasion == "holiday" and not rules.holidays:
            problems.append((f"{at}.occasion", "a holiday rule needs holidays under [holidays]"))
    return problems


def _rules_reason(loc: str, err: Mapping[str, Any]) -> str | None:
    """An unknown occasion or channel, with the known ones."""
    if loc.startswith("rules") and loc.endswith(".occasion") and "literal" in err["type"]:
        return f"unknown occasion {err['input']!r} (known: {', '.join(OCCASIONS)})"
    if loc.endswith(".channel") and "literal" in err["type"]:
        return f"unknown channel {err['input']!r} (known: {', '.join(CHANNELS)})"
    return None


def _file_place(loc: str) -> str:
    """The quiet hours as the file writes them: one pair, not two fields."""
    return loc.replace("settings.quiet_start", "settings.quiet_hours[0]").replace(
        "settings.quiet_end", "settings.quiet_hours[1]")


def parse_rules(data: dict[str, Any], source: str = "rules") -> Rules:
    """Validate rules data (as read from TOML); raises :class:`Problems` listing everything."""
    data = dict(data)
    settings = data.get("settings")
    if isinstance(settings, dict) and isinstance(settings.get("quiet_hours"), list | tuple):
        settings = dict(settings)
        quiet = settings.pop("quiet_hours")
        if len(quiet) == 2:
            settings["quiet_start"], settings["quiet_end"] = quiet
        else:
            settings["quiet_start"] = "quiet_hours needs [start, end]"
        data["settings"] = settings
    problems: list[Problem] = []
    try:
        rules = Rules.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(exc.errors(), source, place=_file_place,
                                        reason=_rules_reason)
        raise Problems(f"{source}: the care rules are not valid", problems) from None
    problems += [Problem(f"{source}: {p}", r) for p, r in _check(rules)]
    if problems:
        raise Problems(f"{source}: the care rules are not valid", problems)
    return rules


def load_rules(path: Path | None = None) -> Rules:
    """Read and validate a rules file (default: the rules shipped with Patronage)."""
    path = path or default_rules_path()
    return parse_rules(read_toml(path, "rules file"), str(path))


def default_rules_path() -> Path:
    return Path(__file__).parent.parent / "rules" / "default.toml"
