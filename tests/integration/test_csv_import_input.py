"""CSV files in the wrong encoding or shape, and numbers written oddly, are refused by line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from patronage.errors import Problems
from patronage.orders.csv_import import import_members, import_orders, import_products
from tests.integration.test_csv_import import MEMBERS, NOW, PRODUCTS

pytestmark = pytest.mark.storage


def _problems(call: object) -> str:
    with pytest.raises(Problems) as caught:
        call()  # type: ignore[operator]
    return "\n".join(f"{p.place}: {p.reason}" for p in caught.value.problems)


def test_latin1_and_utf16_files_are_named_not_crashed_on(engine: Engine, tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(("ref,kind,first_name,joined_at\n"
                       "D1,distributor,José,2026-01-01T00:00:00Z\n").encode("latin-1"))
    assert "line 2: byte 0xe9 is not UTF-8" in _problems(lambda: import_members(engine, latin))
    wide = tmp_path / "wide.csv"
    wide.write_text("ref,kind,first_name,joined_at\n", encoding="utf-16")
    assert "the file is UTF-16" in _problems(lambda: import_members(engine, wide))


def test_duplicate_columns_and_extra_values_are_refused(engine: Engine) -> None:
    twice = "sku,name,retail_price,wholesale_price,qv,cv,cv\nA,A,1.00,1.00,1,1,2\n"
    assert "named more than once: cv" in _problems(lambda: import_products(engine, twice))
    extra = ("sku,name,retail_price,wholesale_price,qv,cv\n"
             "A,A,1.00,1.00,1,1,oops\n")
    assert "line 2, column (row): 7 values for 6 columns" in _problems(
        lambda: import_products(engine, extra))


def test_prices_in_other_digits_or_exponents_and_unknown_countries_are_refused(
        engine: Engine) -> None:
    odd = ("sku,name,retail_price,wholesale_price,qv,cv\n"
           "A,A,\u0661\u0669.\u0669\u0660,1.00,1,1\n"
           "B,B,1e3,1.00,1,1\n")
    text = _problems(lambda: import_products(engine, odd))
    assert "line 2, column retail_price:" in text and "line 3, column retail_price:" in text
    nowhere = "ref,kind,first_name,joined_at,country\nD1,distributor,Dana,2026-01-01T00:00:00Z,XX\n"
    assert "line 2, column country: 'XX' is not a two-letter ISO 3166" in _problems(
        lambda: import_members(engine, nowhere))


def test_importing_the_same_orders_again_says_nothing_new(db_url: str, engine: Engine,
                                                         tmp_path: Path) -> None:
    import_products(engine, PRODUCTS)
    import_members(engine, MEMBERS)
    path = tmp_path / "orders.csv"
    path.write_text("order_key,buyer_ref,placed_at,source,sku,quantity\n"
                    "A1,C1,2026-03-02T09:00:00Z,retail,SHAKE,2\n"
                    "A2,D2,2026-03-03T09:00:00Z,enrollment,PACK,1\n")
    first = import_orders(engine, path, now=NOW)
    again = import_orders(engine, path, now=NOW)
    assert (first.written, first.already) == (2, 0)
    assert (again.written, again.already) == (0, 2)
    cmd = [sys.executable, "-m", "patronage", "--db", db_url, "import", "orders", str(path),
           "--now", NOW.isoformat()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "imported 0 new orders record(s), 2 already there" in (
        done.stdout.replace("\n", " ")), done.stdout
