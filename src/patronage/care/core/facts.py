"""What the care planner knows about the company on a day: :class:`CareFacts`, all arrays.

Members are rows ``0..n-1`` (``member_id`` gives their ids); other arrays name members by row.
Times are unix seconds, ``-1`` where there is none. Consents are ``1`` granted, ``-1``
withdrawn, ``0`` never asked. The planner's output is a :class:`Plan`, also arrays, one row per
touch it considered: planned (``reason`` 0) or not, and why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from patronage.arrays import F64, I64, Bools

#: Why a touch was not planned. ``terminated``: the member's status is terminated (checked
#: first); ``already``: this (rule, member, occasion) was planned before.
REASONS = ("", "holdout", "suppressed", "no consent", "no address", "no owner", "muted", "cap",
           "terminated", "already")
(PLANNED, HOLDOUT, SUPPRESSED, NO_CONSENT, NO_ADDRESS, NO_OWNER, MUTED, CAP, TERMINATED,
 ALREADY) = range(10)

#: Which stored consent and suppression a channel needs; ``task`` needs no consent (it is the
#: distributor's own call or note), but a member whose phone is suppressed gets no call.
CONSENT_OF = {"email": "email", "card": "post", "sms": "sms"}
SUPPRESSION_OF = {"email": "email", "card": "post", "sms": "sms", "task": "phone"}
ADDRESS_OF = {"email": "email", "card": "post", "sms": "sms"}

_MASK = (1 << 64) - 1


def _empty() -> I64:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Events:
    """Things that happened to members: row, instant, the occasion key number (an order id, a
    referred member's id...), and for orders the member's order count up to this one."""

    member: I64 = field(default_factory=_empty)
    at: I64 = field(default_factory=_empty)
    key: I64 = field(default_factory=_empty)
    ordinal: I64 = field(default_factory=_empty)

    @staticmethod
    def of(member: list[int], at: list[int], key: list[int],
           ordinal: list[int] | None = None) -> Events:
        return Events(np.array(member, dtype=np.int64), np.array(at, dtype=np.int64),
                      np.array(key, dtype=np.int64),
                      np.array(ordinal if ordinal is not None else [1] * len(member),
                               dtype=np.int64))


@dataclass(frozen=True)
class Contacts:
    """People distributors met (the ``contacts`` table): the contact's id, the row of the member
    the contact is linked to (``-1``: not a member), the row of the distributor who met them
    (``-1``: unknown) and when they met."""

    key: I64 = field(default_factory=_empty)
    member: I64 = field(default_factory=_empty)
    owner: I64 = field(default_factory=_empty)
    at: I64 = field(default_factory=_empty)

    @staticmethod
    def of(key: list[int], member: list[int], owner: list[int], at: list[int]) -> Contacts:
        return Contacts(*(np.array(c, dtype=np.int64) for c in (key, member, owner, at)))


@dataclass(frozen=True)
class CareFacts:
    """Members and their occasions as of a tick.

    ``owner`` is the row of the distributor who serves a customer (a distributor's sponsor),
    ``-1`` if none. ``events`` maps an event occasion to its :class:`Events`; orders are under
    ``order`` (``first_order`` is ordinal 1). ``existing`` holds ``(rule, member, key)`` rows
    already stored (rule by its position among the active rules). ``recent`` counts each
    member's touches per channel due within that channel's cap window; ``owner_tasks`` the tasks
    planned for each distributor (by row) in the last 24 hours. ``terminated`` members get no
    automated touches (each is dropped, reason ``terminated``); ``erased`` ones get nothing at
    all. ``contacts`` are the people distributors met, for the ``new_contact`` task rules.
    """

    member_id: I64
    kind: I64
    owner: I64
    zone: I64
    zones: tuple[str, ...]
    birth_month: I64
    birth_day: I64
    joined_at: I64
    erased: Bools
    terminated: Bools
    recovering: Bools
    consent: Mapping[str, I64]
    has_address: Mapping[str, Bools]
    suppressed: Mapping[str, Bools]
    last_touch: I64
    value_at_risk: I64
    events: Mapping[str, Events]
    existing: I64
    recent: Mapping[str, I64]
    owner_tasks: I64
    contacts: Contacts = field(default_factory=Contacts)

    @property
    def size(self) -> int:
        return int(self.member_id.shape[0])


@dataclass(frozen=True)
class Plan:
    """Touches considered by a tick: rule (position among active rules), member row, occasion
    key number, due instant, reason (0: planned) and the row of the distributor a task goes to
    (``-1``: none; for other channels the member's owner)."""

    rule: I64
    member: I64
    key: I64
    due: I64
    reason: I64
    owner: I64

    def rows(self) -> list[tuple[int, int, int, int, int]]:
        return sorted(zip(self.rule.tolist(), self.member.tolist(), self.key.tolist(),
                          self.due.tolist(), self.reason.tolist(), strict=True))

    def rows_with_owner(self) -> list[tuple[int, int, int, int, int, int]]:
        return sorted(zip(self.rule.tolist(), self.member.tolist(), self.key.tolist(),
                          self.due.tolist(), self.reason.tolist(), self.owner.tolist(),
                          strict=True))


def salt_number(salt: str) -> int:
    return int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "little")


def holdout_draw(member_id: int, salt: str) -> float:
    """A member's stable draw in [0, 1) (splitmix64 of id and salt): in the holdout below the
    configured share."""
    z = (member_id + salt_number(salt) + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


def spread_salt(salt: str) -> str:
    """The salt of the check-in spread (independent of the holdout draw)."""
    return f"{salt}/check-in"


def spread_phase(member_id: int, salt: str, period: int) -> int:
    """A member's stable offset in ``[0, period)`` seconds: where in every check-in window of
    ``period`` seconds an overdue check-in of theirs falls due."""
    return int(holdout_draw(member_id, spread_salt(salt)) * period)


def spread_phases(member_id: I64, salt: str, period: int) -> I64:
    """:func:`spread_phase` for an array of member ids."""
    return np.asarray((holdout_draws(member_id, spread_salt(salt)) * period).astype(np.int64))


def holdout_draws(member_id: I64, salt: str) -> F64:
    """:func:`holdout_draw` for an array of member ids."""
    with np.errstate(over="ignore"):
        z = member_id.astype(np.uint64) + np.uint64((salt_number(salt) + 0x9E3779B97F4A7C15)
                                                    & _MASK)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return np.asarray((z >> np.uint64(11)).astype(np.float64) / float(1 << 53))
