"""member contacts: stored phone numbers rewritten in E.164; customer values per currency

Phone numbers are now read in the member's country and stored in E.164 (``+12125550123``).
Each stored number that is not yet in E.164 is read in the member's country (else their
market's, else the default market's) with ``phonenumbers`` and rewritten when it is a valid
number there; a number that is not valid is kept as it was written (pages show it as text,
without a ``tel:`` link) so that nothing a company stored is lost.

``customer_values`` gains the member's currency and the lifetime, referral and at-risk values
in it (``local_*``; empty for runs made before).

Revision ID: 0010_member_contacts
Revises: 0009_default_market
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers
import sqlalchemy as sa
from alembic import op

revision: str = "0010_member_contacts"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0003_value_fit_status"

_BATCH = 5000
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def _e164(text: str, country: str | None) -> str | None:
    region = country.upper() if country and len(country) == 2 else None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def upgrade() -> None:
    # Customer values in the member's currency beside the plan currency's.
    op.add_column("customer_values", sa.Column("currency", sa.String(length=3), nullable=True))
    for column in ("local_lifetime", "local_referral", "local_at_risk"):
        op.add_column("customer_values", sa.Column(column, sa.BigInteger(), nullable=True))
    conn = op.get_bind()
    default = conn.execute(sa.text("SELECT code FROM markets WHERE is_default = :t"),
                           {"t": True}).scalar()
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT m.id, m.phone, m.country, k.code FROM members m "
            "LEFT JOIN markets k ON k.id = m.market_id "
            "WHERE m.id > :last AND m.phone IS NOT NULL ORDER BY m.id LIMIT :n"),
            {"last": last, "n": _BATCH}).all()
        if not rows:
            break
        last = int(rows[-1][0])
        changes = []
        for member_id, phone, country, market in rows:
            if _E164.fullmatch(phone):
                continue
            e164 = _e164(phone, country or market or default)
            if e164 is not None and e164 != phone:
                changes.append({"i": member_id, "p": e164})
        if changes:
            conn.execute(sa.text("UPDATE members SET phone = :p WHERE id = :i"), changes)


def downgrade() -> None:
    """The numbers stay in E.164 (a valid form in every version)."""
    for column in ("currency", "local_lifetime", "local_referral", "local_at_risk"):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE customer_values DROP COLUMN {column}")
        else:
            op.drop_column("customer_values", column)
