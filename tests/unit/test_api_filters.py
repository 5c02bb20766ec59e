"""The API's list filters: a condition for each parameter given, none for one left out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from patronage.api.filters import among, at_least, before, equal, filtered, starts_with
from patronage.db.tables import Member


def _sql(query: object) -> str:
    return str(query.compile(dialect=sqlite.dialect(),  # type: ignore[attr-defined]
                             compile_kwargs={"literal_binds": True}))


def test_only_the_filters_given_become_conditions() -> None:
    base = select(Member.id)
    assert _sql(filtered(base, equal(Member.kind, None), among(Member.id, None),
                         at_least(Member.id, None), before(Member.id, None),
                         starts_with((Member.email,), ""))) == _sql(base)
    got = _sql(filtered(base, equal(Member.kind, "retail"), among(Member.id, [1, 2]),
                        at_least(Member.id, 5), before(Member.id, 9)))
    assert "members.kind = 'retail'" in got
    assert "members.id IN (1, 2)" in got
    assert "members.id >= 5" in got and "members.id < 9" in got


def test_starts_with_takes_wildcards_and_backslashes_literally() -> None:
    got = _sql(filtered(select(Member.id),
                        starts_with((Member.first_name, Member.email), "a_b%c\\d")))
    assert "lower(members.first_name) LIKE lower('a\\_b\\%c\\\\d%') ESCAPE '\\'" in got
    assert " OR " in got
