"""share link sides: the placement side a distributor's share link gives those joining by it

Revision ID: 0031_plans_rest
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0031_plans_rest"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_link_sides",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.SmallInteger(), nullable=False),
        sa.Column("set_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("side IN (0, 1)", name=op.f("ck_share_link_sides_side")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_share_link_sides_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_share_link_sides")),
    )


def downgrade() -> None:
    op.drop_table("share_link_sides")
