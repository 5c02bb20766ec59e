"""care channels: the touches handed to a provider (texts, mailed cards) and what it reported

Revision ID: 0028_care_channels
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0028_care_channels"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002_care",)  # touch_id refers to care_touches


def upgrade() -> None:
    op.create_table(
        "care_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("touch_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("sent_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('sms', 'card')", name=op.f("ck_care_deliveries_channel")),
        sa.CheckConstraint("status IN ('sent', 'delivered', 'failed')",
                           name=op.f("ck_care_deliveries_status")),
        sa.ForeignKeyConstraint(["touch_id"], ["care_touches.id"],
                                name=op.f("fk_care_deliveries_touch_id_care_touches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_deliveries")),
        sa.UniqueConstraint("touch_id", name="uq_care_deliveries_touch"),
        sa.UniqueConstraint("provider", "provider_ref", name="uq_care_deliveries_ref"),
    )
    op.create_index("ix_care_deliveries_sent", "care_deliveries", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_care_deliveries_sent", table_name="care_deliveries")
    op.drop_table("care_deliveries")
