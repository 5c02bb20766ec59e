"""withheld payments: what the customer-volume rule withheld in each committed run, and the
later run that released or forfeited it

Revision ID: 0026_withheld_payments
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_withheld_payments"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "withheld_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("bonus", sa.SmallInteger(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("released_in_run_id", sa.Integer(), nullable=True),
        sa.Column("forfeited_in_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["commission_runs.id"],
                                name=op.f("fk_withheld_payments_run_id_commission_runs")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_withheld_payments_member_id_members")),
        sa.ForeignKeyConstraint(
            ["released_in_run_id"], ["commission_runs.id"],
            name=op.f("fk_withheld_payments_released_in_run_id_commission_runs")),
        sa.ForeignKeyConstraint(
            ["forfeited_in_run_id"], ["commission_runs.id"],
            name=op.f("fk_withheld_payments_forfeited_in_run_id_commission_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withheld_payments")),
    )
    op.create_index("ix_withheld_payments_member", "withheld_payments", ["member_id"])
    op.create_index("ix_withheld_payments_run", "withheld_payments", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_withheld_payments_run", table_name="withheld_payments")
    op.drop_index("ix_withheld_payments_member", table_name="withheld_payments")
    op.drop_table("withheld_payments")
