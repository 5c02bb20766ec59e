"""earnings ledger: movements, adjustments, holds, payout batches and payments

Revision ID: 0011_earnings_ledger
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0011_earnings_ledger"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = patronage.db.base.UTCDateTime(timezone=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("counter_account", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.SmallInteger(), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("posted_at", UTC, nullable=False),
        sa.Column("posted_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(_in("kind", ("earned", "clawed_back", "adjusted", "paid",
                                        "returned")), name=op.f("ck_ledger_entries_kind")),
        sa.CheckConstraint(_in("counter_account", ("company:commissions_expense",
                                                   "company:adjustments", "company:cash")),
                           name=op.f("ck_ledger_entries_counter_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("kind", "source_id", "member_id", "currency",
                            name="uq_ledger_entries_movement"),
    )
    op.create_index("ix_ledger_entries_member", "ledger_entries",
                    ["member_id", "currency", "amount"])
    op.create_table(
        "payout_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("request_key", sa.String(length=64), nullable=True),
        sa.CheckConstraint(_in("status", ("pending", "posted", "rejected")),
                           name=op.f("ck_payout_adjustments_status")),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_payout_adjustments_amount")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_adjustments")),
        sa.UniqueConstraint("request_key", name=op.f("uq_payout_adjustments_request_key")),
    )
    op.create_index("ix_payout_adjustments_member", "payout_adjustments", ["member_id"])
    op.create_table(
        "payout_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("placed_at", UTC, nullable=False),
        sa.Column("placed_by", sa.String(length=100), nullable=False),
        sa.Column("released_at", UTC, nullable=True),
        sa.Column("released_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(_in("reason", ("manual", "returned")),
                           name=op.f("ck_payout_holds_reason")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_holds")),
    )
    op.create_index("ix_payout_holds_member", "payout_holds", ["member_id", "released_at"])
    op.create_table(
        "payout_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pay_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("exported_at", UTC, nullable=True),
        sa.Column("exported_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(_in("status", ("built", "exported")),
                           name=op.f("ck_payout_batches_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batches")),
        sa.UniqueConstraint("pay_date", name=op.f("uq_payout_batches_pay_date")),
    )
    op.create_table(
        "payout_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.SmallInteger(), nullable=False),
        sa.Column("payment_ref", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("returned_at", UTC, nullable=True),
        sa.Column("return_reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint(_in("status", ("paid", "returned")),
                           name=op.f("ck_payout_payments_status")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payout_payments_amount")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_payments")),
        sa.UniqueConstraint("batch_id", "member_id", "currency",
                            name="uq_payout_payments_member"),
        sa.UniqueConstraint("payment_ref", name=op.f("uq_payout_payments_payment_ref")),
    )
    op.create_index("ix_payout_payments_member", "payout_payments", ["member_id"])


def downgrade() -> None:
    for table in ("payout_payments", "payout_batches", "payout_holds", "payout_adjustments",
                  "ledger_entries"):
        op.drop_table(table)
