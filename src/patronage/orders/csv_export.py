"""CSV export of members, orders (one row per line) and the genealogy as of a date.

Member and order exports use the import columns, so an export can be imported elsewhere.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import Engine, select

from patronage.csv_cells import safe_mapping
from patronage.db.loaders import load_genealogy
from patronage.db.markets import Market
from patronage.db.tables import Consent, Member, Order, OrderLine, Product
from patronage.facts import KIND_CODES
from patronage.money import format_amount
from patronage.orders.csv_import import MEMBER_COLUMNS, ORDER_COLUMNS

KIND_NAMES = {v: k for k, v in KIND_CODES.items()}


def _ref(member_id: int | None) -> str:
    return "" if member_id is None else f"#{member_id}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def export_members(engine: Engine, out: IO[str]) -> int:
    """Every member; ``*_ref`` columns hold the member's ref, or ``#id`` when it has none."""
    writer = csv.DictWriter(out, MEMBER_COLUMNS)
    writer.writeheader()
    count = 0
    with engine.connect() as conn:
        refs = {mid: ref for mid, ref in conn.execute(select(Member.id, Member.ref))}
        markets = {mid: code for mid, code in conn.execute(select(Market.id, Market.code))}
        default = conn.scalar(select(Market.code).where(Market.is_default.is_(True)))
        consents: dict[tuple[int, str], bool] = {}
        for mid, channel, granted in conn.execute(
            select(Consent.member_id, Consent.channel, Consent.granted)
            .order_by(Consent.at, Consent.id)
        ):
            consents[(mid, channel)] = bool(granted)

        def ref(mid: int | None) -> str:
            return "" if mid is None else (refs.get(mid) or _ref(mid))

        for m in conn.execute(select(Member).order_by(Member.id)).mappings():
            row = {c: m.get(c) for c in MEMBER_COLUMNS if c in m}
            row.update({
                "ref": ref(m["id"]), "sponsor_ref": ref(m["sponsor_id"]),
                "owner_ref": ref(m["owner_id"]), "referrer_ref": ref(m["referrer_id"]),
                "joined_at": _iso(m["joined_at"]),
                "market": markets.get(m["market_id"], default or ""),
            })
            for ch in ("email", "post", "sms"):
                given = consents.get((m["id"], ch))
                row[f"consent_{ch}"] = "" if given is None else ("yes" if given else "no")
            writer.writerow(safe_mapping(row))
            count += 1
    return count


def export_orders(engine: Engine, out: IO[str]) -> int:
    """Every order line: the order's key (its idempotency key, or ``#id``), buyer, product."""
    writer = csv.DictWriter(out, ORDER_COLUMNS)
    writer.writeheader()
    count = 0
    with engine.connect() as conn:
        refs = {mid: ref for mid, ref in conn.execute(select(Member.id, Member.ref))}
        query = (
            select(Order.id, Order.idempotency_key, Order.buyer_id, Order.placed_at,
                   Order.source, Order.currency, Product.sku, OrderLine.quantity,
                   OrderLine.unit_price)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .order_by(Order.id, OrderLine.id)
        )
        for oid, key, buyer, placed, source, currency, sku, qty, unit in conn.execute(query):
            writer.writerow(safe_mapping({
                "order_key": key or f"#{oid}", "buyer_ref": refs.get(buyer) or _ref(buyer),
                "placed_at": _iso(placed), "source": source, "currency": currency, "sku": sku,
                "quantity": qty, "unit_price": format_amount(unit),
            }))
            count += 1
    return count


GENEALOGY_COLUMNS = ["member_ref", "kind", "depth", "sponsor_ref", "owner_ref", "referrer_ref",
                     "joined_at"]


def genealogy_rows(engine: Engine, as_of: datetime) -> Iterator[dict[str, object]]:
    """The tree as of ``as_of``, in an order where every subtree is contiguous."""
    with engine.connect() as conn:
        g = load_genealogy(conn, as_of)
        refs = {mid: ref for mid, ref in conn.execute(select(Member.id, Member.ref))}

    def ref(index: int) -> str:
        if index < 0:
            return ""
        mid = int(g.member_id[index])
        return refs.get(mid) or _ref(mid)

    for i in g.preorder.tolist():
        yield {
            "member_ref": ref(i), "kind": KIND_NAMES[int(g.kind[i])], "depth": int(g.depth[i]),
            "sponsor_ref": ref(int(g.sponsor[i])), "owner_ref": ref(int(g.owner[i])),
            "referrer_ref": ref(int(g.referrer[i])),
            "joined_at": datetime.fromtimestamp(int(g.joined_at[i]), UTC).isoformat(),
        }


def export_genealogy(engine: Engine, out: IO[str], as_of: datetime) -> int:
    writer = csv.DictWriter(out, GENEALOGY_COLUMNS)
    writer.writeheader()
    count = 0
    for row in genealogy_rows(engine, as_of):
        writer.writerow(safe_mapping(row))
        count += 1
    return count
