"""Bulk loaders: the genealogy and a period's order lines as numpy arrays.

Reads with plain SQL on the DB-API cursor (no ORM object per row). The genealogy is read *as of*
an instant: members who joined later are left out, and sponsor/owner/kind moves effective later
are undone from the genealogy change records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text

from patronage.facts import (
    KIND_CODES,
    KIND_DISTRIBUTOR,
    SOURCE_CODES,
    STATUS_CODES,
    Genealogy,
    OrderLines,
    PeriodFacts,
    RefundLines,
    index_of,
)
from patronage.network.genealogy import build


def _ts(conn: Connection, moment: datetime) -> Any:
    """A bound value comparable with stored times on this dialect."""
    moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None) if conn.dialect.name == "sqlite" else moment


def _epoch_sql(conn: Connection, column: str) -> str:
    if conn.dialect.name == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"


def _columns(rows: Sequence[Any], width: int) -> list[np.ndarray[Any, Any]]:
    if not rows:
        return [np.zeros(0, dtype=np.int64) for _ in range(width)]
    arr = np.array(rows, dtype=object)
    return [arr[:, i] for i in range(width)]


def _int(col: np.ndarray[Any, Any], missing: int = -1) -> np.ndarray[Any, np.dtype[np.int64]]:
    out = np.fromiter((missing if v is None else v for v in col), dtype=np.int64, count=len(col))
    return out


def load_genealogy(conn: Connection, as_of: datetime) -> Genealogy:
    """The tree as of ``as_of`` (exclusive): members joined before it, moves undone after it."""
    rows = conn.execute(
        text(
            f"SELECT id, kind, status, sponsor_id, owner_id, referrer_id, "
            f"{_epoch_sql(conn, 'joined_at')} FROM members WHERE joined_at < :t ORDER BY id"
        ),
        {"t": _ts(conn, as_of)},
    ).all()
    ids, kinds, statuses, sponsors, owners, referrers, joined = _columns(rows, 7)
    member_id = _int(ids)
    kind_map = {k: v for k, v in KIND_CODES.items()}
    kind = np.fromiter((kind_map[k] for k in kinds), dtype=np.int8, count=len(kinds))
    status = np.fromiter((STATUS_CODES[s] for s in statuses), dtype=np.int8, count=len(statuses))
    sponsor_id, owner_id, referrer_id = _int(sponsors), _int(owners), _int(referrers)

    changes = conn.execute(
        text(
            "SELECT member_id, field, old_value FROM genealogy_changes "
            "WHERE effective_at >= :t ORDER BY effective_at DESC, id DESC"
        ),
        {"t": _ts(conn, as_of)},
    ).all()
    if changes:
        pos = {int(m): i for i, m in enumerate(member_id)}
        for mid, field_name, old in changes:
            i = pos.get(int(mid))
            if i is None:
                continue
            if field_name == "sponsor":
                sponsor_id[i] = -1 if old is None else int(old)
            elif field_name == "owner":
                owner_id[i] = -1 if old is None else int(old)
            elif field_name == "kind" and old is not None:
                kind[i] = KIND_CODES[old]

    sponsor = index_of(member_id, sponsor_id)
    owner = index_of(member_id, owner_id)
    referrer = index_of(member_id, referrer_id)
    parent = np.where(kind == KIND_DISTRIBUTOR, sponsor, owner)
    return build(member_id, parent, sponsor=sponsor, owner=owner, referrer=referrer, kind=kind,
                 status=status, joined_at=_int(joined, 0))


def load_lines(
    conn: Connection, genealogy: Genealogy, start: datetime, end: datetime
) -> OrderLines:
    rows = conn.execute(
        text(
            "SELECT l.id, o.id, o.buyer_id, o.credited_to_id, l.product_id, "
            f"{_epoch_sql(conn, 'o.placed_at')}, o.source, l.volume_kind, l.buyer_class, "
            "l.qv, l.cv, l.amount, l.retail_total, l.wholesale_total "
            "FROM order_lines l JOIN orders o ON o.id = l.order_id "
            "WHERE o.placed_at >= :s AND o.placed_at < :e AND o.status = 'paid' ORDER BY l.id"
        ),
        {"s": _ts(conn, start), "e": _ts(conn, end)},
    ).all()
    c = _columns(rows, 14)
    return OrderLines(
        line_id=_int(c[0]), order_id=_int(c[1]),
        buyer=index_of(genealogy.member_id, _int(c[2])),
        credited_to=index_of(genealogy.member_id, _int(c[3])),
        product_id=_int(c[4]), placed_at=_int(c[5]),
        source=np.fromiter((SOURCE_CODES[s] for s in c[6]), dtype=np.int8, count=len(c[6])),
        promotional=np.array([v == "promotional" for v in c[7]], dtype=bool),
        customer_purchase=np.array([v == "customer" for v in c[8]], dtype=bool),
        qv=_int(c[9]), cv=_int(c[10]), amount=_int(c[11]), retail_total=_int(c[12]),
        wholesale_total=_int(c[13]),
    )


def load_refunds(
    conn: Connection, genealogy: Genealogy, start: datetime, end: datetime
) -> RefundLines:
    rows = conn.execute(
        text(
            "SELECT rl.id, rl.order_line_id, o.id, o.buyer_id, o.credited_to_id, "
            f"{_epoch_sql(conn, 'r.refunded_at')}, {_epoch_sql(conn, 'o.placed_at')}, "
            "l.volume_kind, l.buyer_class, rl.qv, rl.cv, rl.amount "
            "FROM refund_lines rl JOIN refunds r ON r.id = rl.refund_id "
            "JOIN order_lines l ON l.id = rl.order_line_id JOIN orders o ON o.id = l.order_id "
            "WHERE r.refunded_at >= :s AND r.refunded_at < :e ORDER BY rl.id"
        ),
        {"s": _ts(conn, start), "e": _ts(conn, end)},
    ).all()
    c = _columns(rows, 12)
    return RefundLines(
        refund_line_id=_int(c[0]), order_line_id=_int(c[1]), order_id=_int(c[2]),
        buyer=index_of(genealogy.member_id, _int(c[3])),
        credited_to=index_of(genealogy.member_id, _int(c[4])),
        refunded_at=_int(c[5]), order_placed_at=_int(c[6]),
        promotional=np.array([v == "promotional" for v in c[7]], dtype=bool),
        customer_purchase=np.array([v == "customer" for v in c[8]], dtype=bool),
        qv=_int(c[9]), cv=_int(c[10]), amount=_int(c[11]),
    )


def load_period_facts(engine: Engine, start: datetime, end: datetime, label: str) -> PeriodFacts:
    """Genealogy as of ``end`` and the order and refund lines in ``[start, end)``."""
    with engine.connect() as conn:
        genealogy = load_genealogy(conn, end)
        lines = load_lines(conn, genealogy, start, end)
        refunds = load_refunds(conn, genealogy, start, end)
    return PeriodFacts(label=label, start=int(start.timestamp()), end=int(end.timestamp()),
                       genealogy=genealogy, lines=lines, refunds=refunds)
