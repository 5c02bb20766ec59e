"""portal: indexes for staff member search by phone and by last name

Revision ID: 0016_portal
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016_portal"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_members_phone", "members", ["phone"], unique=False)
    op.create_index("ix_members_last_name", "members", ["last_name", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_members_last_name", table_name="members")
    op.drop_index("ix_members_phone", table_name="members")
