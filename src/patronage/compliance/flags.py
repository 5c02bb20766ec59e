"""Every compliance flag of a committed month, with its evidence, and the payout hold an open
flag becomes when the company turns that on.

The patterns (rules: :mod:`patronage.compliance.core.loading` and
:mod:`patronage.compliance.core.patterns`):

- ``loading``: bought more than the usual month and the customers' orders explain
  (:mod:`patronage.compliance.loading`);
- ``rank_returns``: orders of the month the paid-as rank rose, refunded soon after it closed;
- ``shared_address`` / ``shared_card``: accounts sharing a shipping address or a saved card;
- ``no_customers``: own purchases above a threshold with no customer ordering.

A flag acts on nothing unless :attr:`FlagRules.holds` is on: then every open flag of the latest
committed month (and every open shared-account flag) holds the distributor's payouts, with the
flag's reason shown to them, until staff clear it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from patronage.arrays import index_of
from patronage.clock import Period, require_aware
from patronage.compensation.runs import PlanSource
from patronage.compliance.core.loading import DEFAULT_USED_SHARE
from patronage.compliance.core.patterns import (
    DEFAULT_NO_CUSTOMER_CV,
    DEFAULT_REFUND_DAYS,
    DEFAULT_SHARED_ACCOUNTS,
    address_sieve,
    no_customer_volume,
    normal_address,
    rank_returns,
    shared_accounts,
)
from patronage.compliance.loading import LoadingFlag, loading_flags_of
from patronage.compliance.periods import committed_runs
from patronage.db.compensation import CommissionRun
from patronage.db.compliance import FlagClearance
from patronage.db.tables import Member, Order, Refund, RefundLine
from patronage.errors import NotFound, PatronageError
from patronage.fastpath.reads import integer_matrix
from patronage.payouts.core.ledger import HoldReason

if TYPE_CHECKING:
    from patronage.config import Settings
    from patronage.payouts.holds import HoldSource

LOADING, RANK_RETURNS, SHARED_ADDRESS, SHARED_CARD, NO_CUSTOMERS = (
    "loading", "rank_returns", "shared_address", "shared_card", "no_customers")
KINDS = (LOADING, RANK_RETURNS, SHARED_ADDRESS, SHARED_CARD, NO_CUSTOMERS)
#: Kinds judged month by month: their subject is the month.
MONTHLY = (LOADING, RANK_RETURNS, NO_CUSTOMERS)
#: The hold reason of an open flag (its particulars: the flag's reason for the distributor).
HOLD_FLAG = "compliance_flag"


@dataclass(frozen=True)
class FlagRules:
    """The company's thresholds (settings ``PATRONAGE_FLAG_*``) and whether an open flag holds
    the distributor's payouts."""

    used_share: int = DEFAULT_USED_SHARE
    refund_days: int = DEFAULT_REFUND_DAYS
    shared_accounts: int = DEFAULT_SHARED_ACCOUNTS
    no_customer_cv: int = DEFAULT_NO_CUSTOMER_CV
    holds: bool = False

    @classmethod
    def of(cls, settings: Settings) -> FlagRules:
        return cls(used_share=settings.flag_used_share_bp, refund_days=settings.flag_refund_days,
                   shared_accounts=settings.flag_shared_accounts,
                   no_customer_cv=settings.flag_no_customer_cv, holds=settings.flag_holds)


@dataclass(frozen=True)
class RefundSeen:
    order_id: int
    placed_on: date
    refunded_on: date
    amount: int
    currency: str
    cv: int


@dataclass(frozen=True)
class Account:
    member_id: int
    name: str
    kind: str


@dataclass(frozen=True)
class Flag:
    """One flag: who, the pattern, what was judged (``subject``) and the evidence."""

    kind: str
    member_id: int
    name: str
    ref: str | None
    period: str  # the judged month ("" for shared accounts, judged as the members are now)
    subject: str
    reason: str  # for staff, in words
    notice: str  # for the distributor (no other member named), in words
    #: Evidence by kind: the loading figures; the ranks and refunds; the shared address or
    #: masked card and the other accounts; the own purchases.
    loading: LoadingFlag | None = None
    rank_from: str = ""
    rank_to: str = ""
    refunds: tuple[RefundSeen, ...] = ()
    shared: str = ""
    others: tuple[Account, ...] = ()
    own: int = 0
    days: int = 0
    cleared_note: str | None = None
    cleared_by: str | None = field(default=None)

    @property
    def refunded_cv(self) -> int:
        return sum(r.cv for r in self.refunds)


