"""The vectorised planner and the member-by-member reference agree on random companies."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patronage.care.core.planner import plan_touches
from patronage.care.core.reference import plan_reference
from patronage.care.core.rules import Rules, default_rules_path, parse_rules
from tests.unit.care.builders import ZONES, Company

DEFAULT = tomllib.loads(default_rules_path().read_text())
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _rules(quiet: tuple[str, str], share: float, feb29: str, caps: tuple[int, int, int],
           lookback: int, basis: str) -> Rules:
    data = {**DEFAULT, "settings": dict(DEFAULT["settings"])}
    data["settings"].update(quiet_hours=list(quiet), holdout_share=share,
                            feb29=feb29, lookback_days=lookback, card_basis=basis,
                            caps={"email": {"max": caps[0], "days": 7},
                                  "card": {"max": caps[1], "days": 30},
                                  "sms": {"max": 1, "days": 7},
                                  "tasks_per_owner_per_day": caps[2]})
    data["rules"] = [*data["rules"], {"key": "every_order_sms", "occasion": "order",
                                      "channel": "sms", "template": "order_thanks",
                                      "audience": "all", "delay_days": 0}]
    return parse_rules(data)


member = st.fixed_dictionaries({
    "kind": st.sampled_from([0, 1, 2]),
    "zone": st.sampled_from(ZONES),
    "birthday": st.one_of(st.none(), st.tuples(st.integers(1, 12), st.integers(1, 31)),
                          st.just((2, 29)), st.integers(-12, 12)),
    "joined_days_ago": st.one_of(st.integers(0, 900),
                                 st.builds(lambda y, d: 365 * y + d, st.integers(1, 2),
                                           st.integers(-4, 4))),
    "joined_second": st.integers(0, 86_399),
    "erased": st.booleans(),
    "terminated": st.sampled_from([False, False, False, True]),
    "recovering": st.booleans(),
    "consent_email": st.sampled_from([-1, 0, 1, 1]),
    "consent_post": st.sampled_from([-1, 0, 1]),
    "consent_sms": st.sampled_from([-1, 0, 1]),
    "email": st.booleans(), "post": st.booleans(), "sms": st.booleans(),
    "suppressed_email": st.sampled_from([False, False, False, True]),
    "suppressed_phone": st.sampled_from([False, False, False, True]),
    "touched_days_ago": st.one_of(st.none(), st.integers(0, 200)),
    "value_at_risk": st.sampled_from([-1, 0, 5_000, 20_000]),
    "recent_email": st.integers(0, 2), "recent_card": st.integers(0, 2),
    "owner_tasks": st.integers(0, 3),
    "orders": st.lists(st.tuples(st.integers(-6 * 86_400, 2 * 86_400), st.integers(1, 4)),
                       max_size=3),
    "referrals": st.lists(st.integers(-5 * 86_400, 86_400), max_size=2),
    "others": st.lists(st.tuples(st.sampled_from(["payment_failed", "autoship_cancelled",
                                                  "testimonial", "survey_answered",
                                                  "new_contact"]),
                                 st.integers(-6 * 86_400, 86_400)), max_size=2),
    # contacts this member met (if a distributor): (linked member offset or None, when)
    "met": st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 30)),
                              st.integers(-6 * 86_400, 86_400)), max_size=2),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    members=st.lists(member, min_size=1, max_size=25),
    day=st.integers(0, 730),
    second=st.integers(0, 86_399),
    quiet=st.sampled_from([("21:00", "08:00"), ("12:00", "14:00"), ("00:00", "00:00"),
                           ("20:30", "07:45")]),
    share=st.sampled_from([0.0, 0.3]),
    feb29=st.sampled_from(["feb28", "mar1"]),
    caps=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 3)),
    lookback=st.integers(0, 5),
    basis=st.sampled_from(["consent", "legitimate_interest"]),
    already=st.lists(st.tuples(st.integers(0, 21), st.integers(0, 24)), max_size=5),
    moved=st.booleans(),
)
def test_vectorised_planner_equals_reference(members: list[dict[str, Any]], day: int,
                                             second: int, quiet: tuple[str, str], share: float,
                                             feb29: str, caps: tuple[int, int, int],
                                             lookback: int, basis: str,
                                             already: list[tuple[int, int]],
                                             moved: bool) -> None:
    now = BASE + timedelta(days=day, seconds=second)
    rules = _rules(quiet, share, feb29, caps, lookback, basis)
    c = Company()
    owners = [i for i, m in enumerate(members) if m["kind"] == 2]
    for i, m in enumerate(members):
        bday = m["birthday"]
        if isinstance(bday, int):  # days from today
            soon = (now + timedelta(days=bday)).date()
            bday = (soon.month, soon.day)
        joined = now - timedelta(days=int(m["joined_days_ago"]),
                                 seconds=int(m["joined_second"]))
        touched = m["touched_days_ago"]
        row = c.add(
            kind=m["kind"], zone=m["zone"], joined_at=joined,
            owner=owners[i % len(owners)] if owners and owners[i % len(owners)] != i else -1,
            birth_month=bday[0] if bday else 0, birth_day=bday[1] if bday else 0,
            last_touch=None if touched is None else int(
                (now - timedelta(days=int(touched))).timestamp()),
            **{k: m[k] for k in ("erased", "terminated", "recovering", "consent_email",
                                 "consent_post", "consent_sms", "email", "post", "sms",
                                 "suppressed_email", "suppressed_phone", "value_at_risk",
                                 "recent_email", "recent_card", "owner_tasks")})
        for j, (offset, ordinal) in enumerate(m["orders"]):
            c.event("order", row, int(now.timestamp()) + offset, 1000 * i + j, ordinal)
        for j, offset in enumerate(m["referrals"]):
            c.event("referral", row, int(now.timestamp()) + offset, 5000 + 10 * i + j)
        for j, (occasion, offset) in enumerate(m["others"]):
            c.event(occasion, row, int(now.timestamp()) + offset, 9000 + 10 * i + j)
    for i, m in enumerate(members):
        for j, (linked, offset) in enumerate(m["met"]):
            # Owners are mostly distributors; now and then an unknown or ordinary member.
            c.contact(700 + 10 * i + j, i if m["kind"] == 2 or j else -1,
                      int(now.timestamp()) + offset,
                      member=-1 if linked is None else linked % len(members))
    facts = c.facts()
    fast = plan_touches(now, facts, rules)
    # Whatever the planner found, some of it was stored before (a contact's touch perhaps
    # filed under another member: the contact was linked since).
    keys = {(r, m): k for r, m, k, _, _ in fast.rows()}
    stored = [(r, (m + 1) % len(members) if moved and keys[(r, m)] < 0 else m, keys[(r, m)])
              for r, m in already if (r, m) in keys]
    if stored:
        c.existing = stored
        facts = c.facts()
        fast = plan_touches(now, facts, rules)
    assert fast.rows_with_owner() == plan_reference(now, facts, rules).rows_with_owner()
