"""Load :class:`CareFacts` from the store in bulk, for a tick at ``now``.

Members are read once (current owner, zone, birthday, addresses, status); consents as the
latest record per channel; suppressions by address hash; the events whose touches can fall due
in the tick's window (orders with each buyer's order count, referred friends' first orders,
testimonials, survey answers, new members, first declined autoship charges, cancellations),
the contacts distributors met in it; and the touches already stored (for "at most once" and the
frequency caps). A member whose time zone is not a known zone name is planned in the company's
zone (and counted in ``zone_fallbacks``). A member whose stored record is out of bounds (a join date
before 1970, left by old data: see :mod:`patronage.network.intake`) is left out of the tick
and listed in ``failed`` with the reason; everyone else is planned as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection

from patronage.arrays import I64, Bools, index_of, per_member
from patronage.care.core.facts import CareFacts, Contacts, Events
from patronage.care.core.occasions import STATES
from patronage.care.core.rules import Rules
from patronage.care.core.zones import DAY, known_zone
from patronage.db.bulk import fetch_rows
from patronage.db.loaders import bound_time, code_case, epoch_sql, integer_matrix, sorted_by_first
from patronage.facts import KIND_CODES, STATUS_CODES
from patronage.network.intake import EARLIEST_JOINED, joined_problem
from patronage.network.members import address_digests, suppression_key


@dataclass(frozen=True)
class LoadedFacts:
    facts: CareFacts
    #: contact id -> first name, for the summaries of tasks about contacts met
    contact_name: dict[int, str] = field(default_factory=dict)
    #: members whose time zone is not a known zone name (planned in the company's zone)
    zone_fallbacks: int = 0
    #: member id -> why the member's record cannot be planned (left out of the tick)
    failed: dict[int, str] = field(default_factory=dict)


def _events(conn: Connection, ids: I64, sql: str, params: dict[str, Any]) -> Events:
    """Rows (member id, epoch, key[, ordinal]) as events of member rows."""
    m = integer_matrix(conn, sql, params, 4)
    row = index_of(ids, m[:, 0])
    m, row = m[row >= 0], row[row >= 0]
    return Events(row, m[:, 1].copy(), m[:, 2].copy(), m[:, 3].copy())


def _per_member(conn: Connection, ids: I64, sql: str, params: dict[str, Any],
                default: int = 0) -> I64:
    """The value of a (member id, value) query for each member row (``default``: no row)."""
    return per_member(ids, integer_matrix(conn, sql, params, 2), default)[0]


def _zone_names(conn: Connection, t: dict[str, Any], company_zone: str
                ) -> tuple[list[str | None], tuple[str, ...], list[int]]:
    """The members' distinct stored zone names, the zones the planner uses, and for each stored
    name its index among them (a name that is not a known zone gets ``company_zone``)."""
    if not known_zone(company_zone):
        from patronage.errors import PatronageError

        raise PatronageError(f"settings.company_timezone: {company_zone!r} is not a known time "
                             "zone name (e.g. America/Chicago)")
    stored: list[str | None] = [r[0] for r in fetch_rows(
        conn, "SELECT DISTINCT timezone FROM members WHERE joined_at < :t", t)]
    resolved = [(z or "UTC") if known_zone(z or "UTC") else company_zone for z in stored]
    zones = tuple(sorted(set(resolved) | {"UTC"}))
    return stored, zones, [zones.index(z) for z in resolved]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _out_of_bounds(ids: I64, joined: I64) -> dict[int, str]:
    """Member id -> why the join date cannot be planned, for join dates before the earliest."""
    out: dict[int, str] = {}
    for member_id, seconds in zip(ids.tolist(), joined.tolist(), strict=True):
        try:
            problem = joined_problem(datetime.fromtimestamp(seconds, UTC))
        except (OverflowError, OSError, ValueError):
            problem = None
        out[member_id] = problem or (f"joined_at is before "
                                     f"{EARLIEST_JOINED.date().isoformat()}")
    return out


def _members(conn: Connection, t: dict[str, Any], company_zone: str
             ) -> tuple[Any, tuple[str, ...], int, dict[int, str]]:
    """Members as integers, one row each by id: id, kind, owner id (a distributor's sponsor),
    zone index, birth month and day, joined, status, and whether they have an email, a phone, a
    postal address; the zone names; how many members' zones fell back to ``company_zone``; the
    members left out because their join date is out of bounds, with the reason."""
    stored, zones, index = _zone_names(conn, t, company_zone)
    utc = zones.index("UTC")
    named = [(z, i) for z, i in zip(stored, index, strict=True) if z is not None]
    zone_sql = (f"CASE timezone {' '.join(f'WHEN {_literal(z)} THEN {i}' for z, i in named)} "
                f"ELSE {utc} END") if named else str(utc)
    unknown = [z for z in stored if z is not None and not known_zone(z)]
    fallbacks = 0
    if unknown:
        fallbacks = int(integer_matrix(conn, (
            "SELECT COUNT(*) FROM members WHERE joined_at < :t AND timezone IN ("
            + ", ".join(_literal(z) for z in unknown) + ")"), t, 1)[0, 0])

    def has(column: str) -> str:
        return f"CASE WHEN {column} IS NOT NULL AND {column} <> '' THEN 1 ELSE 0 END"

    # Small codes packed into one number per member (fewer values to read): kind + 1, status
    # + 1, the three address flags, the zone.
    p = sorted_by_first(integer_matrix(conn, (
        "SELECT id, COALESCE(CASE WHEN kind = 'distributor' THEN sponsor_id ELSE owner_id END, "
        f"-1), {epoch_sql(conn, 'joined_at')}, COALESCE(birth_month, 0) * 100 + "
        f"COALESCE(birth_day, 0), ({code_case('kind', KIND_CODES)}) + 1 + 4 * "
        f"(({code_case('status', STATUS_CODES)}) + 1) + 32 * ({has('email')} + 2 * {has('phone')} "
        f"+ 4 * {has('address_line1')}) + 256 * ({zone_sql}) "
        "FROM members WHERE joined_at < :t"), t, 5))
    bad = p[:, 2] < int(EARLIEST_JOINED.timestamp())
    failed = _out_of_bounds(p[bad, 0], p[bad, 2]) if bad.any() else {}
    p = p[~bad]
    code = p[:, 4]
    flags = (code >> 5) & 7
    m = np.stack([p[:, 0], (code & 3) - 1, p[:, 1], code >> 8, p[:, 3] // 100, p[:, 3] % 100,
                  p[:, 2], ((code >> 2) & 7) - 1, flags & 1, (flags >> 1) & 1, (flags >> 2) & 1],
                 axis=1)
    return m, zones, fallbacks, failed


def first_names(conn: Connection, now: datetime) -> dict[int, str]:
    """Member id -> first name, for the summaries of the touches a tick writes."""
    return dict(fetch_rows(conn, "SELECT id, first_name FROM members WHERE joined_at < :t",
                           {"t": bound_time(conn, now)}))


def _suppressed(conn: Connection, ids: I64, t: dict[str, Any]) -> dict[str, Bools]:
    """Per channel, which members' address (email, or phone for calls, texts) is suppressed."""
    n = ids.shape[0]
    out = {c: np.zeros(n, dtype=bool) for c in ("email", "post", "sms", "phone")}
    hashes = {c: h for c, h in _suppressions(conn).items() if c in out}
    if not hashes:
        return out
    rows = fetch_rows(conn, "SELECT id, email, phone FROM members WHERE joined_at < :t", t)
    at = index_of(ids, np.array([r[0] for r in rows], dtype=np.int64))
    key = suppression_key()
    known: dict[str, tuple[str, str]] = {}  # address -> (keyed, legacy) digests, made once
    for channel, digests in hashes.items():
        column = 1 if channel == "email" else 2
        hit = np.array([bool(r[column]) and not digests.isdisjoint(
            known.setdefault(r[column], address_digests(r[column], key))) for r in rows],
            dtype=bool)
        out[channel][at[hit & (at >= 0)]] = True
    return out


def load_care_facts(conn: Connection, now: datetime, rules: Rules,
                    company_zone: str = "UTC") -> LoadedFacts:
    """Everything the planner needs for a tick at ``now`` under ``rules``; ``company_zone`` is
    the zone of members whose own zone is not a known zone name."""
    s = rules.settings
    active = rules.active
    now_s = int(now.timestamp())
    lo, hi = now_s - s.lookback_days * DAY, now_s + DAY
    delay = max((r.delay_days for r in active), default=0)
    t = {"t": bound_time(conn, now)}
    since = {"since": bound_time(conn, datetime.fromtimestamp(lo - delay * DAY - DAY, now.tzinfo)),
             "until": bound_time(conn, datetime.fromtimestamp(hi, now.tzinfo))}

    def e(column: str) -> str:
        return epoch_sql(conn, column)

    m, zones, fallbacks, failed = _members(conn, t, company_zone)
    n = m.shape[0]
    ids = m[:, 0].copy()
    owner = np.where(m[:, 2] >= 0, index_of(ids, m[:, 2]), -1)
    # A terminated or erased distributor gets no tasks: their customers' tasks have no owner.
    status = m[:, 7]
    gone = (status == STATUS_CODES["terminated"]) | (status == STATUS_CODES["erased"])
    owner[(owner >= 0) & gone[np.maximum(owner, 0)]] = -1
    suppressed = _suppressed(conn, ids, t)
    consent = {c: np.zeros(n, dtype=np.int64) for c in ("email", "post", "sms")}
    codes = {"email": 0, "post": 1, "sms": 2}
    # member * 8 + channel * 2 + granted, when, id; the latest last per member and channel.
    packed = integer_matrix(conn, (
        "SELECT member_id * 8 + CASE channel WHEN 'email' THEN 0 WHEN 'post' THEN 2 "
        "WHEN 'sms' THEN 4 ELSE 6 END + CASE WHEN granted THEN 1 ELSE 0 END, "
        f"{e('at')}, id FROM consents WHERE at < :t"), t, 3)
    group = packed[:, 0] >> 1
    packed, group = packed[group & 3 != 3], group[group & 3 != 3]
    order = np.lexsort((packed[:, 2], packed[:, 1], group))
    packed, group = packed[order], group[order]
    c = np.stack([group >> 2, group & 3, np.where(packed[:, 0] & 1 == 1, 1, -1)], axis=1)
    if c.shape[0]:
        last = np.ones(c.shape[0], dtype=bool)
        last[:-1] = (c[1:, 0] != c[:-1, 0]) | (c[1:, 1] != c[:-1, 1])
        c = c[last]
        row = index_of(ids, c[:, 0])
        for name, code in codes.items():
            at = (c[:, 1] == code) & (row >= 0)
            consent[name][row[at]] = c[at, 2]
    window = {**t, **since}
    events = {
        "order": _orders(conn, ids, window),
        # A referral is thanked when the friend's first order lands (not when they sign up):
        # the referrer's event, keyed by the friend.
        "referral": _events(conn, ids, (
            f"SELECT m.referrer_id, {e('o.placed_at')}, m.id, 1 FROM orders o JOIN members m "
            "ON m.id = o.buyer_id WHERE m.referrer_id IS NOT NULL AND o.status = 'paid' AND "
            "o.placed_at > :since AND o.placed_at <= :until AND o.placed_at < :t AND NOT "
            "EXISTS (SELECT 1 FROM orders p WHERE p.buyer_id = o.buyer_id AND p.status = "
            "'paid' AND (p.placed_at < o.placed_at OR (p.placed_at = o.placed_at AND "
            "p.id < o.id)))"), window),
        "new_contact": _events(conn, ids, (
            f"SELECT id, {e('joined_at')}, 0, 1 FROM members WHERE joined_at > :since "
            "AND joined_at <= :until AND joined_at < :t"), window),
        "testimonial": _events(conn, ids, (
            f"SELECT member_id, {e('submitted_at')}, id, 1 FROM testimonials "
            "WHERE submitted_at > :since AND submitted_at <= :until AND submitted_at < :t"),
            window),
        "survey_answered": _events(conn, ids, (
            f"SELECT member_id, {e('answered_at')}, id, 1 FROM survey_responses "
            "WHERE answered_at > :since AND answered_at <= :until AND answered_at < :t"),
            window),
        "payment_failed": _events(conn, ids, (
            f"SELECT s.member_id, {e('a.at')}, a.id, 1 FROM autoship_attempts a JOIN "
            "subscriptions s ON s.id = a.subscription_id WHERE a.status = 'declined' AND "
            "a.attempt = 1 AND a.at > :since AND a.at <= :until AND a.at < :t"), window),
        "autoship_cancelled": _events(conn, ids, (
            f"SELECT member_id, {e('cancelled_at')}, id, 1 FROM subscriptions WHERE "
            "status = 'cancelled' AND cancelled_at > :since AND cancelled_at <= :until "
            "AND cancelled_at < :t"), window),
    }
    contacts, contact_name = _contacts(conn, ids, window)
    recovering = _per_member(conn, ids, (
        "SELECT member_id, 1 FROM subscriptions WHERE status = 'active' AND (failures > 0 OR "
        "retry_on IS NOT NULL)"), {}) == 1
    value_at_risk = _per_member(conn, ids, (
        "SELECT member_id, value_at_risk FROM customer_values WHERE run_id = "
        "(SELECT MAX(id) FROM value_runs WHERE as_of <= :t)"), t, -1)
    # One pass over the touches: the latest personal touch (a planned one counts from its due
    # time) and, per channel, the touches due within that channel's cap window.
    made = "status IN ('planned', 'sent', 'done')"
    caps = {name: getattr(s.caps, name) for name in ("email", "card", "sms")}
    per = integer_matrix(conn, (
        f"SELECT member_id, COALESCE(MAX(CASE WHEN status = 'planned' THEN {e('due_at')} "
        f"WHEN {made} THEN {e('COALESCE(done_at, sent_at, due_at)')} END), -1), "
        + ", ".join(f"SUM(CASE WHEN channel = '{name}' AND {made} AND due_at > :{name} THEN 1"
                    " ELSE 0 END)" for name in caps)
        + " FROM care_touches GROUP BY member_id"),
        {name: bound_time(conn, datetime.fromtimestamp(now_s - cap.days * DAY, UTC))
         for name, cap in caps.items()}, 2 + len(caps))
    at = index_of(ids, per[:, 0])
    per, at = per[at >= 0], at[at >= 0]
    last_touch = np.full(n, -1, dtype=np.int64)
    last_touch[at] = per[:, 1]
    recent: dict[str, I64] = {}
    for i, channel in enumerate(caps):
        recent[channel] = np.zeros(n, dtype=np.int64)
        recent[channel][at] = per[:, 2 + i]
    owner_tasks = _per_member(conn, ids, (
        "SELECT owner_id, COUNT(*) FROM care_touches WHERE channel = 'task' AND status IN "
        "('planned', 'sent', 'done') AND created_at > :since AND owner_id IS NOT NULL "
        "GROUP BY owner_id"), {"since": bound_time(conn, datetime.fromtimestamp(now_s - DAY,
                                                                        now.tzinfo))})
    facts = CareFacts(
        member_id=ids, kind=np.maximum(m[:, 1], 0), owner=owner.astype(np.int64),
        zone=m[:, 3].copy(), zones=zones, birth_month=m[:, 4].copy(), birth_day=m[:, 5].copy(),
        joined_at=m[:, 6].copy(), erased=status == STATUS_CODES["erased"],
        terminated=status == STATUS_CODES["terminated"],
        recovering=recovering, consent=consent,
        has_address={"email": m[:, 8] == 1, "sms": m[:, 9] == 1, "post": m[:, 10] == 1},
        suppressed=suppressed, last_touch=last_touch, value_at_risk=value_at_risk,
        events=events, existing=_existing(conn, ids, rules, lo), recent=recent,
        owner_tasks=owner_tasks, contacts=contacts)
    return LoadedFacts(facts, contact_name, fallbacks, failed)


def _contacts(conn: Connection, ids: I64, window: dict[str, Any]
              ) -> tuple[Contacts, dict[int, str]]:
    """Contacts distributors met (source ``met``, or a meeting date) in the window."""
    met = "COALESCE(met_at, created_at)"
    rows = fetch_rows(conn, (
        f"SELECT id, member_id, owner_id, {epoch_sql(conn, met)}, first_name FROM contacts "
        f"WHERE (source = 'met' OR met_at IS NOT NULL) AND {met} > :since "
        f"AND {met} <= :until AND {met} < :t ORDER BY id"), window)
    if not rows:
        return Contacts(), {}
    member = index_of(ids, np.array([r[1] if r[1] is not None else -1 for r in rows],
                                  dtype=np.int64))
    owner = index_of(ids, np.array([r[2] for r in rows], dtype=np.int64))
    return (Contacts(np.array([r[0] for r in rows], dtype=np.int64), member, owner,
                     np.array([r[3] for r in rows], dtype=np.int64)),
            {r[0]: r[4] for r in rows})


def _suppressions(conn: Connection) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for channel, digest in fetch_rows(conn, "SELECT channel, address_hash FROM suppressions", {}):
        out.setdefault(channel, set()).add(digest)
    return out


def _orders(conn: Connection, ids: I64, window: dict[str, Any]) -> Events:
    """Paid orders in the window, each with the buyer's count of paid orders up to it."""
    m = integer_matrix(conn, (
        f"SELECT buyer_id, {epoch_sql(conn, 'placed_at')}, id FROM orders WHERE status = 'paid' "
        "AND placed_at > :since AND placed_at <= :until AND placed_at < :t "
        "ORDER BY buyer_id, placed_at, id"), window, 3)
    before = integer_matrix(conn, (
        "SELECT o.buyer_id, COUNT(*) FROM orders o WHERE o.status = 'paid' AND "
        "o.placed_at <= :since AND o.buyer_id IN (SELECT buyer_id FROM orders WHERE "
        "status = 'paid' AND placed_at > :since AND placed_at <= :until AND placed_at < :t) "
        "GROUP BY o.buyer_id"), window, 2)
    prior = dict(zip(before[:, 0].tolist(), before[:, 1].tolist(), strict=True))
    ordinal = np.zeros(m.shape[0], dtype=np.int64)
    previous, count = None, 0
    for i, buyer in enumerate(m[:, 0].tolist()):
        count = count + 1 if buyer == previous else prior.get(buyer, 0) + 1
        ordinal[i], previous = count, buyer
    row = index_of(ids, m[:, 0])
    keep = row >= 0
    return Events(row[keep], m[keep, 1].copy(), m[keep, 2].copy(), ordinal[keep])


def _existing(conn: Connection, ids: I64, rules: Rules, lo: int) -> I64:
    """(rule, member row, key) of touches already stored that a tick at ``lo`` could meet
    again: recent ones, and every one of a state occasion (whose key can be old)."""
    index = rules.rule_index()
    if not index:
        return np.zeros((0, 3), dtype=np.int64)
    old = lo - (60 + 60 + 2) * DAY  # lead days of calendar occasions, and a margin
    states = ", ".join(f"'{o}'" for o in STATES)
    known = ", ".join(f"'{k}'" for k in index)
    rows = fetch_rows(conn, (
        "SELECT rule_key, member_id, occasion_key FROM care_touches WHERE rule_key IN "
        f"({known}) AND (due_at > :old OR occasion IN ({states}))"),
        {"old": bound_time(conn, datetime.fromtimestamp(old, UTC))})
    if not rows:
        return np.zeros((0, 3), dtype=np.int64)
    rule = np.array([index[r[0]] for r in rows], dtype=np.int64)
    member = index_of(ids, np.array([r[1] for r in rows], dtype=np.int64))
    # Keys as this code writes them (see occasions.key_text): digits, a date, a month, "joined",
    # "contact:<id>" (number form -id; once per contact whoever it is filed under).
    raw = np.array([r[2] for r in rows], dtype=str)
    contact = np.char.startswith(raw, "contact:")
    text = np.char.replace(np.char.replace(raw, "contact:", ""), "-", "")
    text = np.where(text == "joined", "0", text)
    member = np.where(contact & (member < 0), 0, member)
    ok = np.char.isdigit(text) & (np.char.str_len(text) <= 18) & (member >= 0)
    key = np.zeros(len(rows), dtype=np.int64)
    key[ok] = text[ok].astype(np.int64)
    key = np.where(contact, -key, key)
    return np.stack([rule[ok], member[ok], key[ok]], axis=1)
