"""autoship: orders are not indexed by subscription

Nothing looks orders up by their subscription (the attempts record which order each charge
made), and the daily run writes up to a million orders at once: one index less to keep.

Revision ID: 0004_autoship_orders_index
Revises: 0003_autoship_bulk
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_autoship_orders_index"
down_revision: str | Sequence[str] | None = "0003_autoship_bulk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_orders_subscription", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_subscription", "orders", ["subscription_id"])
