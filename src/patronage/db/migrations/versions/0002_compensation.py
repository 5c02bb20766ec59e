"""commission runs

Revision ID: 0002_compensation
Revises: 0001_core
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0002_compensation"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("compensation",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commission_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("plan_name", sa.String(length=200), nullable=False),
        sa.Column("plan_version", sa.String(length=64), nullable=False),
        sa.Column("plan_text", sa.Text(), nullable=False),
        sa.Column("facts_digest", sa.String(length=64), nullable=False),
        sa.Column("facts_snapshot", sa.LargeBinary(), nullable=False),
        sa.Column("committed_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("committed_by", sa.String(length=100), nullable=False),
        sa.Column("total_cv", sa.BigInteger(), nullable=False),
        sa.Column("total_paid", sa.BigInteger(), nullable=False),
        sa.Column("cap_applied", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_runs")),
        sa.UniqueConstraint("period", name=op.f("uq_commission_runs_period")),
    )
    op.create_table(
        "payout_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("earner_id", sa.Integer(), nullable=False),
        sa.Column("bonus", sa.String(length=32), nullable=False),
        sa.Column("source_kind", sa.String(length=8), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("clawback_of", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["commission_runs.id"],
                                name=op.f("fk_payout_lines_run_id_commission_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_lines")),
    )
    op.create_index("ix_payout_lines_run_earner", "payout_lines", ["run_id", "earner_id"])
    op.create_index("ix_payout_lines_source", "payout_lines", ["source_kind", "source_id"])
    op.create_table(
        "rank_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("pv", sa.BigInteger(), nullable=False),
        sa.Column("gv", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("paid_as", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["commission_runs.id"],
                                name=op.f("fk_rank_records_run_id_commission_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rank_records")),
    )
    op.create_index("ix_rank_records_member", "rank_records", ["member_id", "run_id"])
    op.create_table(
        "payout_skips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("bonus", sa.String(length=32), nullable=False),
        sa.Column("source_kind", sa.String(length=8), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.SmallInteger(), nullable=False),
        sa.Column("passed_to_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["commission_runs.id"],
                                name=op.f("fk_payout_skips_run_id_commission_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_skips")),
    )
    op.create_index("ix_payout_skips_run_member", "payout_skips", ["run_id", "member_id"])


def downgrade() -> None:
    op.drop_table("payout_skips")
    op.drop_table("rank_records")
    op.drop_table("payout_lines")
    op.drop_table("commission_runs")
