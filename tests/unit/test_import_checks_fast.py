"""The import's quicker checks give what the plain ones give: the suppression digests, the
birthday and yes/no cells, and the cycle collector put back as it was."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest

from patronage.fastpath import collector
from patronage.network.members import address_hash, address_hasher
from patronage.orders.csv_rows import Findings, Row
from patronage.orders.members_import import MEMBER_COLUMNS, _Checker

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
KEY = b"k" * 32


@pytest.mark.parametrize("address", ["+15550000001", " Ann@Example.COM ", "é@x.fr", ""])
def test_one_hmac_state_gives_the_same_digests(address: str) -> None:
    digest = address_hasher(KEY)
    assert digest(address) == address_hash(address, KEY)
    assert digest(address) == address_hash(address, KEY)  # the state is copied, not used up
    assert address_hasher(b"other")(address) != address_hash(address, KEY)


def _check(**cells: str) -> tuple[tuple[object, ...], list[str]]:
    found = Findings()
    values: list[str | None] = [None] * len(MEMBER_COLUMNS)
    base = {"ref": "A1", "kind": "distributor", "first_name": "Ann",
            "joined_at": "2026-03-01T00:00:00Z"}
    for name, value in {**base, **cells}.items():
        values[MEMBER_COLUMNS.index(name)] = value
    staged = _Checker(found, NOW, KEY, {"US": 1}, "US").member(Row(2, values))
    return staged, [f"{p.place}: {p.reason}" for p in found.problems()]


@pytest.mark.parametrize(("month", "day", "year", "problem"), [
    ("2", "29", "2024", None),
    ("2", "29", "2023", "birthday: 2-29 is not a calendar day"),
    ("2", "30", None, "birthday: 2-30 is not a calendar day"),
    ("4", "31", "1990", "birthday: 4-31 is not a calendar day"),
    ("12", "28", "1900", None),
    ("02", "09", "1990", None),  # parsed, not looked up
    ("13", "1", None, "line 2, column birth_month: 13 is outside 1..12"),
    ("1", "1", "1899", "line 2, column birth_year: 1899 is before 1900"),
    ("1", "1", "2027", "line 2, column birth_year: 2027 is after the current year (2026)"),
    ("1", "x", None, "line 2, column birth_day: 'x' is not a whole number"),
])
def test_birthdays_looked_up_or_parsed_are_checked_alike(month: str, day: str,
                                                         year: str | None,
                                                         problem: str | None) -> None:
    cells = {"birth_month": month, "birth_day": day} | ({"birth_year": year} if year else {})
    staged, problems = _check(**cells)
    if problem is None:
        assert problems == []
        assert staged[14:17] == (int(month), int(day), int(year) if year else None)
    else:
        assert len(problems) == 1 and problem in problems[0]


def test_yes_and_no_in_any_case() -> None:
    staged, problems = _check(consent_email="YES", consent_post="n", consent_sms="False",
                              email="ann@example.com", phone="+12125550123")
    assert problems == []
    assert staged[24:27] == (1, 0, 0)
    assert staged[28] == address_hash("+12125550123", KEY)  # the sms opt-out's digest
    _, problems = _check(consent_email="maybe")
    assert problems == ["line 2, column consent_email: 'maybe' is not yes/no"]


def test_the_collector_is_relaxed_inside_and_put_back_after_overlapping_sections() -> None:
    before = gc.get_threshold()
    with collector.relaxed_collector():
        assert gc.get_threshold()[0] >= collector.RELAXED_THRESHOLD
        with collector.relaxed_collector():  # another import, meanwhile
            pass
        assert gc.get_threshold()[0] >= collector.RELAXED_THRESHOLD
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), collector.relaxed_collector():
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == before
