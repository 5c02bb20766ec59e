"""Members files whose rows refer to rows further down: written with every reference as the file
gives it, cycles named as a plain search over the file finds them, in any order of the rows,
and (on SQLite, which checks foreign keys row by row) at the cost of a file in order."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, select

from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import Problems
from patronage.orders import import_stage, members_import
from patronage.orders.csv_import import import_members
from patronage.orders.import_cycles import make_links

pytestmark = pytest.mark.storage
NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)
HEADER = "ref,kind,first_name,sponsor_ref,referrer_ref,joined_at\n"
_batch = itertools.count()


def _file(refs: list[str], links: list[tuple[int | None, int | None]],
          hours: list[int] | None = None) -> str:
    """Distributors ``refs``, row ``i`` sponsored and referred by the rows ``links[i]`` gives
    (indexes into ``refs``, or none), joined ``hours[i]`` hours into 2026 (all at its start,
    without)."""
    out = [HEADER]
    for i, (ref, (sponsor, referrer)) in enumerate(zip(refs, links, strict=True)):
        joined = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours[i] if hours else 0)
        out.append(f"{ref},distributor,Dana,{'' if sponsor is None else refs[sponsor]},"
                   f"{'' if referrer is None else refs[referrer]},"
                   f"{joined:%Y-%m-%dT%H:%M:%SZ}\n")
    return "".join(out)


def _cycles_by_search(refs: list[str], links: list[tuple[int | None, int | None]]) -> set[str]:
    """The reference implementation: each reference to a row at or below its own, from which
    following references (depth first) comes back to the referring row."""
    parents = [[p for p in pair if p is not None] for pair in links]

    def reaches(start: int, goal: int) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(parents[node])
        return False

    named = set()
    for row, pair in enumerate(links):
        for column, target in zip(("sponsor_ref", "referrer_ref"), pair, strict=True):
            if target is not None and target >= row and reaches(target, row):
                named.add(f"line {row + 2}, column {column}: cycle through "
                          f"{refs[target]!r} (line {target + 2})")
    return named


@st.composite
def _files(draw: st.DrawFn) -> tuple[list[tuple[int | None, int | None]], list[int]]:
    """References in any direction; join hours from a few (so that in some files every
    reference leads to a row that joined before, and in others not)."""
    n = draw(st.integers(1, 9))
    target = st.one_of(st.none(), st.integers(0, n - 1))
    links = draw(st.lists(st.tuples(target, target), min_size=n, max_size=n))
    return links, draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(drawn=_files())
def test_cycles_are_named_as_a_plain_search_names_them(
        engine: Engine, drawn: tuple[list[tuple[int | None, int | None]], list[int]]) -> None:
    links, hours = drawn
    batch = next(_batch)
    refs = [f"B{batch}R{i}" for i in range(len(links))]
    expected = _cycles_by_search(refs, links)
    try:
        report = import_members(engine, _file(refs, links, hours), now=NOW)
    except Problems as problems:
        named = {str(p) for p in problems.problems if "cycle through" in str(p)}
        assert named == expected
        assert expected, problems.problems
        return
    assert not expected
    assert report.written == len(refs)
    with transaction(engine) as s:
        got = {m.ref: m for m in s.scalars(select(Member).where(Member.ref.in_(refs)))}
    for ref, (sponsor, referrer) in zip(refs, links, strict=True):
        assert got[ref].sponsor_id == (None if sponsor is None else got[refs[sponsor]].id)
        assert got[ref].referrer_id == (None if referrer is None else got[refs[referrer]].id)


def _tree(n: int) -> list[tuple[int | None, int | None]]:
    """A sponsor tree of ``n`` distributors (each sponsored by an earlier one, a third also
    referred by one)."""
    rng = random.Random(5)
    return [(None, None)] + [(rng.randrange(i), rng.randrange(i) if rng.random() < 0.3 else None)
                             for i in range(1, n)]


def _shuffled(links: list[tuple[int | None, int | None]], seed: int) -> tuple[
        list[int], list[tuple[int | None, int | None]]]:
    """The same rows in another order: the permutation (new place → old row) and the links."""
    order = list(range(len(links)))
    random.Random(seed).shuffle(order)
    place = {old: new for new, old in enumerate(order)}
    return order, [(None if s is None else place[s], None if r is None else place[r])
                   for s, r in (links[old] for old in order)]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_shuffled_tree_is_written_as_the_file_gives_it(engine: Engine, seed: int) -> None:
    tree = _tree(400)
    order, links = _shuffled(tree, seed)
    refs = [f"S{seed}T{old}" for old in order]
    assert import_members(engine, _file(refs, links), now=NOW).written == len(tree)
    with transaction(engine) as s:
        got = {m.ref: m for m in s.scalars(select(Member).where(Member.ref.in_(refs)))}
    for old, (sponsor, referrer) in enumerate(tree):
        me = got[f"S{seed}T{old}"]
        assert me.sponsor_id == (None if sponsor is None else got[f"S{seed}T{sponsor}"].id)
        assert me.referrer_id == (None if referrer is None else got[f"S{seed}T{referrer}"].id)


@pytest.mark.parametrize("dated", [True, False])
def test_a_file_whose_references_all_lead_to_earlier_joins_needs_no_search(
        engine: Engine, dated: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shuffled tree whose members joined after those they refer to (as in any export) has
    its cycles ruled out without the search's tables; joined all on one day, it is searched
    (a tie is no proof), and written the same either way."""
    searched: list[str] = []
    monkeypatch.setattr(members_import, "make_links",
                        lambda conn, sql: searched.append(sql) or make_links(conn, sql))
    tree = _tree(300)
    order, links = _shuffled(tree, 3)
    refs = [f"J{int(dated)}T{old}" for old in order]
    hours = list(order) if dated else None  # row ``old`` of the tree joined at hour ``old``
    assert import_members(engine, _file(refs, links, hours), now=NOW).written == len(tree)
    assert bool(searched) is not dated
    with transaction(engine) as s:
        got = {m.ref: m for m in s.scalars(select(Member).where(Member.ref.in_(refs)))}
    for old, (sponsor, referrer) in enumerate(tree):
        me = got[f"J{int(dated)}T{old}"]
        assert me.sponsor_id == (None if sponsor is None else got[f"J{int(dated)}T{sponsor}"].id)
        assert me.referrer_id == (
            None if referrer is None else got[f"J{int(dated)}T{referrer}"].id)


