"""The care planner: a pure function of (now, facts, rules) to the touches of one tick.

A tick considers every occasion whose touch falls due in ``(now - lookback, now + horizon]``:

- calendar occasions on the member's *local* date at the send time (birthdays without a year,
  February 29 moved by the policy in other years; printed cards the postal lead days early, so
  they arrive on the day);
- events (an order, a referral...) ``delay_days`` after the instant they happened;
- states: ``no_touch`` N days after the last personal touch, or, once that moment is older
  than the lookback window, at the member's stable place in every N-day window (a hash of the
  member id: a new company's overdue check-ins are spread over N days, not due at once);
  ``value_at_risk`` once a month, now;
- for ``new_contact`` task rules, also each contact a distributor met (the ``contacts``
  table): a task for that distributor, about the linked member or else the distributor, once
  per contact.

Emails and texts falling in the quiet hours move to their end, in the member's zone. Then each
touch is planned, or not, for the first reason that holds: already planned before; member
terminated; holdout; suppressed; no consent; no address; no owner (for a task); muted while an
autoship payment is being recovered; over the frequency cap (per member and channel, or tasks
per distributor per day), where higher priority goes first and the rest are dropped, not queued
(a state occasion's key is its window, so a dropped check-in comes back in its next window).
Erased members get nothing at all.

Everything is done on arrays (numpy), per rule, with time zones handled per zone: one day for a
million customers plans in a few seconds. :mod:`patronage.care.core.reference` says the same thing
member by member; property tests hold the two equal.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from patronage.arrays import F64, I64, Bools
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
    holdout_draws,
    spread_phases,
)
from patronage.care.core.playbooks import COMPANY, Playbooks, member_playbooks
from patronage.care.core.rules import Rule, Rules, Settings, minutes
from patronage.care.core.zones import DAY, ZoneTable, civil, day_number, is_leap
from patronage.facts import KIND_DISTRIBUTOR

_MAX_LEAD = 60 + 60  # rule lead days + postal lead days, at most


class _Tick:
    """What every rule of one tick shares: the window, zone tables, member days."""

    def __init__(self, now: datetime, f: CareFacts, rules: Rules, horizon_days: int) -> None:
        s = self.s = rules.settings
        self.f, self.rules = f, rules
        self.now = int(now.timestamp())
        self.lo = self.now - s.lookback_days * DAY
        self.hi = self.now + horizon_days * DAY
        self.year = datetime.fromtimestamp(self.now, UTC).year
        zone_idx = np.arange(len(f.zones), dtype=np.int64)
        start = min(int(f.joined_at.min()) if f.size else self.lo, self.lo - 2 * DAY)
        self.zt = ZoneTable(f.zones, start, self.hi + 2 * DAY)
        # Local days of the window's edges in every zone bound the day tables.
        self.d0 = int((self.zt.local_seconds(zone_idx, np.full(len(f.zones), self.lo - 2 * DAY))
                       // DAY).min()) if f.zones else 0
        self.d1 = int((self.zt.local_seconds(zone_idx, np.full(len(f.zones), self.hi + 2 * DAY))
                       // DAY).max()) if f.zones else 0
        self._send: I64 | None = None
        self._quiet: I64 | None = None
        self._joined: tuple[I64, I64, I64] | None = None

    @property
    def send(self) -> I64:
        """[zone, day - d0]: instant of the send time, days d0 - max lead .. d1 + max lead."""
        if self._send is None:
            self._send = self.zt.wall_table(self.d0 - _MAX_LEAD, self.d1 + _MAX_LEAD,
                                            minutes(self.s.send_time))
        return self._send

    @property
    def quiet_end(self) -> I64:
        if self._quiet is None:
            self._quiet = self.zt.wall_table(self.d0 - 2, self.d1 + 2, minutes(self.s.quiet_end))
        return self._quiet

    @property
    def joined_local(self) -> tuple[I64, I64, I64]:
        if self._joined is None:
            f = self.f
            self._joined = civil(self.zt.local_seconds(f.zone, f.joined_at) // DAY)
        return self._joined

    def at_send_time(self, zone: I64, day: I64) -> tuple[I64, Bools]:
        """Instants of local ``day`` at the send time; False where the day is off the table."""
        first = self.d0 - _MAX_LEAD
        i = day - first
        ok = (i >= 0) & (i < self.send.shape[1])
        out = np.zeros(day.shape[0], dtype=np.int64)
        out[ok] = self.send[zone[ok], i[ok]]
        return out, ok

    def out_of_quiet_hours(self, zone: I64, due: I64) -> I64:
        s = self.s
        local = self.zt.local_seconds(zone, due)
        minute = (local // 60) % 1440
        start, end = minutes(s.quiet_start), minutes(s.quiet_end)
        if start == end:
            return due
        quiet = (minute >= start) & (minute < end) if start < end else \
            (minute >= start) | (minute < end)
        if not quiet.any():
            return due
        day = local // DAY + ((minute >= start) if start > end else 0)
        out = due.copy()
        i = (day - (self.d0 - 2))[quiet]
        out[quiet] = self.quiet_end[zone[quiet], i]
        return out


def _audience(rule: Rule, kind: I64) -> Bools:
    if rule.audience == "all":
        return np.ones(kind.shape[0], dtype=bool)
    return np.asarray((kind == KIND_DISTRIBUTOR) == (rule.audience == "distributors"))


def _yearly_day(t: _Tick, month: I64, day: I64, year: int) -> tuple[I64, Bools]:
    """Local day numbers of month/day in ``year`` (Feb 29 by the policy); valid mask."""
    feb29 = (month == 2) & (day == 29)
    years = np.full(month.shape[0], year, dtype=np.int64)
    m, d = month.copy(), day.copy()
    if not is_leap(np.array([year]))[0]:
        if t.s.feb29 == "feb28":
            d[feb29] = 28
        else:
            m[feb29], d[feb29] = 3, 1
    length = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 1, 12) - 1]
    ok = (m >= 1) & (m <= 12) & (d >= 1) & (d <= length)
    out = np.zeros(month.shape[0], dtype=np.int64)
    out[ok] = day_number(years[ok], m[ok], d[ok])
    return out, ok


def _calendar(t: _Tick, rule: Rule, who: I64) -> tuple[I64, I64, I64]:
    f, s = t.f, t.s
    lead = rule.lead_days + (s.card_lead_days if rule.channel == "card" else 0)
    members, keys, dues = [], [], []
    if rule.occasion == "holiday":
        names = rule.holidays or tuple(t.rules.holidays)
        zones = np.arange(len(f.zones), dtype=np.int64)
        for name in names:
            for year in (t.year - 1, t.year, t.year + 1):
                on = t.rules.holidays[name].on(year)
                if on is None:
                    continue
                num = int(day_number(np.array([on.year]), np.array([on.month]),
                                     np.array([on.day]))[0])
                due, ok = t.at_send_time(zones, np.full(zones.shape[0], num - lead,
                                                        dtype=np.int64))
                hit = ok & (due > t.lo) & (due <= t.hi)
                if not hit.any():
                    continue
                at = hit[f.zone[who]]
                members.append(who[at])
                keys.append(np.full(int(at.sum()), on.year * 10000 + on.month * 100 + on.day))
                dues.append(due[f.zone[who[at]]])
    else:
        if rule.occasion == "birthday":
            month, day = f.birth_month[who], f.birth_day[who]
            since = np.zeros(who.shape[0], dtype=np.int64)
        else:
            jy, jm, jd = t.joined_local
            month, day, since = jm[who], jd[who], jy[who]
        for year in (t.year - 1, t.year, t.year + 1):
            occurs, ok = _yearly_day(t, month, day, year)
            ok &= since < year
            due, in_table = t.at_send_time(f.zone[who], occurs - lead)
            hit = ok & in_table & (due > t.lo) & (due <= t.hi)
            members.append(who[hit])
            keys.append(np.full(int(hit.sum()), year))
            dues.append(due[hit])
    return _cat(members), _cat(keys), _cat(dues)


def _cat(parts: list[I64]) -> I64:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def _events(t: _Tick, rule: Rule, alive: Bools) -> tuple[I64, I64, I64]:
    f = t.f
    ev = f.events.get("order" if rule.occasion == "first_order" else rule.occasion)
    if ev is None or not ev.member.shape[0]:
        return _cat([]), _cat([]), _cat([])
    due = ev.at + rule.delay_days * DAY
    keep = alive[ev.member] & (due > t.lo - DAY) & (due <= t.hi)
    if rule.occasion == "first_order":
        keep &= ev.ordinal == 1
    elif rule.occasion == "order":
        keep &= ev.ordinal % rule.every == 0
    member, key, due = ev.member[keep], ev.key[keep], due[keep]
    if rule.channel in ("email", "sms"):
        due = t.out_of_quiet_hours(f.zone[member], due)
    hit = (due > t.lo) & (due <= t.hi)
    return member[hit], key[hit], due[hit]


def _states(t: _Tick, rule: Rule, who: I64) -> tuple[I64, I64, I64]:
    f = t.f
    if rule.occasion == "no_touch":
        assert rule.days is not None
        moment = np.maximum(f.joined_at[who], f.last_touch[who]) + rule.days * DAY
        period = rule.days * DAY
        # Overdue: the first instant after the window's start at the member's place in the
        # N-day cycle (stable from tick to tick).
        slot = t.lo + 1 + np.mod(spread_phases(f.member_id[who], t.s.holdout_salt, period)
                                 - t.lo - 1, period)
        moment = np.where(moment > t.lo, moment, slot)
        keep = moment <= t.hi
        who, moment = who[keep], moment[keep]
        y, m, d = civil(moment // DAY)
        key = y * 10000 + m * 100 + d
        due = moment
    else:
        assert rule.min_value is not None
        who = who[f.value_at_risk[who] >= max(rule.min_value, 0)]
        y, m, _ = civil(t.zt.local_seconds(f.zone[who], np.full(who.shape[0], t.now)) // DAY)
        key = y * 100 + m
        due = np.full(who.shape[0], t.now, dtype=np.int64)
    if rule.channel in ("email", "sms"):
        due = t.out_of_quiet_hours(f.zone[who], due)
    hit = (due > t.lo) & (due <= t.hi)
    return who[hit], key[hit], due[hit]


def _reasons(t: _Tick, rule: Rule, member: I64, draws: F64, owner: I64,
             person: Bools) -> I64:
    """The first reason not to make each touch (0: none). ``person`` is False for a contact's
    touch filed under the distributor who met them: the distributor's own holdout, addresses
    and recovery do not apply."""
    f, s, ch = t.f, t.s, rule.channel
    reason = np.zeros(member.shape[0], dtype=np.int64)

    def mark(cond: Bools, code: int) -> None:
        reason[(reason == PLANNED) & cond] = code

    mark(f.terminated[member], TERMINATED)
    mark(person & (draws[member] < s.holdout_share), HOLDOUT)
    mark(person & f.suppressed[SUPPRESSION_OF[ch]][member], SUPPRESSED)
    if ch in CONSENT_OF:
        given = f.consent[CONSENT_OF[ch]][member]
        lawful = given != -1 if ch == "card" and s.card_basis == "legitimate_interest" else \
            given == 1
        mark(person & ~lawful, NO_CONSENT)
    if ch in ADDRESS_OF:
        mark(person & ~f.has_address[ADDRESS_OF[ch]][member], NO_ADDRESS)
    if ch == "task":
        mark(owner < 0, NO_OWNER)
    if rule.muted_in_recovery:
        mark(person & f.recovering[member], MUTED)
    return reason


def _contacts(t: _Tick, rule: Rule, alive: Bools,
              held: tuple[Bools, bool] | None) -> tuple[I64, I64, I64, I64, Bools]:
    """A ``new_contact`` task rule's touches for the contacts distributors met: member row (the
    linked member, else the distributor), key (``-contact id``), due, owner row, and whether
    the touch is about a member (linked). ``held``: whether the playbook each distributor (by
    member row) adopted holds this rule, and whether the company's does (for contacts whose
    distributor is unknown); ``None``: everyone's does."""
    f, c = t.f, t.f.contacts
    linked = c.member >= 0
    member = np.where(linked, c.member, c.owner)
    due = c.at + rule.delay_days * DAY
    keep = (member >= 0) & (due > t.lo) & (due <= t.hi)
    if held is not None:
        by_owner, company = held
        keep &= np.where(c.owner >= 0, by_owner[np.maximum(c.owner, 0)], company)
    keep[keep] = alive[member[keep]]
    member, owner, linked = member[keep], c.owner[keep], linked[keep]
    known = owner >= 0
    gone = np.zeros(owner.shape[0], dtype=bool)
    gone[known] = f.erased[owner[known]] | f.terminated[owner[known]]
    owner = np.where(known & ~gone, owner, -1)
    return member, -c.key[keep], due[keep], owner, linked


