"""Bulk writes keep every value exactly, awkward text included, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, select

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.subscriptions import Item, subscribe
from patronage.db.autoship import SimulatedCharge, Subscription
from patronage.db.bulk import insert_ignore, reset_sequences, update_rows, write_rows
from patronage.db.compensation import PayoutSkip
from patronage.db.engine import transaction
from patronage.db.tables import GenealogyChange, Product
from patronage.orders.catalog import NewProduct, add_product
from tests.factories import catalog, customer, distributor


def test_bulk_rows_round_trip_with_awkward_text(engine: Engine) -> None:
    names = ["plain", "tab\there", "new\nline", "back\\slash", "quote ' \" ", "ünïcode ✓"]
    n = len(names)
    with engine.begin() as conn:
        write_rows(conn, "products", {
            "id": np.arange(1, n + 1), "sku": [f"S{i}" for i in range(n)], "name": names,
            "retail_price": np.full(n, 1000), "wholesale_price": np.full(n, 800),
            "qv": np.arange(n) * 100, "cv": np.zeros(n, dtype=np.int64),
            "is_enrollment_pack": np.array([True, False] * 3),
            "product_line": [None, "x", None, "y", None, "z"], "active": [True] * n,
        })
        reset_sequences(conn, ["products"])
    with transaction(engine) as s:
        rows = s.execute(select(Product.name, Product.qv, Product.is_enrollment_pack,
                                Product.product_line).order_by(Product.id)).all()
        # The id sequence continues above the written ids.
        added = add_product(s, NewProduct("NEXT", "next", 1, 1, 1, 1))
    assert [r[0] for r in rows] == names
    assert [r[1] for r in rows] == [i * 100 for i in range(n)]
    assert [r[2] for r in rows] == [True, False] * 3
    assert [r[3] for r in rows] == [None, "x", None, "y", None, "z"]
    assert added.id == n + 1


def test_bulk_rows_of_every_column_kind_round_trip(engine: Engine) -> None:
    """Small integers, names stored as their numbers, nullable ids, times as unix seconds,
    free text: the same values come back (binary COPY on PostgreSQL, executemany on SQLite)."""
    with transaction(engine) as s:
        member = distributor(s)
    n = 5
    with engine.begin() as conn:
        write_rows(conn, "payout_skips", {
            "run_id": np.full(n, 9), "bonus": np.array([2, 1, 2, 1, 6]),
            "source_kind": np.ones(n, dtype=np.int64), "source_id": np.arange(n) + 2**40,
            "level": np.arange(n, dtype=np.int8), "member_id": np.arange(n) + 1,
            "reason": np.full(n, 3), "passed_to_id": [None, 7, None, 2**31 - 1, 0]})
        write_rows(conn, "genealogy_changes", {
            "member_id": np.full(2, member), "field": ["sponsor", "owner"],
            "old_value": [None, "12"], "new_value": ["ünï", None],
            "effective_at": np.array([0, 1_790_000_123]),
            "recorded_at": np.array([946_684_800, 2_000_000_000]),
            "actor": ["a\tb", "c\\d"], "reason": ["", "new\nline"]},
            times=["effective_at", "recorded_at"])
    with transaction(engine) as s:
        skips = s.execute(select(PayoutSkip.bonus, PayoutSkip.source_id, PayoutSkip.level,
                                 PayoutSkip.passed_to_id).order_by(PayoutSkip.id)).all()
        changes = s.execute(select(
            GenealogyChange.old_value, GenealogyChange.new_value, GenealogyChange.effective_at,
            GenealogyChange.recorded_at, GenealogyChange.actor, GenealogyChange.reason,
        ).order_by(GenealogyChange.id)).all()
    assert [tuple(r) for r in skips] == [
        ("unilevel", 2**40, 0, None), ("fast_start", 2**40 + 1, 1, 7),
        ("unilevel", 2**40 + 2, 2, None), ("fast_start", 2**40 + 3, 3, 2**31 - 1),
        ("generation", 2**40 + 4, 4, 0)]
    seconds = [int(r[2].replace(tzinfo=r[2].tzinfo or UTC).timestamp()) for r in changes]
    recorded = [int(r[3].replace(tzinfo=r[3].tzinfo or UTC).timestamp()) for r in changes]
    assert seconds == [0, 1_790_000_123] and recorded == [946_684_800, 2_000_000_000]
    assert [(r[0], r[1], r[4], r[5]) for r in changes] == [
        (None, "ünï", "a\tb", ""), ("12", None, "c\\d", "new\nline")]


def test_a_value_too_large_for_its_column_is_refused_by_name(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite integers are 64-bit whatever the column says")
    with pytest.raises(ValueError, match="column member_id"), engine.begin() as conn:
        write_rows(conn, "payout_skips", {
            "run_id": np.full(1, 1), "bonus": np.array([2]), "source_kind": np.array([1]),
            "source_id": np.ones(1, dtype=np.int64), "level": np.zeros(1, dtype=np.int64),
            "member_id": np.array([2**31]), "reason": np.ones(1, dtype=np.int64)})


def test_dates_and_times_as_datetime64_round_trip_with_nulls(engine: Engine) -> None:
    now = datetime(2026, 3, 1, 8, tzinfo=UTC)
    with transaction(engine) as s:
        catalog(s)
        d = distributor(s)
        ids = [subscribe(s, customer(s, d, f"C{i}"), [Item("SHAKE", 1)],
                         Frequency("monthly", day=5), start=date(2026, 3, 1), now=now,
                         actor="customer").id for i in range(3)]
    with engine.begin() as conn:
        update_rows(conn, "subscriptions", {
            "id": np.array(ids),
            "next_run": np.array(["2026-04-05", "2027-01-31", "1999-12-31"], "datetime64[D]"),
            "retry_on": np.array([None, "2026-03-02", None], "datetime64[D]"),
            "cancelled_at": np.array(["2026-03-01T08:15:30.250000", "NaT", "1999-12-31T23:59:59"],
                                     "datetime64[us]")})
    with transaction(engine) as s:
        rows = {sub.id: (sub.next_run, sub.retry_on, sub.cancelled_at)
                for sub in s.scalars(select(Subscription))}
    assert [rows[i] for i in ids] == [
        (date(2026, 4, 5), None, datetime(2026, 3, 1, 8, 15, 30, 250000, tzinfo=UTC)),
        (date(2027, 1, 31), date(2026, 3, 2), None),
        (date(1999, 12, 31), None, datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC))]


def test_insert_ignore_keeps_stored_rows_and_adds_only_new_keys(engine: Engine) -> None:
    """New keys go straight in; a block with a stored key falls back to skipping it, and the
    stored row keeps its first values."""
    def charges(keys: list[str], amount: int) -> dict[str, Any]:
        return {"key": keys, "amount": [amount] * len(keys), "approved": [True] * len(keys),
                "decline": [None] * len(keys)}

    with engine.begin() as conn:
        assert insert_ignore(conn, "simulated_charges", charges(["a", "b"], 1)) == 2
    with engine.begin() as conn:
        assert insert_ignore(conn, "simulated_charges", charges(["c", "a", "d"], 2)) == 2
        assert insert_ignore(conn, "simulated_charges", charges(["a", "b"], 3)) == 0
    with transaction(engine) as s:
        stored = dict(s.execute(select(SimulatedCharge.key, SimulatedCharge.amount)).all())
    assert stored == {"a": 1, "b": 1, "c": 2, "d": 2}
