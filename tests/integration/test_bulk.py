"""Bulk writes keep every value exactly, awkward text included, on both databases."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, select

from patronage.db.bulk import reset_sequences, write_rows
from patronage.db.engine import transaction
from patronage.db.tables import Product
from patronage.orders.catalog import NewProduct, add_product


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
