"""Planning by playbooks: the grouped planner equals planning each playbook on its own members.

The plain statement: for each playbook, plan the whole company by that playbook's rules alone,
and keep the touches of members whose owner adopted it (a contact's task: of the distributor
who met them). The grouped planner does all playbooks in one pass over their distinct rules.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patronage.care.core.facts import ALREADY, PLANNED, CareFacts
from patronage.care.core.planner import plan_touches
from patronage.care.core.playbooks import Playbooks, combine, parse_playbook, rules_data
from patronage.care.core.rules import Rule, Rules, load_rules
from patronage.errors import Problems
from tests.unit.care.builders import Company
from tests.unit.care.test_planner_matches_reference import _rules, member

BASE = datetime(2026, 1, 1, tzinfo=UTC)

#: How a leader may change a company rule: off, another priority, later, another audience.
tweak = st.tuples(st.integers(0, 30), st.sampled_from(["off", "priority", "delay", "audience",
                                                       "keep"]), st.integers(0, 100))


def _playbook(company: Rules, tweaks: list[tuple[int, str, int]]) -> tuple[Rule, ...]:
    rules = list(company.active)
    for at, how, value in tweaks:
        i = at % len(rules)
        r = rules[i]
        if how == "off":
            rules[i] = r.model_copy(update={"enabled": False})
        elif how == "priority":
            rules[i] = r.model_copy(update={"priority": value})
        elif how == "delay" and r.occasion not in ("birthday", "anniversary", "holiday",
                                                    "no_touch", "value_at_risk"):
            rules[i] = r.model_copy(update={"delay_days": value % 3})
        elif how == "audience":
            rules[i] = r.model_copy(update={"audience": ("customers", "all")[value % 2]})
    return tuple(r for r in rules if r.enabled)


def _company(members: list[dict[str, Any]], now: datetime) -> Company:
    c = Company()
    owners = [i for i, m in enumerate(members) if m["kind"] == 2]
    for i, m in enumerate(members):
        bday = m["birthday"]
        if isinstance(bday, int):
            soon = (now + timedelta(days=bday)).date()
            bday = (soon.month, soon.day)
        touched = m["touched_days_ago"]
        row = c.add(
            kind=m["kind"], zone=m["zone"],
            joined_at=now - timedelta(days=int(m["joined_days_ago"]),
                                      seconds=int(m["joined_second"])),
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
        for j, (occasion, offset) in enumerate(m["others"]):
            c.event(occasion, row, int(now.timestamp()) + offset, 9000 + 10 * i + j)
    for i, m in enumerate(members):
        for j, (linked, offset) in enumerate(m["met"]):
            c.contact(700 + 10 * i + j, i if m["kind"] == 2 or j else -1,
                      int(now.timestamp()) + offset,
                      member=-1 if linked is None else linked % len(members))
    return c


def _by_playbook(now: datetime, f: CareFacts, company: Rules,
                 books: list[tuple[Rule, ...]], adopted: np.ndarray) -> list[tuple[int, ...]]:
    """The plain statement (see the module's description), rows numbered like the grouped
    planner's (positions among the distinct rules)."""
    union, _ = combine(company, books)
    position = {r: i for i, r in enumerate(union.active)}
    contact_owner = dict(zip((-f.contacts.key).tolist(), f.contacts.owner.tolist(),
                             strict=True))
    out = []
    for g, rules in enumerate([company.active, *books]):
        alone = Rules.model_construct(settings=company.settings, holidays=company.holidays,
                                      rules=rules)
        plan = plan_touches(now, f, alone)
        for r, m, k, due, why, owner in plan.rows_with_owner():
            rule = rules[r]
            if rule.occasion == "new_contact" and k < 0:
                d = contact_owner[k]
                group = int(adopted[d]) if d >= 0 else 0
            else:
                group = int(adopted[f.owner[m]]) if f.owner[m] >= 0 else 0
            if group == g:
                out.append((position[rule], m, k, due, why, owner))
    return sorted(out)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=st.lists(member, min_size=1, max_size=25), day=st.integers(0, 730),
       second=st.integers(0, 86_399),
       tweaks=st.lists(st.lists(tweak, max_size=6), min_size=1, max_size=3),
       adoption=st.lists(st.integers(0, 3), min_size=25, max_size=25),
       caps=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 3)))
def test_grouped_planner_equals_each_playbook_alone(
        members: list[dict[str, Any]], day: int, second: int,
        tweaks: list[list[tuple[int, str, int]]], adoption: list[int],
        caps: tuple[int, int, int]) -> None:
    now = BASE + timedelta(days=day, seconds=second)
    company = _rules(("21:00", "08:00"), 0.3, "feb28", caps, 3, "legitimate_interest")
    books = [_playbook(company, t) for t in tweaks]
    f = _company(members, now).facts()
    adopted = np.array([a % (len(books) + 1) for a in adoption[:f.size]], dtype=np.int64)
    union, holds = combine(company, books)
    grouped = plan_touches(now, f, company, playbooks=Playbooks(union, holds, adopted))
    assert grouped.rows_with_owner() == _by_playbook(now, f, company, books, adopted)


def test_a_touch_made_under_the_company_rule_is_not_made_again_under_a_tweaked_one() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    company = load_rules()
    c = Company()
    leader = c.add(kind=2)
    sally = c.add(owner=leader, birth_month=3, birth_day=10, zone="UTC")
    louder = tuple(r.model_copy(update={"priority": 99}) if r.key == "birthday_email" else r
                   for r in company.active)
    union, holds = combine(company, [louder])
    adopted = np.array([1, 0], dtype=np.int64)
    books = Playbooks(union, holds, adopted)
    plan = plan_touches(now, c.facts(), company, playbooks=books)
    tweaked = union.active.index(louder[[r.key for r in louder].index("birthday_email")])
    rows = [row for row in plan.rows() if row[0] == tweaked and row[1] == sally]
    assert rows and rows[0][4] == PLANNED
    # stored under the company's rule (its key's first position)
    c.existing = [(union.rule_index()["birthday_email"], sally, 2026)]
    plan = plan_touches(now, c.facts(), company, playbooks=books)
    assert [row[4] for row in plan.rows() if row[0] == tweaked and row[1] == sally] == [ALREADY]


def test_a_playbook_stays_within_the_company_bounds() -> None:
    company = load_rules()
    ok = parse_playbook(company, rules_data(company.active[:3]))
    assert [r.key for r in ok] == [r.key for r in company.active[:3]]
    with pytest.raises(Problems) as err:
        parse_playbook(company, {"settings": {"holdout_share": 0}, "rules": []})
    assert "settings" in str(err.value.problems[0])
    with pytest.raises(Problems) as err:
        parse_playbook(company, [
            {"key": "birthday_card", "occasion": "birthday", "channel": "email",
             "template": "birthday"},
            {"key": "y", "occasion": "holiday", "channel": "card", "template": "holiday",
             "holidays": ["diwali"]}], source="ann's playbook")
    text = "\n".join(str(p) for p in err.value.problems)
    assert "ann's playbook: rules[0].key" in text and "keep its occasion" in text
    assert "ann's playbook: rules[1].holidays[0]: unknown holiday 'diwali'" in text
    with pytest.raises(Problems) as err:
        parse_playbook(company, [{"key": "x", "occasion": "no_such", "channel": "card",
                                  "template": "birthday"}])
    assert "rules[0].occasion: unknown occasion 'no_such'" in str(err.value.problems[0])
