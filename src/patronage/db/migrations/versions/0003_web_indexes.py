"""web: indexes for the back office's pages on the core records

Revision ID: 0003_web_indexes
Revises: 0002_web
Create Date: 2026-11-26 15:25:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0003_web_indexes'
down_revision: str | Sequence[str] | None = '0002_web'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_orders_credited_placed', 'orders', ['credited_to_id', 'placed_at'],
                    unique=False)
    op.create_index('ix_members_first_name', 'members', ['first_name', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_members_first_name', table_name='members')
    op.drop_index('ix_orders_credited_placed', table_name='orders')
