"""Team playbooks: sets of care rules a leader (or the company) writes and a team adopts.

A playbook is a list of rules (:class:`~patronage.care.core.rules.Rule`) planned under the
company's settings: caps, quiet hours, consent, the holdout and the templates' lint stay the
company's. A member's touches follow the playbook their owner adopted (a customer's
distributor, a distributor's sponsor), or the company's rules if the owner adopted none.

The planner sees the playbooks as :class:`Playbooks`: the distinct rules of all of them
(``rules``; two playbooks holding the same rule share it) and which playbook holds which rule
(``holds``, a playbook by rule table, row 0 the company's rules), with each member row's
playbook. A tick then costs what its distinct rules cost, however many playbooks there are.

A rule key names one thing in a company: a playbook may change a rule's timing, priority,
audience or template, or turn it off, but the key keeps its occasion and channel (a touch is
made once per rule key, member and occasion, so a member whose owner changes playbook does not
get a second birthday card).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from patronage.arrays import I64, Bools
from patronage.care.core.rules import Rule, Rules, _rules_reason
from patronage.errors import Problem, Problems, validation_problems

#: Row of the company's own rules in :attr:`Playbooks.holds`.
COMPANY = 0
MAX_RULES = 100


@dataclass(frozen=True)
class Playbooks:
    """Distinct rules (``rules.active`` order), ``holds[playbook, rule]``, and the playbook
    each member row adopted for the people they serve (``adopted``, ``0``: none, the
    company's rules)."""

    rules: Rules
    holds: Bools
    adopted: I64

    @property
    def count(self) -> int:
        return int(self.holds.shape[0])


def combine(company: Rules, playbooks: Sequence[Sequence[Rule]]) -> tuple[Rules, Bools]:
    """The distinct enabled rules of the company and of ``playbooks`` (the company's first, in
    their order), and which playbook (row 0: the company) holds which."""
    seen: dict[Rule, int] = {}
    same: dict[int, int] = {}  # by identity first: copies read from the store share objects
    sets: list[list[int]] = []
    for rules in (company.active, *playbooks):
        row = []
        for rule in rules:
            if not rule.enabled:
                continue
            index = same.get(id(rule))
            if index is None:
                index = seen.setdefault(rule, len(seen))
                same[id(rule)] = index
            row.append(index)
        sets.append(row)
    holds = np.zeros((len(sets), len(seen)), dtype=bool)
    for i, row in enumerate(sets):
        holds[i, row] = True
    union = Rules.model_construct(settings=company.settings, holidays=company.holidays,
                                  rules=tuple(seen))
    return union, holds


def member_playbooks(owner: I64, adopted: I64) -> I64:
    """Each member row's playbook: the one their owner adopted (``adopted`` by member row,
    ``0`` none), the company's where they have no owner."""
    out = np.zeros(owner.shape[0], dtype=np.int64)
    has = owner >= 0
    out[has] = adopted[owner[has]]
    return out


def parse_playbook(company: Rules, data: Any, source: str = "playbook",
                   others: Mapping[str, tuple[str, str]] | None = None) -> tuple[Rule, ...]:
    """A playbook's rules from data (a list of rule tables, as in a rules file's ``[[rules]]``),
    checked against the company's bounds; raises :class:`Problems` listing everything.
    ``others`` maps rule keys used elsewhere in the company to their (occasion, channel)."""
    if isinstance(data, Mapping):
        extra = sorted(set(data) - {"rules"})
        if extra:
            raise Problems(f"{source}: the playbook is not valid", [Problem(
                f"{source}: {extra[0]}", "a playbook holds only rules: settings, caps, quiet "
                "hours and holidays are the company's")])
        data = data.get("rules", [])
    if not isinstance(data, list):
        raise Problems(f"{source}: the playbook is not valid",
                       [Problem(source, "write the rules as a list of tables")])
    problems: list[Problem] = []
    if len(data) > MAX_RULES:
        problems.append(Problem(f"{source}: rules", f"at most {MAX_RULES} rules"))
    try:
        rules = Rules.model_validate({"rules": data, "holidays": dict(company.holidays)}).rules
    except ValidationError as exc:
        problems += validation_problems(exc.errors(), source, reason=_rules_reason)
        raise Problems(f"{source}: the playbook is not valid", problems) from None
    from patronage.care.core.rules import _check

    within = Rules.model_construct(settings=company.settings, holidays=company.holidays,
                                   rules=rules)
    problems += [Problem(f"{source}: {p}", r) for p, r in _check(within)
                 if not p.startswith("settings")]
    known: dict[str, tuple[str, str]] = {r.key: (r.occasion, r.channel) for r in company.rules}
    known.update(others or {})
    for i, r in enumerate(rules):
        was = known.get(r.key)
        if was is not None and was != (r.occasion, r.channel):
            problems.append(Problem(f"{source}: rules[{i}].key", (
                f"{r.key!r} is the company's {was[0]} {was[1]} rule: keep its occasion and "
                "channel, or give this rule a new key")))
    if problems:
        raise Problems(f"{source}: the playbook is not valid", problems)
    return rules


def rules_data(rules: Sequence[Rule]) -> list[dict[str, Any]]:
    """Rules as data (what :func:`parse_playbook` reads), without the defaults."""
    out = []
    for r in rules:
        d = r.model_dump(exclude_defaults=True)
        if "min_value" in d and d["min_value"] is not None:
            d["min_value"] = f"{d['min_value'] // 100}.{d['min_value'] % 100:02d}"
        if "holidays" in d:
            d["holidays"] = list(d["holidays"])
        d.setdefault("key", r.key)
        out.append(d)
    return out
