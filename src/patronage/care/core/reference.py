"""The care planner written the obvious way: member by member, rule by rule, with ``datetime``
and ``zoneinfo``. Slow; it is the oracle the vectorised :mod:`patronage.care.core.planner` is held
equal to (property tests on random facts), and the place to read what a tick means.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from patronage.care.core.facts import (
    ADDRESS_OF,
    ALREADY,
    CAP,
    CONSENT_OF,
    HOLDOUT,
    MUTED,
    NO_ADDRESS,
    NO_CONSENT,
    NO_OWNER,
    PLANNED,
    SUPPRESSED,
    SUPPRESSION_OF,
    TERMINATED,
    CareFacts,
    Plan,
    holdout_draw,
    spread_phase,
)
from patronage.care.core.rules import Rule, Rules, Settings, minutes
from patronage.facts import KIND_DISTRIBUTOR

DAY = 86_400


def _on(year: int, month: int, day: int, feb29: str) -> date | None:
    """A yearly date in ``year``; February 29 moves by the policy in other years."""
    if (month, day) == (2, 29) and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return date(year, 2, 28) if feb29 == "feb28" else date(year, 3, 1)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _at(day: date, minute: int, zone: ZoneInfo) -> int:
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
    return int(local.timestamp())


def out_of_quiet_hours(due: int, zone: ZoneInfo, s: Settings) -> int:
    """``due``, or the end of the quiet hours it falls in (member's local time)."""
    local = datetime.fromtimestamp(due, zone)
    minute = local.hour * 60 + local.minute
    if not s.in_quiet_hours(minute):
        return due
    day = local.date()
    if minutes(s.quiet_start) > minutes(s.quiet_end) and minute >= minutes(s.quiet_start):
        day += timedelta(days=1)
    return _at(day, minutes(s.quiet_end), zone)


def _yearly(rule: Rule, rules: Rules, dates: list[tuple[int, date]], zone: ZoneInfo,
            lo: int, hi: int) -> list[tuple[int, int]]:
    s = rules.settings
    lead = rule.lead_days + (s.card_lead_days if rule.channel == "card" else 0)
    out = []
    for key, day in dates:
        due = _at(day - timedelta(days=lead), minutes(s.send_time), zone)
        if lo < due <= hi:
            out.append((key, due))
    return out


def occurrences(rule: Rule, rules: Rules, f: CareFacts, m: int, now: int, lo: int, hi: int,
                events: dict[str, dict[int, list[tuple[int, int, int]]]],
                ) -> list[tuple[int, int]]:
    """(occasion key number, due instant) of ``rule``'s occasions for member row ``m`` whose
    due instant falls in ``(lo, hi]``."""
    s = rules.settings
    zone = ZoneInfo(f.zones[int(f.zone[m])])
    year = datetime.fromtimestamp(now, UTC).year
    years = (year - 1, year, year + 1)
    occ = rule.occasion
    if occ == "birthday":
        bm, bd = int(f.birth_month[m]), int(f.birth_day[m])
        if bm == 0 or _on(2000, bm, bd, s.feb29) is None:
            return []
        return _yearly(rule, rules, [(y, d) for y in years
                                     if (d := _on(y, bm, bd, s.feb29)) is not None],
                       zone, lo, hi)
    if occ == "anniversary":
        joined = datetime.fromtimestamp(int(f.joined_at[m]), zone).date()
        return _yearly(rule, rules, [(y, d) for y in years if y > joined.year
                                     if (d := _on(y, joined.month, joined.day, s.feb29))
                                     is not None], zone, lo, hi)
    if occ == "holiday":
        names = rule.holidays or tuple(rules.holidays)
        dates = [(d.year * 10000 + d.month * 100 + d.day, d) for name in names for y in years
                 if (d := rules.holidays[name].on(y)) is not None]
        return _yearly(rule, rules, dates, zone, lo, hi)
    quiet = rule.channel in ("email", "sms")
    out = []
    if occ in ("no_touch", "value_at_risk"):
        if occ == "no_touch":
            assert rule.days is not None
            anchor = max(int(f.joined_at[m]), int(f.last_touch[m]))
            moment = anchor + rule.days * DAY
            if moment <= lo:
                # Overdue: the member's own place in every window of that many days, the
                # first one after the tick window's start.
                period = rule.days * DAY
                phase = spread_phase(int(f.member_id[m]), s.holdout_salt, period)
                moment = lo + 1 + (phase - lo - 1) % period
            if moment > hi:
                return []
            d = datetime.fromtimestamp(moment, UTC).date()
            key = d.year * 10000 + d.month * 100 + d.day
            due = moment
        else:
            assert rule.min_value is not None
            if int(f.value_at_risk[m]) < max(rule.min_value, 0):
                return []
            local = datetime.fromtimestamp(now, zone)
            key, due = local.year * 100 + local.month, now
        due = out_of_quiet_hours(due, zone, s) if quiet else due
        return [(key, due)] if lo < due <= hi else []
    source = "order" if occ == "first_order" else occ
    for at, key, ordinal in events.get(source, {}).get(m, []):
        if occ == "first_order" and ordinal != 1:
            continue
        if occ == "order" and ordinal % rule.every:
            continue
        due = at + rule.delay_days * DAY
        if quiet and lo - DAY < due <= hi:
            due = out_of_quiet_hours(due, zone, s)
        if lo < due <= hi:
            out.append((key, due))
    return out


def _audience(rule: Rule, kind: int) -> bool:
    if rule.audience == "all":
        return True
    return (kind == KIND_DISTRIBUTOR) == (rule.audience == "distributors")


def _reason(rule: Rule, f: CareFacts, m: int, s: Settings, owner: int, person: bool) -> int:
    """The first reason not to make the touch; ``person`` False: a contact's touch filed under
    the distributor who met them (only their status and the owner count)."""
    ch = rule.channel
    if f.terminated[m]:
        return TERMINATED
    if not person:
        return NO_OWNER if owner < 0 else PLANNED
    if holdout_draw(int(f.member_id[m]), s.holdout_salt) < s.holdout_share:
        return HOLDOUT
    if f.suppressed[SUPPRESSION_OF[ch]][m]:
        return SUPPRESSED
    if ch in CONSENT_OF:
        given = int(f.consent[CONSENT_OF[ch]][m])
        ok = given != -1 if ch == "card" and s.card_basis == "legitimate_interest" else given == 1
        if not ok:
            return NO_CONSENT
    if ch in ADDRESS_OF and not f.has_address[ADDRESS_OF[ch]][m]:
        return NO_ADDRESS
    if ch == "task" and owner < 0:
        return NO_OWNER
    if rule.muted_in_recovery and f.recovering[m]:
        return MUTED
    return PLANNED


def plan_reference(now: datetime, f: CareFacts, rules: Rules, *, horizon_days: int = 1) -> Plan:
    """Every touch due in ``(now - lookback, now + horizon]``, planned or not, and why."""
    s = rules.settings
    active = rules.active
    now_s = int(now.timestamp())
    lo, hi = now_s - s.lookback_days * DAY, now_s + horizon_days * DAY
    events: dict[str, dict[int, list[tuple[int, int, int]]]] = {}
    for name, ev in f.events.items():
        per: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for m, at, key, ordinal in zip(ev.member.tolist(), ev.at.tolist(), ev.key.tolist(),
                                       ev.ordinal.tolist(), strict=True):
            per[m].append((at, key, ordinal))
        events[name] = per
    existing = {tuple(row) for row in f.existing.tolist()}
    met = {(r, k) for r, _, k in existing if k < 0 and active[r].occasion == "new_contact"}
    found: dict[tuple[int, int, int], int] = {}
    owner_of: dict[tuple[int, int, int], tuple[int, bool]] = {}
    for m in range(f.size):
        if f.erased[m]:
            continue
        for r, rule in enumerate(active):
            if not _audience(rule, int(f.kind[m])):
                continue
            for key, due in occurrences(rule, rules, f, m, now_s, lo, hi, events):
                triple = (r, m, key)
                found[triple] = min(due, found.get(triple, due))
                owner_of[triple] = (int(f.owner[m]), True)
    for r, rule in enumerate(active):
        if rule.occasion != "new_contact" or rule.channel != "task":
            continue
        for contact, linked, owner, at in zip(f.contacts.key.tolist(),
                                              f.contacts.member.tolist(),
                                              f.contacts.owner.tolist(), f.contacts.at.tolist(),
                                              strict=True):
            m = linked if linked >= 0 else owner
            due = at + rule.delay_days * DAY
            if m < 0 or f.erased[m] or not lo < due <= hi:
                continue
            if owner >= 0 and (f.erased[owner] or f.terminated[owner]):
                owner = -1
            found[(r, m, -contact)] = due
            owner_of[(r, m, -contact)] = (owner, linked >= 0)
    rows = []
    for (r, m, key), due in found.items():
        owner, person = owner_of[(r, m, key)]
        # A contact's touch is once per (rule, contact), whoever it is filed under.
        contact_key = key < 0 and active[r].occasion == "new_contact"
        if (r, key) in met if contact_key else (r, m, key) in existing:
            reason = ALREADY
        else:
            reason = _reason(active[r], f, m, s, owner, person)
        rows.append([r, m, key, due, reason, owner])
    caps = {"email": s.caps.email, "card": s.caps.card, "sms": s.caps.sms}
    groups: dict[tuple[str, int], list[list[int]]] = defaultdict(list)
    for row in rows:
        if row[4] == PLANNED:
            ch = active[row[0]].channel
            groups[(ch, row[5] if ch == "task" else row[1])].append(row)
    for (channel, who), members in groups.items():
        members.sort(key=lambda row: (-active[row[0]].priority, row[3], row[0], row[1], row[2]))
        if channel == "task":
            room = s.caps.tasks_per_owner_per_day - int(f.owner_tasks[who])
        else:
            room = caps[channel].max - int(f.recent[channel][who])
        for row in members[max(room, 0):]:
            row[4] = CAP
    a = np.array(rows, dtype=np.int64).reshape(-1, 6)
    return Plan(*(a[:, i].copy() for i in range(6)))