def _identity(active: tuple[Rule, ...], rule: I64, member: I64, key: I64) -> I64:
    """The member part of a touch's identity: a contact's touch is one per (rule, contact),
    whoever it is filed under (the contact may be linked to a member later)."""
    contact_rule = np.array([r.occasion == "new_contact" for r in active], dtype=bool)
    if not contact_rule.shape[0]:
        return member
    return np.where(contact_rule[rule] & (key < 0), 0, member)


def _already(existing: I64, rule: I64, member: I64, key: I64) -> Bools:
    """Which (rule, member, key) rows are among the stored ones (sorted together, stored rows
    first within equal triples)."""
    if not existing.shape[0] or not rule.shape[0]:
        return np.zeros(rule.shape[0], dtype=bool)
    k = existing.shape[0]
    who = np.concatenate([existing[:, 0] << 40 | existing[:, 1], rule << 40 | member])
    what = np.concatenate([existing[:, 2], key])
    candidate = np.arange(who.shape[0]) >= k
    order = np.lexsort((candidate, what, who))
    w, x = who[order], what[order]
    start = np.ones(order.shape[0], dtype=bool)
    start[1:] = (w[1:] != w[:-1]) | (x[1:] != x[:-1])
    group = np.cumsum(start) - 1
    stored = np.zeros(int(group[-1]) + 1, dtype=bool)
    stored[group[~candidate[order]]] = True
    out = np.empty(who.shape[0], dtype=bool)
    out[order] = stored[group]
    return np.asarray(out[k:])


