"""Year-end tax data: what each distributor was paid in a year, and the US 1099-NEC forms.

``paid_in_year`` reads the earnings ledger (``ledger_entries``,
:mod:`patronage.payouts.ledger`): a payment left as a ``paid`` movement (stored negative) and
came back as a ``returned`` one (positive), in the currency's ISO 4217 number, at ``posted_at``.
A year's payments are those made in it (in the company's time zone), less those returned in
it; prizes and credits paid as income are payments like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select, true
from sqlalchemy.orm import Session

from patronage.db.markets import Market
from patronage.db.payout_methods import TaxIdRecord
from patronage.db.payouts import LedgerEntry
from patronage.db.tables import Member
from patronage.markets.core.currencies import numeric
from patronage.payouts.core.tax_forms import Recipient, Threshold, YearEnd, year_end

#: The ledger's kinds of payment movements (see ``patronage.payouts.core.ledger``).
PAYMENT_KINDS = ("paid", "returned")


def year_bounds(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The year's first instant and the next year's, in ``zone``, as UTC."""
    return (datetime.combine(date(year, 1, 1), datetime.min.time(), zone).astimezone(UTC),
            datetime.combine(date(year + 1, 1, 1), datetime.min.time(), zone).astimezone(UTC))


def paid_in_year(conn: Connection | Session, year: int, *, currency: str = "USD",
                 zone: ZoneInfo | None = None) -> Mapping[int, int]:
    """Minor units of ``currency`` paid to each member in ``year``, net of returned payments
    (members whose net is zero or less are left out)."""
    start, end = year_bounds(year, zone or ZoneInfo("UTC"))
    e = LedgerEntry
    # Payments are stored negative and returns positive: the net paid out is minus their sum.
    net = -func.sum(e.amount)
    rows = conn.execute(
        select(e.member_id, net)
        .where(e.kind.in_(PAYMENT_KINDS), e.currency == numeric(currency),
               e.posted_at >= start, e.posted_at < end)
        .group_by(e.member_id)).all()
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