def test_a_reference_to_a_later_join_is_no_proof_and_a_cycle_is_still_found(
        engine: Engine) -> None:
    """Join times that go back along all but one reference: that one closes a cycle."""
    refs = ["Y0", "Y1", "Y2"]  # Y0 sponsored by Y2, Y1 by Y0, Y2 by Y1
    links: list[tuple[int | None, int | None]] = [(2, None), (0, None), (1, None)]
    with pytest.raises(Problems) as caught:
        import_members(engine, _file(refs, links, [5, 6, 7]), now=NOW)
    assert [str(p) for p in caught.value.problems if "cycle" in str(p)] == [
        "line 2, column sponsor_ref: cycle through 'Y2' (line 4)"]


@pytest.fixture
def sqlite_steps(engine: Engine) -> Iterator[list[int]]:
    """SQLite only: a count of the virtual machine's steps (in thousands) run on the engine's
    connections while the test runs."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's row-by-row foreign keys: PostgreSQL checks keys of a statement "
                    "at its end, and in bulk under the bulk-keys rule")
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.set_progress_handler(count, 1000)

    event.listen(engine, "checkout", on_checkout)
    yield steps
    event.remove(engine, "checkout", on_checkout)


def test_rows_referring_down_the_file_cost_what_rows_in_order_cost(
        engine: Engine, sqlite_steps: list[int], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """A file in reverse order (every reference to a row further down) against the same tree in
    order, with the plain indexes dropped as for a large import. SQLite counts a reference to a
    row not written yet as a pending violation, and while one is pending each member written
    looks for rows referring to it in every table that refers to members: written in one
    statement, the reversed file of 3,000 rows took 89 times the steps of the file in order
    (1.8 times since its references further down are set after the rows are written)."""
    monkeypatch.setattr(import_stage, "BULK_KEYS_ROWS", 500)
    tree = _tree(3000)
    steps = {}
    for name, order in (("in order", list(range(len(tree)))),
                        ("reversed", list(reversed(range(len(tree)))))):
        place = {old: new for new, old in enumerate(order)}
        links: list[tuple[int | None, int | None]] = [
            (None if s is None else place[s], None if r is None else place[r])
            for s, r in (tree[old] for old in order)]
        refs = [f"{name[0]}{old}" for old in order]
        path = tmp_path / f"{name[0]}.csv"
        path.write_text(_file(refs, links), encoding="utf-8")
        before = sqlite_steps[0]
        assert import_members(engine, path, now=NOW).written == len(tree)
        steps[name] = sqlite_steps[0] - before
    assert steps["reversed"] < 3 * steps["in order"], steps


def test_a_problem_after_ten_thousand_references_ahead_is_still_found(engine: Engine) -> None:
    """The checks of references read back at most 10,000 rows, problems and references to
    rows further down together: the problems come first, so references ahead filling the list
    leave none out."""
    leads = [f"L{i}" for i in range(10)]
    rows = [f"A{i},distributor,Ann,{leads[i % 10]},,2026-01-01T00:00:00Z\n" for i in range(10_000)]
    rows += [f"{lead},distributor,Lee,,,2026-01-01T00:00:00Z\n" for lead in leads]
    rows.append("Z1,distributor,Zoe,NOPE,,2026-01-01T00:00:00Z\n")
    with pytest.raises(Problems) as caught:
        import_members(engine, HEADER + "".join(rows), now=NOW)
    assert [str(p) for p in caught.value.problems] == [
        "line 10012, column (row): sponsor_ref: no member with ref 'NOPE'"]
    with transaction(engine) as s:
        assert s.scalar(select(Member.id).limit(1)) is None