#: Channels in the order the caps are worked out; tasks are capped per owner, not member.
_CAPPED = ("email", "card", "sms", "task")
_TASK = _CAPPED.index("task")


def _caps(t: _Tick, active: tuple[Rule, ...], p: Plan) -> None:
    """Drop (reason ``cap``) what exceeds each member's channel cap or a distributor's tasks
    per day: higher priority first, then earlier, then rule order."""
    s, f = t.s, t.f
    live = np.flatnonzero(p.reason == PLANNED)
    if not live.shape[0]:
        return
    channel_of = {name: code for code, name in enumerate(_CAPPED)}
    channel = np.array([channel_of[r.channel] for r in active], dtype=np.int64)[p.rule[live]]
    priority = np.array([r.priority for r in active], dtype=np.int64)[p.rule[live]]
    member = p.member[live]
    who = np.where(channel == _TASK, p.owner[live], member)
    order = np.lexsort((p.key[live], member, p.rule[live], p.due[live], -priority, who,
                        channel))
    g_channel, g_who = channel[order], who[order]
    start = np.ones(order.shape[0], dtype=bool)
    start[1:] = (g_channel[1:] != g_channel[:-1]) | (g_who[1:] != g_who[:-1])
    first = np.maximum.accumulate(np.where(start, np.arange(order.shape[0]), 0))
    rank = np.arange(order.shape[0]) - first
    room = np.zeros(order.shape[0], dtype=np.int64)
    for code, name in enumerate(_CAPPED[:_TASK]):
        at = g_channel == code
        cap = getattr(s.caps, name).max
        room[at] = cap - f.recent[name][g_who[at]]
    at = g_channel == _TASK
    room[at] = s.caps.tasks_per_owner_per_day - f.owner_tasks[g_who[at]]
    over = rank >= room
    p.reason[live[order[over]]] = CAP


