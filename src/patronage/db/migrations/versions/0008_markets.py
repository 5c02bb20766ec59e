"""markets: markets, prices per market, exchange rates, members' market, run rates

A default market is made from the company settings (``PATRONAGE_MARKET``, default ``US``, in
``PATRONAGE_CURRENCY``, default USD; autoship on the 28th at the latest, as before), every
existing member is placed in it, and every product's prices and volume become its prices there.
Payout lines gain the earner's currency (ISO 4217 number) and the amount paid in it; lines of
earlier runs keep ``NULL`` (paid in the company currency). Columns are added without copying the
members table, so its delete guard (0007_member_delete_guard) stays.

Revision ID: 0008_markets
Revises: 0007_member_delete_guard (after the compensation and autoship branches)
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_markets"
down_revision: str | Sequence[str] | None = "0007_member_delete_guard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0006_compensation_plan_versions",
                                          "0007_autoship_actions")


def upgrade() -> None:
    op.create_table(
        "markets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("languages", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("tax_inclusive", sa.Boolean(), nullable=False),
        sa.Column("shipping_countries", sa.Text(), nullable=False),
        sa.Column("autoship_last_day", sa.SmallInteger(), nullable=True),
        sa.Column("cooling_off_days", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("autoship_last_day IS NULL OR (autoship_last_day BETWEEN 1 AND 31)",
                           name=op.f("ck_markets_last_day")),
        sa.CheckConstraint("cooling_off_days >= 0", name=op.f("ck_markets_cooling_off")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_markets")),
        sa.UniqueConstraint("code", name=op.f("uq_markets_code")),
    )
    op.create_table(
        "product_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("retail_price", sa.BigInteger(), nullable=False),
        sa.Column("wholesale_price", sa.BigInteger(), nullable=False),
        sa.Column("qv", sa.BigInteger(), nullable=False),
        sa.Column("cv", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("retail_price >= 0 AND wholesale_price >= 0",
                           name=op.f("ck_product_prices_prices")),
        sa.CheckConstraint("qv >= 0 AND cv >= 0", name=op.f("ck_product_prices_volumes")),
        sa.ForeignKeyConstraint(["market_id"], ["markets.id"],
                                name=op.f("fk_product_prices_market_id_markets")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"],
                                name=op.f("fk_product_prices_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_prices")),
        sa.UniqueConstraint("product_id", "market_id", name="uq_product_prices_product_market"),
    )
    op.create_table(
        "exchange_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rate > 0", name=op.f("ck_exchange_rates_rate")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rates")),
        sa.UniqueConstraint("day", "currency", name="uq_exchange_rates_day_currency"),
    )
    op.create_table(
        "commission_run_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_run_rates")),
        sa.UniqueConstraint("run_id", "currency", name="uq_run_rates_run_currency"),
    )
    # Plain ADD COLUMN (no table copy): the members table keeps its delete guard on SQLite.
    op.add_column("members", sa.Column("market_id", sa.Integer(), nullable=True))
    op.add_column("payout_lines", sa.Column("currency", sa.SmallInteger(), nullable=True))
    op.add_column("payout_lines", sa.Column("paid_amount", sa.BigInteger(), nullable=True))

    code = os.environ.get("PATRONAGE_MARKET", "US").strip().upper() or "US"
    currency = os.environ.get("PATRONAGE_CURRENCY", "USD").strip().upper() or "USD"
    conn = op.get_bind()
    conn.execute(sa.text(
        "INSERT INTO markets (code, name, currency, languages, timezone, tax_inclusive, "
        "shipping_countries, autoship_last_day, cooling_off_days) VALUES (:code, :name, "
        ":currency, 'en-US', :tz, :ti, :ship, 28, 3)"),
        {"code": code, "name": code, "ship": code, "currency": currency,
         "tz": os.environ.get("PATRONAGE_COMPANY_TIMEZONE", "America/Chicago"), "ti": False})
    market_id = conn.execute(sa.text("SELECT id FROM markets WHERE code = :c"),
                             {"c": code}).scalar_one()
    conn.execute(sa.text("UPDATE members SET market_id = :m"), {"m": market_id})
    # Subscriptions keep their member's market: the countries that ran by the 28th before are
    # in the default market now (which runs by the 28th); others keep their code (any day).
    conn.execute(sa.text("UPDATE subscriptions SET market = :c "
                         "WHERE market IN ('US', 'CA', 'GB', 'AU')"), {"c": code})
    conn.execute(sa.text(
        "INSERT INTO product_prices (product_id, market_id, retail_price, wholesale_price, qv, "
        "cv) SELECT id, :m, retail_price, wholesale_price, qv, cv FROM products"),
        {"m": market_id})


def downgrade() -> None:
    op.drop_column("payout_lines", "paid_amount")
    op.drop_column("payout_lines", "currency")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite ≥ 3.35 drops a plain column in place (the delete guard stays).
        op.execute("ALTER TABLE members DROP COLUMN market_id")
    else:
        op.drop_column("members", "market_id")
    op.drop_table("commission_run_rates")
    op.drop_table("exchange_rates")
    op.drop_table("product_prices")
    op.drop_table("markets")
