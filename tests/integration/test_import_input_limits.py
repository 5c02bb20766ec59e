"""NUL characters, texts longer than their column and bad email addresses are refused where
they enter: the CSV imports, the contacts import and account creation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from patronage.care.contacts import import_contacts
from patronage.db.engine import transaction
from patronage.db.tables import Member, Order
from patronage.errors import PatronageError, Problems
from patronage.orders.csv_import import import_members, import_orders, import_products
from patronage.orders.csv_rows import MAX_PROBLEMS
from patronage.web.accounts import create_account
from tests.fixtures.care_data import distributor
from tests.integration.test_csv_import import MEMBERS, NOW, PRODUCTS

pytestmark = pytest.mark.storage
EVIL = '"evil"@x.com, other@victim.example'


def _problems(call: object) -> list[str]:
    with pytest.raises(Problems) as caught:
        call()  # type: ignore[operator]
    return [str(p) for p in caught.value.problems]


def _count(engine: Engine, table: type) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def test_nul_characters_and_overlong_text_are_refused_by_line_and_column(engine: Engine) -> None:
    members = ("ref,kind,first_name,last_name,city,joined_at\n"
               "D1,distributor,Da\x00na,Lee,Paris,2026-01-01T00:00:00Z\n"
               f"D2,distributor,Robin,{'x' * 101},Paris,2026-01-01T00:00:00Z\n"
               f"D3,distributor,Kim,Ray,{'c' * 101},2026-01-01T00:00:00Z\n"
               f"{'r' * 65},distributor,Al,Bo,Rome,2026-01-01T00:00:00Z\n"
               f"D5,distributor,{'f' * 100},Bo,Rome,2026-01-01T00:00:00Z\n")
    assert _problems(lambda: import_members(engine, members)) == [
        "line 2, column first_name: holds a NUL character (\\0), which no text may hold",
        "line 3, column last_name: 101 characters; at most 100 fit",
        "line 4, column city: 101 characters; at most 100 fit",
        "line 5, column ref: 65 characters; at most 64 fit",
    ]
    assert _count(engine, Member) == 0
    import_products(engine, PRODUCTS)
    import_members(engine, MEMBERS)
    orders = ("order_key,buyer_ref,placed_at,sku,quantity\n"
              f"{'k' * 122},C1,2026-03-02T09:00:00Z,SHAKE,1\n"
              "A2,C1,2026-03-02T09:00:00Z,SH\x00AKE,1\n")
    assert _problems(lambda: import_orders(engine, orders, now=NOW)) == [
        "line 2, column order_key: 122 characters; at most 121 fit",
        "line 3, column sku: holds a NUL character (\\0), which no text may hold",
    ]
    assert _count(engine, Order) == 0


def test_a_file_bad_on_every_line_lists_the_first_problems_and_counts_the_rest(
        engine: Engine) -> None:
    bad = "ref,kind,first_name,joined_at\n" + "".join(
        f"D{i},distributor,Dana,yesterday\n" for i in range(MAX_PROBLEMS + 500))
    problems = _problems(lambda: import_members(engine, bad))
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0] == "line 2, column joined_at: 'yesterday' is not an ISO 8601 time"
    assert problems[-1] == "(more): 500 more problem(s) not listed"


def test_a_cycle_of_references_inside_the_file_is_named(engine: Engine) -> None:
    cycle = ("ref,kind,first_name,sponsor_ref,referrer_ref,joined_at\n"
             "D1,distributor,Dana,D3,,2026-01-01T00:00:00Z\n"
             "D2,distributor,Robin,D1,,2026-01-01T00:00:00Z\n"
             "D3,distributor,Kim,D2,,2026-01-01T00:00:00Z\n"
             "D4,distributor,Lou,,D4,2026-01-01T00:00:00Z\n")
    problems = _problems(lambda: import_members(engine, cycle))
    assert "line 2, column sponsor_ref: cycle through 'D3' (line 4)" in problems
    assert "line 5, column referrer_ref: cycle through 'D4' (line 5)" in problems
    assert _count(engine, Member) == 0
    # Referring to a row further down is fine when it closes no cycle.
    ahead = ("ref,kind,first_name,sponsor_ref,joined_at\n"
             "D2,distributor,Robin,D1,2026-01-01T00:00:00Z\n"
             "D1,distributor,Dana,,2026-01-01T00:00:00Z\n")
    assert import_members(engine, ahead).written == 2
    with transaction(engine) as s:
        by_ref = {m.ref: m for m in s.scalars(select(Member))}
    assert by_ref["D2"].sponsor_id == by_ref["D1"].id


def test_contacts_csv_refuses_nul_overlong_and_bad_addresses(engine: Engine,
                                                            tmp_path: Path) -> None:
    text = ("first_name,last_name,email,phone\n"
            "Tom,Ray,tom@example.com,+1 555 0100\n"
            f'Eve,Doe,"{EVIL.replace(chr(34), chr(34) * 2)}",\n'
            "Ann\x00,Lee,,\n"
            f"Bo,{'x' * 101},,\n"
            f"Cy,Lu,,{'5' * 41}\n")
    with transaction(engine) as s:
        dana = distributor(s)
    path = tmp_path / "contacts.csv"
    path.write_text(text, encoding="utf-8")
    with transaction(engine) as s, pytest.raises(Problems) as caught:
        import_contacts(s, dana, path, now=NOW)
    problems = [str(p) for p in caught.value.problems]
    assert any(p.startswith("contacts.csv, line 3: '\"evil\"@x.com, other@victim.example' is "
                            "not a valid email address") for p in problems), problems
    assert ("contacts.csv, line 4, column first_name: holds a NUL character (\\0), which no "
            "text may hold") in problems
    assert "contacts.csv, line 5, column last_name: 101 characters; at most 100 fit" in problems
    assert "contacts.csv, line 6, column phone: 41 characters; at most 40 fit" in problems


def test_accounts_refuse_an_address_that_is_not_one_valid_address(engine: Engine) -> None:
    with transaction(engine) as s, pytest.raises(PatronageError,
                                                 match="is not a valid email address"):
        create_account(s, email=EVIL, password="correct horse battery 9", role="staff",
                       member_id=None, now=datetime(2026, 10, 1, tzinfo=UTC))
    with transaction(engine) as s:
        made = create_account(s, email=" Staff@Example.COM ", password="correct horse battery 9",
                              role="staff", member_id=None, now=datetime(2026, 10, 1, tzinfo=UTC))
    assert made.email == "staff@example.com"