def _occasions(t: _Tick, rule: Rule, who: I64) -> tuple[I64, I64, I64]:
    """A calendar or state rule's touches for members ``who`` (row by row: for a subset of
    them, the same rows)."""
    if rule.occasion in ("birthday", "anniversary", "holiday"):
        return _calendar(t, rule, who)
    return _states(t, rule, who)


def _timing(s: Settings, rule: Rule) -> tuple[object, ...]:
    """What a calendar or state rule's touches depend on, besides the members."""
    if rule.occasion in ("birthday", "anniversary", "holiday"):
        lead = rule.lead_days + (s.card_lead_days if rule.channel == "card" else 0)
        return rule.occasion, lead, rule.holidays
    return rule.occasion, rule.days, rule.min_value, rule.channel in ("email", "sms")


class _Groups:
    """Member rows by playbook, to pick the members of the playbooks holding a rule in time
    proportional to the fewer of those in and those out."""

    def __init__(self, group: I64, count: int) -> None:
        self.order = np.argsort(group, kind="stable")
        self.bounds = np.searchsorted(group[self.order], np.arange(count + 1))
        self.size = np.diff(self.bounds)
        self.in_use = self.size > 0

    def _rows(self, groups: Bools) -> I64:
        picked = np.flatnonzero(groups)
        if not picked.shape[0]:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([self.order[self.bounds[g]:self.bounds[g + 1]]
                               for g in picked.tolist()])

    def holding(self, holds: Bools, ok: Bools) -> Bools:
        """``ok`` where the member's playbook holds the rule (``holds`` by playbook)."""
        users, missing = holds & self.in_use, self.in_use & ~holds
        if not missing.any():
            return ok
        if int(self.size[users].sum()) <= int(self.size[missing].sum()):
            out = np.zeros(ok.shape[0], dtype=bool)
            out[self._rows(users)] = True
            out &= ok
            return out
        out = ok.copy()
        out[self._rows(missing)] = False
        return out


