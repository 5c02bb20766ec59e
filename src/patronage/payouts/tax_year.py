"""Year-end tax data: what each distributor was paid in a year, and the US 1099-NEC forms.

``paid_in_year`` reads the earnings ledger. Until the ledger is part of this build it is
written against the table the ledger keeps (:data:`LEDGER_ENTRIES`): one row per movement, with
the member, its ``kind`` (``paid`` when a payment left, ``returned`` when a payment came back),
the ``amount`` (positive minor units), the ``currency`` and the time it happened
(``occurred_at``). A year's payments are those made in it (in the company's time zone), less
those returned in it; prizes and credits paid as income are payments like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    case,
    func,
    inspect,
    select,
    true,
)
from sqlalchemy.orm import Session

from patronage.db.markets import Market
from patronage.db.payout_methods import TaxIdRecord
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.payouts.core.tax_forms import Recipient, Threshold, YearEnd, year_end

#: The earnings ledger's movements as this module reads them (the ledger module declares the
#: table; this is the part used here).
LEDGER_ENTRIES = Table(
    "ledger_entries", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)


def year_bounds(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The year's first instant and the next year's, in ``zone``, as UTC."""
    return (datetime.combine(date(year, 1, 1), datetime.min.time(), zone).astimezone(UTC),
            datetime.combine(date(year + 1, 1, 1), datetime.min.time(), zone).astimezone(UTC))


def paid_in_year(conn: Connection | Session, year: int, *, currency: str = "USD",
                 zone: ZoneInfo | None = None) -> Mapping[int, int]:
    """Minor units of ``currency`` paid to each member in ``year``, net of returned payments
    (members whose net is zero or less are left out)."""
    connection = conn.connection() if isinstance(conn, Session) else conn
    if not inspect(connection).has_table(LEDGER_ENTRIES.name):
        raise PatronageError("year-end tax data: this database has no earnings ledger "
                             f"({LEDGER_ENTRIES.name}) yet, so nothing has been paid")
    start, end = year_bounds(year, zone or ZoneInfo("UTC"))
    t = LEDGER_ENTRIES
    net = func.sum(case((t.c.kind == "paid", t.c.amount), else_=-t.c.amount))
    rows = conn.execute(
        select(t.c.member_id, net)
        .where(t.c.kind.in_(("paid", "returned")), t.c.currency == currency,
               t.c.occurred_at >= start, t.c.occurred_at < end)
        .group_by(t.c.member_id)).all()
    return {int(m): int(v) for m, v in rows if v and v > 0}


def us_recipients(session: Session, member_ids: list[int]) -> dict[int, Recipient]:
    """The US people among ``member_ids``: a US tax id on file, or no tax id and a US address
    (else a US market, their own or the default one). ``account_id``: the member's ref, else
    ``M`` and the id."""
    out: dict[int, Recipient] = {}
    # A member without a market is in the default one.
    default = (select(Market.code).where(Market.is_default == true()).limit(1)
               .scalar_subquery())
    for start in range(0, len(member_ids), 5000):
        chunk = member_ids[start:start + 5000]
        rows = session.execute(
            select(Member.id, Member.ref, Member.first_name, Member.last_name,
                   func.coalesce(Member.country, Market.code, default), TaxIdRecord.country)
            .outerjoin(Market, Market.id == Member.market_id)
            .outerjoin(TaxIdRecord, TaxIdRecord.member_id == Member.id)
            .where(Member.id.in_(chunk))).all()
        for member_id, ref, first, last, country, tax_country in rows:
            us_tax_id = tax_country == "US"
            if us_tax_id or (tax_country is None and (country or "").upper() == "US"):
                out[member_id] = Recipient(member_id, ref or f"M{member_id}",
                                           f"{first} {last}".strip(), us_tax_id)
    return out


def form_1099_nec(session: Session, year: int, thresholds: tuple[Threshold, ...], *,
                  zone: ZoneInfo | None = None,
                  paid: Mapping[int, int] | None = None) -> YearEnd:
    """The year's 1099-NEC forms and those missing a tax id (``paid``: the year's payments in
    US dollars by member; read from the ledger when not given)."""
    amounts = paid if paid is not None else paid_in_year(session, year, zone=zone)
    return year_end(year, amounts, us_recipients(session, sorted(amounts)), thresholds)
