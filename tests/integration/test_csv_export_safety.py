"""CSV exports never write a cell a spreadsheet would run as a formula, and still round-trip."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from patronage.db.engine import make_engine, transaction
from patronage.db.tables import Member
from patronage.orders.csv_export import export_members
from patronage.orders.csv_import import import_members
from tests.e2e.world import World, seed
from tests.integration.test_web_pages import signed_in

pytestmark = pytest.mark.storage

HOSTILE = (
    "ref,kind,first_name,last_name,phone,joined_at\n"
    'D1,distributor,"=HYPERLINK(""http://evil.example"",""x"")",@SUM(A1),'
    "+1 212 555 0100,2026-01-01T00:00:00Z\n"
)


def test_member_export_quotes_formula_cells_and_reimports_the_same_text(
        engine: Engine, sqlite_template: Path, tmp_path: Path) -> None:
    import_members(engine, HOSTILE)
    out = io.StringIO()
    assert export_members(engine, out) == 1
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["first_name"] == "'" + '=HYPERLINK("http://evil.example","x")'
    assert row["last_name"] == "'@SUM(A1)"
    assert row["phone"] == "'+12125550100"

    copy = tmp_path / "copy.db"
    shutil.copy(sqlite_template, copy)
    other = make_engine(f"sqlite:///{copy}")
    try:
        assert import_members(other, out.getvalue()).written == 1
        with transaction(other) as s:
            m = s.scalars(select(Member)).one()
            assert (m.first_name, m.last_name, m.phone) == (
                '=HYPERLINK("http://evil.example","x")', "@SUM(A1)", "+12125550100")
    finally:
        other.dispose()


def test_team_csv_quotes_a_formula_led_name(engine: Engine) -> None:
    world: World = seed(engine)
    with transaction(engine) as s:
        s.execute(update(Member).where(Member.id == world.ben)
                  .values(first_name="=cmd|' /C calc'!A0"))
    ann, _ = signed_in(engine, "distributor")
    rows = list(csv.DictReader(io.StringIO(ann.get("/team.csv").text)))
    assert [r["name"].startswith("'=cmd") for r in rows] == [True]
