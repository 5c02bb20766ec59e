"""Small CareFacts for tests: members given as keyword overrides of a plain customer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from patronage.care.core.facts import CareFacts, Contacts, Events

ZONES = ("UTC", "America/Los_Angeles", "Pacific/Auckland", "Asia/Kolkata", "Europe/Paris",
         "Pacific/Chatham", "America/St_Johns")

DEFAULTS: dict[str, Any] = {
    "kind": 0, "owner": -1, "zone": "UTC", "birth_month": 0, "birth_day": 0,
    "joined_at": datetime.fromisoformat("2024-01-10T12:00:00+00:00"), "erased": False,
    "terminated": False,
    "recovering": False, "consent_email": 1, "consent_post": 0, "consent_sms": 0,
    "email": True, "post": True, "sms": False, "suppressed_email": False,
    "suppressed_post": False, "suppressed_sms": False, "suppressed_phone": False,
    "last_touch": None, "value_at_risk": -1, "recent_email": 0, "recent_card": 0,
    "recent_sms": 0, "owner_tasks": 0,
}


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


@dataclass
class Company:
    """Members (dicts of overrides), events by occasion, stored touches."""

    members: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, list[tuple[int, int, int, int]]] = field(default_factory=dict)
    existing: list[tuple[int, int, int]] = field(default_factory=list)
    zones: tuple[str, ...] = ZONES
    #: (contact id, linked member row or -1, owner row, instant met)
    contacts: list[tuple[int, int, int, int]] = field(default_factory=list)

    def add(self, **overrides: Any) -> int:
        self.members.append({**DEFAULTS, **overrides})
        return len(self.members) - 1

    def event(self, occasion: str, member: int, at: str | int, key: int,
              ordinal: int = 1) -> None:
        moment = at if isinstance(at, int) else ts(at)
        self.events.setdefault(occasion, []).append((member, moment, key, ordinal))

    def contact(self, contact_id: int, owner: int, at: str | int, member: int = -1) -> None:
        moment = at if isinstance(at, int) else ts(at)
        self.contacts.append((contact_id, member, owner, moment))

    def facts(self) -> CareFacts:
        ms = self.members

        def col(name: str, dtype: Any = np.int64) -> Any:
            return np.array([m[name] for m in ms], dtype=dtype)

        def when(v: Any) -> int:
            if v is None:
                return -1
            return v if isinstance(v, int) else int(v.timestamp()) if isinstance(
                v, datetime) else ts(v)

        events = {}
        for name, rows in self.events.items():
            member, at, key, ordinal = (list(c) for c in zip(*rows, strict=True))
            events[name] = Events.of(member, at, key, ordinal)
        return CareFacts(
            member_id=np.arange(1, len(ms) + 1, dtype=np.int64) * 7 + 100,
            kind=col("kind"), owner=col("owner"),
            zone=np.array([self.zones.index(m["zone"]) for m in ms], dtype=np.int64),
            zones=self.zones, birth_month=col("birth_month"), birth_day=col("birth_day"),
            joined_at=np.array([when(m["joined_at"]) for m in ms], dtype=np.int64),
            erased=col("erased", bool), terminated=col("terminated", bool),
            recovering=col("recovering", bool),
            consent={c: col(f"consent_{c}") for c in ("email", "post", "sms")},
            has_address={c: col(c, bool) for c in ("email", "post", "sms")},
            suppressed={c: col(f"suppressed_{c}", bool)
                        for c in ("email", "post", "sms", "phone")},
            last_touch=np.array([when(m["last_touch"]) for m in ms], dtype=np.int64),
            value_at_risk=col("value_at_risk"), events=events,
            existing=np.array(self.existing, dtype=np.int64).reshape(-1, 3),
            recent={c: col(f"recent_{c}") for c in ("email", "card", "sms")},
            owner_tasks=col("owner_tasks"),
            contacts=Contacts.of(*(list(c) for c in zip(*self.contacts, strict=True)))
            if self.contacts else Contacts())