def _points(cv: int) -> str:
    return f"{cv / 100:,.2f}"


#: Ids asked in one ``IN (...)`` (the databases bound the number of parameters).
CHUNK = 5_000


def _chunks(ids: set[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for at in range(0, len(ordered), CHUNK):
        yield ordered[at:at + CHUNK]


def _names(conn: Connection, ids: set[int]) -> dict[int, tuple[str, str | None, str]]:
    out = {}
    for chunk in _chunks(ids):
        out.update({int(r.id): (f"{r.first_name} {r.last_name}".strip(), r.ref, str(r.kind))
                    for r in conn.execute(select(Member.id, Member.first_name, Member.last_name,
                                                 Member.ref, Member.kind)
                                          .where(Member.id.in_(chunk)))})
    return out


def _rank_names(plan_text: str) -> tuple[str, ...]:
    return tuple(r.name for r in PlanSource.from_text(plan_text).plan.ranks)


def _rank_returns(conn: Connection, period: Period, rules: FlagRules,
                  zone: tzinfo) -> list[Flag]:
    runs = {r.period: r for r in committed_runs(conn, period.previous(), period)}
    now_run, before_run = runs.get(period), runs.get(period.previous())
    if now_run is None or before_run is None:
        return []  # no month before to compare the rank with
    start, end = period.start(zone), period.end(zone)
    rows = conn.execute(
        select(Refund.id, Refund.refunded_at, Refund.total, Order.id, Order.credited_to_id,
               Order.placed_at, Order.currency, func.coalesce(func.sum(RefundLine.cv), 0))
        .join(Order, Order.id == Refund.order_id)
        .outerjoin(RefundLine, RefundLine.refund_id == Refund.id)
        .where(Refund.refunded_at >= end,
               Refund.refunded_at < end + timedelta(days=rules.refund_days),
               Order.placed_at >= start, Order.placed_at < end,
               Order.credited_to_id.is_not(None))
        .group_by(Refund.id, Refund.refunded_at, Refund.total, Order.id, Order.credited_to_id,
                  Order.placed_at, Order.currency)
        .order_by(Refund.refunded_at, Refund.id)).all()
    if not rows:
        return []
    ranks = integer_matrix(conn, "SELECT member_id, paid_as FROM rank_records "
                                 "WHERE run_id = :r ORDER BY member_id", {"r": now_run.id}, 2)
    before = integer_matrix(conn, "SELECT member_id, paid_as FROM rank_records "
                                  "WHERE run_id = :r", {"r": before_run.id}, 2)
    member_id = ranks[:, 0]
    rank_now = ranks[:, 1]
    rank_before = np.full(member_id.shape[0], -1, dtype=np.int64)
    at = index_of(member_id, before[:, 0])
    rank_before[at[at >= 0]] = before[at >= 0, 1]
    credited = np.array([int(r[4] or 0) for r in rows], dtype=np.int64)
    row = index_of(member_id, credited)
    known = row >= 0
    cv = np.array([int(r[7]) for r in rows], dtype=np.int64)
    after = np.array([int((r[1] - end).total_seconds()) for r in rows], dtype=np.int64)
    found = rank_returns(rank_before, rank_now, row[known], cv[known], after[known],
                         rules.refund_days)
    names = _rank_names(now_run.plan_text)

    def rank(i: int) -> str:
        return names[i] if 0 <= i < len(names) else "no rank"

    flags = []
    who = _names(conn, {int(member_id[i]) for i in found.index})
    for i in found.index.tolist():
        m = int(member_id[i])
        seen = tuple(RefundSeen(int(r[3]), r[5].astimezone(zone).date(),
                                r[1].astimezone(zone).date(), int(r[2]), str(r[6]), int(r[7]))
                     for r in rows if int(r[4] or 0) == m and int(r[7]) > 0)
        lo, hi = rank(int(rank_before[i])), rank(int(rank_now[i]))
        orders = ", ".join(f"order {s.order_id} ({s.amount / 100:,.2f} {s.currency}, "
                           f"{_points(s.cv)} points, refunded {s.refunded_on})" for s in seen)
        name, ref, _ = who.get(m, ("", None, ""))
        flags.append(Flag(
            kind=RANK_RETURNS, member_id=m, name=name, ref=ref, period=str(period),
            subject=str(period), rank_from=lo, rank_to=hi, refunds=seen, days=rules.refund_days,
            reason=(f"paid as {hi} in {period} (from {lo} the month before); within "
                    f"{rules.refund_days} days after the month closed, orders that counted "
                    f"toward it were refunded: {orders}"),
            notice=(f"orders of {period}, the month you were first paid as {hi}, were refunded "
                    f"within {rules.refund_days} days after it closed")))
    return flags


def _no_customers(conn: Connection, period: Period, rules: FlagRules) -> list[Flag]:
    runs = committed_runs(conn, period, period)
    if not runs:
        return []
    rows = integer_matrix(
        conn, "SELECT member_id, consumption_cv + promotional_cv - customer_cv, "
              "COALESCE(ordering_customers, CASE WHEN customer_cv > 0 THEN 1 ELSE 0 END) "
              "FROM rank_records WHERE run_id = :r", {"r": runs[0].id}, 3)
    found = no_customer_volume(rows[:, 1], rows[:, 2], rules.no_customer_cv)
    ids = [int(rows[i, 0]) for i in found.index]
    who = _names(conn, set(ids))
    flags = []
    for m, own in zip(ids, found.own.tolist(), strict=True):
        name, ref, _ = who.get(m, ("", None, ""))
        flags.append(Flag(
            kind=NO_CUSTOMERS, member_id=m, name=name, ref=ref, period=str(period),
            subject=str(period), own=own,
            reason=(f"bought {_points(own)} points for themselves in {period} (more than "
                    f"{_points(rules.no_customer_cv)}) and no customer of theirs ordered"),
            notice=(f"you bought {_points(own)} points in {period} while no customer of yours "
                    "ordered")))
    return flags


def _subject(kind: str, key: str, members: Sequence[int]) -> str:
    digest = hashlib.sha256(f"{kind}|{key}|{','.join(map(str, sorted(members)))}".encode())
    return digest.hexdigest()[:32]


def _shared(conn: Connection, kind: str, keys: Sequence[str | None], member: list[int],
            distributor: list[bool], shown: Mapping[str, str], rules: FlagRules) -> list[Flag]:
    codes: dict[str, int] = {}
    key = np.array([-1 if k is None else codes.setdefault(k, len(codes)) for k in keys],
                   dtype=np.int64)
    found = shared_accounts(key, np.array(distributor, dtype=bool), rules.shared_accounts)
    if not found.size:
        return []
    wanted = set(found.group.tolist())
    groups: dict[int, list[int]] = {}
    for row in np.flatnonzero(np.isin(key, list(wanted))).tolist():
        groups.setdefault(int(key[row]), []).append(member[row])
    text_of = {c: k for k, c in codes.items() if c in wanted}
    who = _names(conn, {m for g in groups.values() for m in g})
    flags = []
    for row, group in zip(found.index.tolist(), found.group.tolist(), strict=True):
        m = member[row]
        everyone = groups[group]
        others = tuple(Account(o, *who.get(o, ("", None, ""))[::2]) for o in everyone if o != m)
        what = shown[text_of[group]]
        name, ref, _ = who.get(m, ("", None, ""))
        listed = ", ".join(f"{o.name} (member {o.member_id}, {o.kind})" for o in others)
        n = len(others)
        if kind == SHARED_ADDRESS:
            reason = f"shares the shipping address {what} with {listed}"
            notice = f"your shipping address is also the address of {n} other account(s)"
        else:
            reason = f"shares the card {what} with {listed}"
            notice = f"a card saved on your account ({what}) is also saved on {n} other " \
                     "account(s)"
        flags.append(Flag(kind=kind, member_id=m, name=name, ref=ref, period="",
                          subject=_subject(kind, text_of[group], everyone), shared=what,
                          others=others, reason=reason, notice=notice))
    return flags


def _raw_rows(conn: Connection, sql: str) -> list[tuple[object, ...]]:
    """A query without parameters on the driver's cursor (no row objects: a million members)."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection has no driver connection (closed?)")
    cursor = raw.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _shared_accounts(conn: Connection, rules: FlagRules) -> list[Flag]:
    rows = _raw_rows(conn, "SELECT id, kind, address_line1, address_line2, postal_code, country "
                           "FROM members WHERE status NOT IN ('terminated', 'erased') "
                           "AND address_line1 IS NOT NULL ORDER BY id")
    # Only addresses sharing the coarse key with another can share the full one.
    sieve = [address_sieve(r[2], r[3], r[4], r[5])  # type: ignore[arg-type]
             for r in rows]
    repeated = {s for s, n in Counter(sieve).items() if n > 1 and s is not None}
    keys: list[str | None] = [None] * len(rows)
    for i, s in enumerate(sieve):
        if s in repeated:
            r = rows[i]
            keys[i] = normal_address(r[2], r[3], r[4], r[5])  # type: ignore[arg-type]
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k is not None and k not in first:
            first[k] = i
    flags = _shared(conn, SHARED_ADDRESS, keys, [int(r[0]) for r in rows],  # type: ignore[call-overload]
                    [r[1] == "distributor" for r in rows], _Shown(rows, first), rules)
    cards = _raw_rows(conn, "SELECT DISTINCT p.member_id, m.kind, f.fingerprint, p.brand, p.last4 "
                            "FROM card_fingerprints f JOIN payment_methods p "
                            "ON p.method_ref = f.method_ref JOIN members m ON m.id = p.member_id "
                            "WHERE m.status NOT IN ('terminated', 'erased') "
                            "ORDER BY p.member_id, f.fingerprint")
    seen: set[tuple[int, str]] = set()
    card_keys: list[str] = []
    card_members: list[int] = []
    card_dist: list[bool] = []
    masked: dict[str, str] = {}
    for r in cards:
        member, fingerprint = int(r[0]), str(r[2])  # type: ignore[call-overload]
        if (member, fingerprint) in seen:
            continue  # the same card saved twice by one member is one account
        seen.add((member, fingerprint))
        card_keys.append(fingerprint)
        card_members.append(member)
        card_dist.append(r[1] == "distributor")
        masked.setdefault(fingerprint, f"{r[3]} •••• {str(r[4])[-4:]}")
    return flags + _shared(conn, SHARED_CARD, card_keys, card_members, card_dist, masked, rules)


class _Shown(Mapping[str, str]):
    """The address as first written by a member, for a normalised key (made when asked)."""

    def __init__(self, rows: list[tuple[object, ...]], first: dict[str, int]) -> None:
        self.rows, self.first = rows, first

    def __getitem__(self, key: str) -> str:
        r = self.rows[self.first[key]]
        return ", ".join(str(p) for p in (r[2], r[3], r[4], r[5]) if p)

    def __iter__(self) -> Iterator[str]:
        return iter(self.first)

    def __len__(self) -> int:
        return len(self.first)


def _as_flag(f: LoadingFlag) -> Flag:
    return Flag(kind=LOADING, member_id=f.member_id, name=f.name, ref=f.ref, period=f.period,
                subject=f.period, reason=f.reason, loading=f, own=f.own,
                cleared_note=f.cleared_note, cleared_by=f.cleared_by,
                notice=(f"you bought {_points(f.own)} points for yourself in {f.period}, more "
                        "than your usual month and your customers' orders explain"))


def _with_clearances(conn: Connection, flags: list[Flag]) -> list[Flag]:
    cleared = {}
    for chunk in _chunks({f.member_id for f in flags}):
        cleared.update({(r.member_id, r.kind, r.subject): (r.note, r.cleared_by)
                        for r in conn.execute(
            select(FlagClearance.member_id, FlagClearance.kind, FlagClearance.subject,
                   FlagClearance.note, FlagClearance.cleared_by)
            .where(FlagClearance.member_id.in_(chunk)))})
    out = []
    for f in flags:
        note, by = cleared.get((f.member_id, f.kind, f.subject), (None, None))
        out.append(f if note is None else replace(f, cleared_note=note, cleared_by=by))
    return out


def flags_of(conn: Connection, period: Period | None, rules: FlagRules,
             zone: tzinfo) -> list[Flag]:
    """The flags of the committed month ``period`` and the shared-account flags (as the members
    are now), open ones first, then by kind and distributor."""
    found: list[Flag] = []
    if period is not None:
        found += [_as_flag(f) for f in loading_flags_of(conn, period, rules.used_share)]
        found += _rank_returns(conn, period, rules, zone)
        found += _no_customers(conn, period, rules)
    found += _shared_accounts(conn, rules)
    flags = _with_clearances(conn, found)
    return sorted(flags, key=lambda f: (f.cleared_note is not None, KINDS.index(f.kind),
                                        f.member_id, f.subject))


def load_flags(engine: Engine, period: Period | None, rules: FlagRules,
               zone: tzinfo) -> list[Flag]:
    """:func:`flags_of` on a connection of its own."""
    with engine.connect() as conn:
        return flags_of(conn, period, rules, zone)


def _latest(conn: Connection, now: datetime) -> Period | None:
    row = conn.execute(select(CommissionRun.period).where(CommissionRun.committed_at <= now,
                                                          CommissionRun.calendar == "month")
                       .order_by(CommissionRun.period.desc()).limit(1)).scalar()
    return Period.parse(row) if row else None


def flag_holds(conn: Connection, member_ids: Sequence[int], now: datetime, *,
               rules: FlagRules, zone: tzinfo) -> Mapping[int, list[HoldReason]]:
    """With :attr:`FlagRules.holds` on: the open flags of the latest month committed by ``now``
    (and the open shared-account flags) as holds, the flag's reason as the particulars.
    Off: nothing."""
    if not rules.holds:
        return {}
    wanted = set(member_ids)
    out: dict[int, list[HoldReason]] = {}
    for f in flags_of(conn, _latest(conn, now), rules, zone):
        if f.cleared_note is None and f.member_id in wanted:
            out.setdefault(f.member_id, []).append(HoldReason(HOLD_FLAG, f.notice))
    return out


def flag_hold_source(rules: FlagRules, zone: tzinfo) -> HoldSource:
    """:func:`flag_holds` as a hold source of the payout batch, built by the composition
    roots from the settings."""
    def source(conn: Connection, member_ids: Sequence[int],
               now: datetime) -> Mapping[int, list[HoldReason]]:
        return flag_holds(conn, member_ids, now, rules=rules, zone=zone)

    return source


def clear_flag(session: Session, member_id: int, subject: Period | str, note: str, *,
               by: str, now: datetime, kind: str = LOADING) -> FlagClearance:
    """Staff clear a member's flag with a note: ``subject`` is the month for the monthly
    kinds, the flag's subject for shared accounts. Clearing again keeps the first note. With
    flags as holds, clearing lifts the flag's hold."""
    require_aware(now, place="now")
    if kind not in KINDS:
        raise PatronageError(f"kind: {kind!r} is none of {', '.join(KINDS)}")
    key = str(subject).strip()
    if kind in MONTHLY:
        key = str(Period.parse(key))
    elif not key or len(key) > 64:
        raise PatronageError("subject: the flag's subject as listed (at most 64 characters)")
    words = note.strip()
    if not words:
        raise PatronageError("note: say what was found")
    if len(words) > 500:
        raise PatronageError(f"note: {len(words)} characters; at most 500")
    if session.get(Member, member_id) is None:
        raise NotFound(f"member {member_id} does not exist")
    prior = session.get(FlagClearance, (member_id, kind, key))
    if prior is not None:
        return prior
    row = FlagClearance(member_id=member_id, kind=kind, subject=key, note=words,
                        cleared_by=by.strip()[:100] or "staff", cleared_at=now)
    session.add(row)
    session.flush()
    return row
