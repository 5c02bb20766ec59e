"""CSV import is all or nothing, and names every bad row with line, column and reason."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from patronage.db.engine import transaction
from patronage.db.tables import Consent, Member, Order, OrderLine, Product
from patronage.errors import Problems
from patronage.orders.csv_export import export_genealogy, export_members, export_orders
from patronage.orders.csv_import import import_members, import_orders, import_products
from tests.factories import T0

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)

PRODUCTS = """sku,name,retail_price,wholesale_price,qv,cv,is_enrollment_pack,product_line
PACK,Starter pack,199.00,149.00,100,0,yes,packs
SHAKE,Daily shake,65.00,49.00,45,40,no,nutrition
"""

MEMBERS = (
    "ref,kind,first_name,last_name,email,sponsor_ref,owner_ref,referrer_ref,joined_at,timezone,"
    "birth_month,birth_day,consent_email\n"
    """C1,retail,Sally,Ng,sally@example.com,,D2,,2026-02-01T10:00:00Z,America/Chicago,2,29,yes
D1,distributor,Dana,Lee,dana@example.com,,,,2026-01-01T00:00:00Z,America/New_York,,,yes
D2,distributor,Robin,Ray,robin@example.com,D1,,,2026-01-05T00:00:00Z,Europe/London,7,4,no
C2,preferred,Kat,Ono,,,D2,C1,2026-03-01T00:00:00Z,UTC,,,
"""
)

BAD_MEMBERS = """ref,kind,first_name,sponsor_ref,owner_ref,joined_at,timezone,birth_month,birth_day
D1,distributor,Dana,,,2026-01-01T00:00:00Z,UTC,,
C1,retail,Sally,,,2026-02-01T00:00:00Z,UTC,,
D2,distributor,,D1,,2026-01-05T00:00:00Z,UTC,,
C2,preferred,Kat,,D1,yesterday,Mars/Olympus,13,1
C3,retail,Nia,,C9,2026-03-01T00:00:00Z,UTC,2,30
D1,distributor,Dup,,,2026-01-01T00:00:00Z,UTC,,
C4,retail,Omar,,C1,2026-03-01T00:00:00Z,UTC,,
"""


def _count(engine: Engine, table: type) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def test_members_products_and_orders_import_and_export_round_trip(engine: Engine) -> None:
    assert import_products(engine, PRODUCTS).written == 2
    report = import_members(engine, MEMBERS)
    assert report.written == 4
    with transaction(engine) as s:
        by_ref = {m.ref: m for m in s.scalars(select(Member))}
        assert by_ref["C1"].owner_id == by_ref["D2"].id
        assert by_ref["C2"].referrer_id == by_ref["C1"].id
        assert (by_ref["C1"].birth_month, by_ref["C1"].birth_day) == (2, 29)
        assert s.scalar(select(func.count()).select_from(Consent)) == 3
    orders = ("order_key,buyer_ref,placed_at,source,sku,quantity\n"
              "A1,C1,2026-03-02T09:00:00Z,retail,SHAKE,2\n"
              "A1,C1,2026-03-02T09:00:00Z,retail,PACK,1\n"
              "A2,D2,2026-03-03T09:00:00Z,enrollment,PACK,1\n")
    assert import_orders(engine, orders, now=NOW).written == 2
    again = import_orders(engine, orders, now=NOW)  # same keys: nothing new
    assert (again.written, again.already) == (0, 2)
    assert _count(engine, Order) == 2 and _count(engine, OrderLine) == 3

    members_csv, orders_csv, tree_csv = io.StringIO(), io.StringIO(), io.StringIO()
    assert export_members(engine, members_csv) == 4
    assert export_orders(engine, orders_csv) == 3
    assert export_genealogy(engine, tree_csv, T0.replace(year=2027)) == 4
    assert "C2,preferred,Kat" in members_csv.getvalue()
    assert "import:A1,C1," in orders_csv.getvalue()
    tree = tree_csv.getvalue().splitlines()
    assert tree[1].startswith("D1,distributor,0") and tree[2].startswith("D2,distributor,1")


def test_a_file_with_several_bad_rows_reports_each_and_writes_nothing(engine: Engine) -> None:
    with pytest.raises(Problems) as caught:
        import_members(engine, BAD_MEMBERS)
    places = {f"{p.place}: {p.reason}" for p in caught.value.problems}
    expected = [
        "line 3, column (row): a customer must have an owner",
        "line 4, column first_name: is required",
        "line 5, column joined_at: 'yesterday' is not an ISO 8601 time",
        "line 5, column timezone: 'Mars/Olympus' is not an IANA time zone",
        "line 5, column birth_month: 13 is outside 1..12",
        "line 6, column (row): owner_ref: no member with ref 'C9'",
        "line 7, column ref: 'D1' also on line 2",
        "line 8, column (row): owner_ref: 'C1' (line 3) could not be imported",
    ]
    for fragment in expected:
        assert any(fragment in p for p in places), (fragment, places)
    assert _count(engine, Member) == 0


BAD_DOOR = (
    "ref,kind,first_name,email,sponsor_ref,joined_at,birth_year,birth_month,birth_day\n"
    "D1,distributor,Dana,dana@example.com,,2026-01-01T00:00:00Z,,,\n"
    'D2,distributor,Eve,"""evil""@x.com, other@victim.example",D1,2026-01-01T00:00:00Z,,,\n'
    '"D3",distributor,Cal,"cal@example.com\r\nBcc: x@victim.example",D1,'
    "2026-01-01T00:00:00Z,,,\n"
    "D4,distributor,Old,old@example.com,D1,0001-01-01T00:00:00Z,1899,1,2\n"
    "D5,distributor,New,new@example.com,D1,2026-12-01T00:00:00Z,2027,1,2\n"
)