def plan_touches(now: datetime, f: CareFacts, rules: Rules, *, horizon_days: int = 1,
                 playbooks: Playbooks | None = None) -> Plan:
    """Every touch due in ``(now - lookback, now + horizon]``, planned or not, and why (see the
    module's description). With ``playbooks``, each member is planned by the playbook their
    owner adopted (rules are then ``playbooks.rules``, the distinct rules of all of them, and
    the plan's rule numbers are positions among those)."""
    if playbooks is not None:
        rules = playbooks.rules
        members = _Groups(member_playbooks(f.owner, playbooks.adopted), playbooks.count)
    t = _Tick(now, f, rules, horizon_days)
    active = rules.active
    alive = ~f.erased
    draws = holdout_draws(f.member_id, t.s.holdout_salt)
    parts: list[tuple[I64, ...]] = []
    audience: dict[str, Bools] = {}
    timed: dict[tuple[object, ...], tuple[I64, I64, I64]] = {}
    for r, rule in enumerate(active):
        if rule.audience not in audience:
            audience[rule.audience] = alive & _audience(rule, f.kind)
        ok = audience[rule.audience]
        held: tuple[Bools, bool] | None = None
        if playbooks is not None:
            holds = playbooks.holds[:, r]
            if not holds.any():
                continue
            ok = members.holding(holds, ok)
            if not holds.all() and rule.occasion == "new_contact":
                held = holds[playbooks.adopted], bool(holds[COMPANY])
        if rule.occasion in ("birthday", "anniversary", "holiday", "no_touch",
                             "value_at_risk") and playbooks is not None:
            # Many rules of many playbooks share their timing: each timing is worked out
            # once, for every living member, and each rule keeps its members' touches.
            timing = _timing(t.s, rule)
            if timing not in timed:
                timed[timing] = _occasions(t, rule, np.flatnonzero(alive))
            member, key, due = timed[timing]
            keep = ok[member]
            member, key, due = member[keep], key[keep], due[keep]
        elif rule.occasion in ("birthday", "anniversary", "holiday", "no_touch",
                               "value_at_risk"):
            member, key, due = _occasions(t, rule, np.flatnonzero(ok))
        else:
            member, key, due = _events(t, rule, ok)
        if member.shape[0]:
            owner = f.owner[member]
            parts.append((np.full(member.shape[0], r, dtype=np.int64), member, key, due,
                          _reasons(t, rule, member, draws, owner,
                                   np.ones(member.shape[0], dtype=bool)), owner))
        if rule.occasion == "new_contact" and rule.channel == "task":
            member, key, due, owner, person = _contacts(t, rule, alive, held)
            if member.shape[0]:
                parts.append((np.full(member.shape[0], r, dtype=np.int64), member, key, due,
                              _reasons(t, rule, member, draws, owner, person), owner))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Plan(*(empty.copy() for _ in range(6)))
    columns = tuple(np.concatenate(c) for c in zip(*parts, strict=True))
    # One row per (rule, member, key): the earliest due.
    rule_a, member, key, due = columns[:4]
    order = np.lexsort((due, key, member, rule_a))
    rule_a, member, key, due, reason, owner = (a[order] for a in columns)
    first = np.ones(rule_a.shape[0], dtype=bool)
    first[1:] = ((rule_a[1:] != rule_a[:-1]) | (member[1:] != member[:-1])
                 | (key[1:] != key[:-1]))
    rule_a, member, key, due, reason, owner = (a[first] for a in (rule_a, member, key, due,
                                                                  reason, owner))
    # A stored touch is known by its rule's key: rules of several playbooks may share one.
    index = rules.rule_index()
    key_of = np.array([index[r.key] for r in active], dtype=np.int64)
    existing = f.existing
    if existing.shape[0]:
        existing = np.stack([existing[:, 0], _identity(active, existing[:, 0], existing[:, 1],
                                                       existing[:, 2]), existing[:, 2]], axis=1)
    reason[_already(existing, key_of[rule_a], _identity(active, rule_a, member, key),
                    key)] = ALREADY
    plan = Plan(rule_a, member, key, due, reason, owner)
    _caps(t, active, plan)
    return plan


def summarize(plan: Plan, settings: Settings) -> dict[str, int]:
    """Counts by outcome: planned, and dropped by reason (``already`` is left out)."""
    from patronage.care.core.facts import REASONS

    counts = np.bincount(plan.reason, minlength=len(REASONS))
    out = {"planned": int(counts[0])}
    out.update({REASONS[i]: int(counts[i]) for i in range(1, len(REASONS) - 1) if counts[i]})
    return out
