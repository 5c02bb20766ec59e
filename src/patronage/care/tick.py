"""The care tick: load the facts, plan, and store the touches, in one transaction.

``tick(engine, now, rules)`` is idempotent: a touch is stored at most once per (rule, member,
occasion key) (the table's unique key, written with "insert or ignore"), so ticking twice at
the same ``now``, or ticks that overlap, add nothing twice. Touches not planned are stored too,
as ``dropped`` with the reason (holdout, cap, terminated, no consent...): the holdout group is
measured from them, and a dropped touch is never planned later (dropped, not queued; a state
occasion's key is its window, so a check-in dropped by a cap comes back in its next window).
A member whose time zone is not a known zone name is planned in the company's zone
(``settings.company_timezone``) and counted in the summary; the tick goes on. Likewise a
member whose stored record cannot be planned (a join date before 1970, from old data) is left
out and listed in the summary's ``failed`` with the reason; everyone else is planned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine

from patronage.care.core.facts import ALREADY, PLANNED, REASONS, CareFacts, Plan
from patronage.care.core.occasions import WORDS, key_text
from patronage.care.core.planner import plan_touches
from patronage.care.core.rules import Rule, Rules, load_rules
from patronage.care.facts_loader import LoadedFacts, first_names, load_care_facts
from patronage.care.playbooks import load_playbooks
from patronage.clock import DEFAULT_COMPANY_ZONE, require_aware
from patronage.db.bulk import insert_ignore
from patronage.db.engine import transaction

_VERB = {"task": "Call {name} today", "email": "Email to {name}", "card": "Card to {name}",
         "sms": "Text to {name}"}


@dataclass
class TickSummary:
    now: datetime
    members: int
    planned: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    already: int = 0
    written: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    #: members whose time zone is not a known zone name: planned in the company's zone
    zone_fallbacks: int = 0
    #: member id -> why the member was left out of this tick (a record out of bounds)
    failed: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "members": self.members, "planned": self.planned,
                "dropped": self.dropped, "already": self.already, "written": self.written,
                "zone_fallbacks": self.zone_fallbacks,
                "failed": {str(k): v for k, v in self.failed.items()},
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


def summary_text(rule: Rule, name: str) -> str:
    """What a touch is, in words ("Call Sally today: birthday")."""
    return f"{_VERB[rule.channel].format(name=name or 'member')}: {WORDS[rule.occasion]}"


#: The template of a task about someone a distributor met: none is shipped, so the task's line
#: is its summary ("Send Sam a nice-to-meet-you note"); a ``contact_met.task.j2`` would
#: replace it.
CONTACT_TEMPLATE = "contact_met"


def contact_summary(name: str) -> str:
    """A task about someone a distributor met ("Send Sam a nice-to-meet-you note")."""
    return f"Send {name or 'them'} a nice-to-meet-you note"


def _rows(plan: Plan, facts: CareFacts, rules: Rules, loaded: LoadedFacts,
          names: dict[int, str], now: datetime) -> dict[str, Any]:
    active = rules.active
    keep = plan.reason != ALREADY
    rule, member, key = plan.rule[keep], plan.member[keep], plan.key[keep]
    due, reason = plan.due[keep], plan.reason[keep]
    member_ids = facts.member_id[member]
    owner_row = plan.owner[keep]
    owners = [int(facts.member_id[o]) if o >= 0 else None for o in owner_row.tolist()]
    rules_of = [active[r] for r in rule.tolist()]
    return {
        "member_id": member_ids, "owner_id": owners,
        "rule_key": [r.key for r in rules_of], "occasion": [r.occasion for r in rules_of],
        "occasion_key": [key_text(r.occasion, k) for r, k in zip(rules_of, key.tolist(),
                                                                  strict=True)],
        "channel": [r.channel for r in rules_of],
        "template": [CONTACT_TEMPLATE if k < 0 and r.occasion == "new_contact" else r.template
                     for r, k in zip(rules_of, key.tolist(), strict=True)],
        "priority": [r.priority for r in rules_of],
        "status": np.where(reason == PLANNED, "planned", "dropped").tolist(),
        "due_at": due, "created_at": np.full(due.shape[0], int(now.timestamp())),
        "drop_reason": [REASONS[x] or None for x in reason.tolist()],
        "summary": [contact_summary(loaded.contact_name.get(-k, "")) if k < 0 and
                    r.occasion == "new_contact" else summary_text(r, names.get(m, ""))
                    for r, m, k in zip(rules_of, member_ids.tolist(), key.tolist(),
                                       strict=True)],
    }


def tick(engine: Engine, now: datetime, rules: Rules | None = None, *,
         company_zone: str = DEFAULT_COMPANY_ZONE) -> TickSummary:
    """Plan and store every touch due in this tick's window (see
    :mod:`patronage.care.core.planner`); returns the counts. ``company_zone``
    (``settings.company_timezone``) stands in for a member's time zone that is not a known zone
    name."""
    require_aware(now, place="now")
    rules = rules or load_rules()
    zone = company_zone
    now = now.astimezone(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    with transaction(engine) as session:
        conn = session.connection()
        adopted = load_playbooks(conn, rules)
        if adopted is not None:
            rules = adopted.rules
        loaded = load_care_facts(conn, now, rules, zone)
        t1 = time.perf_counter()
        plan = plan_touches(now, loaded.facts, rules, playbooks=None if adopted is None else
                            adopted.for_members(loaded.facts.member_id))
        t2 = time.perf_counter()
        written = 0
        if (plan.reason != ALREADY).any():
            rows = _rows(plan, loaded.facts, rules, loaded, first_names(conn, now), now)
            written = insert_ignore(conn, "care_touches", rows, times=("due_at", "created_at"))
        t3 = time.perf_counter()
    counts = np.bincount(plan.reason, minlength=len(REASONS))
    return TickSummary(
        now=now, members=loaded.facts.size, planned=int(counts[PLANNED]),
        dropped={REASONS[i]: int(counts[i]) for i in range(1, len(REASONS))
                 if counts[i] and i != ALREADY},
        already=int(counts[ALREADY]), written=written,
        seconds={"load": t1 - t0, "plan": t2 - t1, "store": t3 - t2},
        zone_fallbacks=loaded.zone_fallbacks, failed=dict(loaded.failed))


@dataclass
class MemberPlan:
    """What a tick would do for one member, rule by rule."""

    member_id: int
    lines: list[dict[str, Any]]


def explain_member(engine: Engine, member_id: int, now: datetime,
                   rules: Rules | None = None, *,
                   company_zone: str = DEFAULT_COMPANY_ZONE) -> MemberPlan:
    """For one member: each rule's touch this tick would plan, or why not (nothing written)."""
    from patronage.errors import NotFound, PatronageError

    rules = rules or load_rules()
    with engine.connect() as conn:
        adopted = load_playbooks(conn, rules)
        if adopted is not None:
            rules = adopted.rules
        loaded = load_care_facts(conn, now, rules, company_zone)
    f = loaded.facts
    if member_id in loaded.failed:
        raise PatronageError(f"member {member_id}: {loaded.failed[member_id]}; "
                             "correct the record to plan for them")
    row = np.flatnonzero(f.member_id == member_id)
    if not row.shape[0]:
        raise NotFound(f"member {member_id}: no such member (as of {now.isoformat()})")
    m = int(row[0])
    books = None if adopted is None else adopted.for_members(f.member_id)
    plan = plan_touches(now, f, rules, playbooks=books)
    held = np.ones(len(rules.active), dtype=bool) if books is None else books.holds[
        int(books.adopted[f.owner[m]]) if f.owner[m] >= 0 else 0]
    found = {int(r): (int(k), int(d), int(why)) for r, mm, k, d, why in zip(
        plan.rule, plan.member, plan.key, plan.due, plan.reason, strict=True) if mm == m}
    lines = []
    for i, rule in enumerate(rules.active):
        if not held[i]:
            continue
        line: dict[str, Any] = {"rule": rule.key, "occasion": rule.occasion,
                                "channel": rule.channel}
        if f.erased[m]:
            line["outcome"] = "nothing after erasure"
        elif i not in found:
            line["outcome"] = "no occasion in this tick's window" if _audience_ok(
                rule, int(f.kind[m])) else f"not for this member (audience: {rule.audience})"
        else:
            key, due, why = found[i]
            line.update(occasion_key=key_text(rule.occasion, key),
                        due_at=datetime.fromtimestamp(due, UTC).isoformat(),
                        outcome="planned" if why == PLANNED else
                        "already planned" if why == ALREADY else f"dropped: {REASONS[why]}")
        lines.append(line)
    return MemberPlan(member_id, lines)


def _audience_ok(rule: Rule, kind: int) -> bool:
    from patronage.facts import KIND_DISTRIBUTOR

    return rule.audience == "all" or (kind == KIND_DISTRIBUTOR) == (
        rule.audience == "distributors")
