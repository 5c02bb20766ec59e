"""page speed: committed runs summed by payee and by bonus; the dashboard's counted figures

Revision ID: 0035_page_speed
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0035_page_speed"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_payees",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("earner_id", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["commission_runs.id"],
                                name=op.f("fk_run_payees_run_id_commission_runs")),
        sa.ForeignKeyConstraint(["earner_id"], ["members.id"],
                                name=op.f("fk_run_payees_earner_id_members")),
        sa.PrimaryKeyConstraint("run_id", "earner_id", name=op.f("pk_run_payees")),
    )
    op.create_index("ix_run_payees_largest", "run_payees",
                    ["run_id", sa.text("amount DESC"), "earner_id"])
    op.create_table(
        "run_bonus_totals",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("bonus", sa.SmallInteger(), nullable=False),  # its number in BONUSES
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["commission_runs.id"],
                                name=op.f("fk_run_bonus_totals_run_id_commission_runs")),
        sa.PrimaryKeyConstraint("run_id", "bonus", name=op.f("pk_run_bonus_totals")),
    )
    op.create_table(
        "company_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counted_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("as_of", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_figures")),
    )
    op.create_index(op.f("ix_company_figures_counted_at"), "company_figures", ["counted_at"])


def downgrade() -> None:
    op.drop_table("company_figures")
    op.drop_table("run_bonus_totals")
    op.drop_index("ix_run_payees_largest", table_name="run_payees")
    op.drop_table("run_payees")
