"""payments and credit: card provider records, webhook events, the product credit ledger

Revision ID: 0013_payments_credit
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0013_payments_credit"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = patronage.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payment_customers",
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("customer_ref", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_payment_customers")),
        sa.UniqueConstraint("customer_ref", name=op.f("uq_payment_customers_customer_ref")),
    )
    op.create_table(
        "payment_methods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("method_ref", sa.String(length=255), nullable=False),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("exp_month", sa.SmallInteger(), nullable=True),
        sa.Column("exp_year", sa.SmallInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
        sa.UniqueConstraint("method_ref", name=op.f("uq_payment_methods_method_ref")),
    )
    op.create_index("ix_payment_methods_member", "payment_methods", ["member_id"])
    op.create_table(
        "payment_charges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("intent_ref", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decline", sa.String(length=64), nullable=True),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("event_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_charges")),
        sa.UniqueConstraint("key", name=op.f("uq_payment_charges_key")),
        sa.UniqueConstraint("intent_ref", name=op.f("uq_payment_charges_intent_ref")),
    )
    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("charge_key", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("refund_ref", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint("key", name=op.f("uq_payment_refunds_key")),
    )
    op.create_table(
        "payment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("object_ref", sa.String(length=255), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_payment_events_event_id")),
    )
    op.create_table(
        "credit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("payout_line_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("at", UTC, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('earned', 'applied', 'released', 'expired', "
                           "'clawed_back', 'refunded')", name=op.f("ck_credit_entries_kind")),
        sa.CheckConstraint("(kind IN ('earned', 'released', 'refunded') AND amount > 0) OR "
                           "(kind IN ('applied', 'expired', 'clawed_back') AND amount < 0)",
                           name=op.f("ck_credit_entries_sign")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_credit_entries_key")),
    )
    op.create_index("ix_credit_entries_member", "credit_entries", ["member_id", "currency"])


def downgrade() -> None:
    op.drop_index("ix_credit_entries_member", table_name="credit_entries")
    op.drop_table("credit_entries")
    op.drop_table("payment_events")
    op.drop_table("payment_refunds")
    op.drop_table("payment_charges")
    op.drop_index("ix_payment_methods_member", table_name="payment_methods")
    op.drop_table("payment_methods")
    op.drop_table("payment_customers")
