"""open volumes: the open period's volumes per distributor, counted by a job to a watermark;
members' sponsor index covers the walk down a downline

Revision ID: 0036_open_volumes
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0036_open_volumes"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open_volume_counts",
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("starts_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("as_of", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("counted_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("orders_through", sa.Integer(), nullable=False),
        sa.Column("refunds_through", sa.Integer(), nullable=False),
        sa.Column("changes_through", sa.Integer(), nullable=False),
        sa.Column("members_through", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("plan_digest", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_open_volume_counts")),
    )
    op.create_table(
        "open_volumes",
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("own_pv", sa.BigInteger(), nullable=False),
        sa.Column("customer_pv", sa.BigInteger(), nullable=False),
        sa.Column("consumption_cv", sa.BigInteger(), nullable=False),
        sa.Column("promotional_cv", sa.BigInteger(), nullable=False),
        sa.Column("customer_cv", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["period"], ["open_volume_counts.period"],
                                name=op.f("fk_open_volumes_period_open_volume_counts")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_open_volumes_member_id_members")),
        sa.PrimaryKeyConstraint("period", "member_id", name=op.f("pk_open_volumes")),
    )
    op.create_table(
        "help_flags",
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("list", sa.String(length=16), nullable=False),
        sa.Column("upline", sa.Integer(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("key1", sa.BigInteger(), nullable=False),
        sa.Column("key2", sa.BigInteger(), nullable=False),
        sa.Column("pv", sa.BigInteger(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("joined_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["period"], ["open_volume_counts.period"],
                                name=op.f("fk_help_flags_period_open_volume_counts")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_help_flags_member_id_members")),
        sa.PrimaryKeyConstraint("period", "member_id", "list", "upline",
                                name=op.f("pk_help_flags")),
    )
    op.create_index("ix_help_flags_upline", "help_flags",
                    ["period", "upline", "list", "key1", "key2", "member_id"])
    # The sponsor index, widened so that walking a downline reads the index alone.
    op.create_index("ix_members_downline", "members",
                    ["sponsor_id", "kind", "status", "joined_at"])
    op.drop_index("ix_members_sponsor", table_name="members")


def downgrade() -> None:
    op.create_index("ix_members_sponsor", "members", ["sponsor_id"])
    op.drop_index("ix_members_downline", table_name="members")
    op.drop_index("ix_help_flags_upline", table_name="help_flags")
    op.drop_table("help_flags")
    op.drop_table("open_volumes")
    op.drop_table("open_volume_counts")