def test_bad_emails_and_dates_are_refused_naming_line_and_column(engine: Engine) -> None:
    with pytest.raises(Problems) as caught:
        import_members(engine, BAD_DOOR, now=T0 + timedelta(days=30))
    places = [f"{p.place}: {p.reason}" for p in caught.value.problems]
    expected = [
        "line 3, column email: '\"evil\"@x.com, other@victim.example' is not a valid email "
        "address: Quoting the part before the @-sign",
        "line 5, column email: 'cal@example.com\\r\\nBcc: x@victim.example' is not a valid email "
        "address",
        "line 6, column joined_at: 0001-01-01T00:00:00+00:00 is before 1970-01-01",
        "line 6, column birth_year: 1899 is before 1900",
        "line 7, column joined_at: 2026-12-01T00:00:00+00:00 is more than 1 day after now",
        "line 7, column birth_year: 2027 is after the current year (2026)",
    ]
    for fragment in expected:
        assert any(p.startswith(fragment) for p in places), (fragment, places)
    assert _count(engine, Member) == 0
    good = import_members(engine, "ref,kind,first_name,email,joined_at\n"
                          "D1,distributor,Dana,Dana@Example.COM,2026-01-01T00:00:00Z\n",
                          now=T0 + timedelta(days=30))
    assert good.written == 1
    with transaction(engine) as s:
        assert s.scalar(select(Member.email)) == "Dana@example.com"


def test_bad_products_and_orders_are_refused_whole(engine: Engine) -> None:
    bad = PRODUCTS + "TEA,Tea,-1.00,1.00,1,1,no,tea\nGUM,Gum,1.999,1.00,x,1,maybe,\n"
    with pytest.raises(Problems) as caught:
        import_products(engine, bad)
    text = str(caught.value)
    assert "line 4, column retail_price: -1.00 is negative" in text
    assert "line 5, column retail_price: '1.999' has more than 2 decimal places" in text
    assert "line 5, column qv: 'x' is not a number" in text
    assert "line 5, column is_enrollment_pack: 'maybe' is not yes/no" in text
    assert _count(engine, Product) == 0
    import_products(engine, PRODUCTS)
    import_members(engine, MEMBERS)
    orders = ("order_key,buyer_ref,placed_at,sku,quantity\n"
              "A1,C1,2026-03-02T09:00:00Z,SHAKE,1\n"
              "A1,C1,2026-03-02T09:00:00Z,NOPE,1\n"
              "A2,ZZ,2026-03-02T09:00:00Z,SHAKE,0\n")
    with pytest.raises(Problems) as caught:
        import_orders(engine, orders, now=NOW)
    text = str(caught.value)
    assert "line 3, column sku: unknown sku 'NOPE'" in text
    assert "line 4, column quantity: 0 is outside 1..1000000" in text
    assert _count(engine, Order) == 0


def test_cli_import_exits_non_zero_listing_problems(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text(BAD_MEMBERS)
    cmd = [sys.executable, "-m", "patronage", "--db", db_url, "import", "members", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "nothing was imported" in done.stderr
    assert "line 5, column birth_month: 13 is outside 1..12" in done.stderr
    ok = tmp_path / "ok.csv"
    ok.write_text(MEMBERS)
    dry = subprocess.run([*cmd[:-1], str(ok), "--dry-run"], capture_output=True, text=True,
                         timeout=60)
    assert dry.returncode == 0 and "would import 4" in dry.stdout


def test_cli_import_refuses_a_bad_email_and_a_join_date_ahead_of_today(db_url: str,
                                                                       tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text("ref,kind,first_name,email,joined_at\n"
                    'D1,distributor,Eve,"""evil""@x.com, other@victim.example",'
                    "2026-01-01T00:00:00Z\n"
                    "D2,distributor,Fay,fay@example.com,2999-01-01T00:00:00Z\n")
    cmd = [sys.executable, "-m", "patronage", "--db", db_url, "import", "members", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "line 2, column email: '\"evil\"@x.com, other@victim.example' is not a valid" \
        in done.stderr
    assert "line 3, column joined_at: 2999-01-01T00:00:00+00:00 is more than 1 day after now" \
        in done.stderr
