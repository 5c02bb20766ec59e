"""api: tokens expire, and a rotated token names the one it replaced

Tokens made before this revision expire 90 days after the upgrade (not after they were made, so
that no integration stops at once).

Revision ID: 0003_api_token_expiry
Revises: 0002_api
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0003_api_token_expiry"
down_revision: str | Sequence[str] | None = "0002_api"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", patronage.db.base.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_api_tokens_replaces_id_api_tokens"), "api_tokens",
                                 ["replaces_id"], ["id"])
    tokens = sa.table("api_tokens",
                      sa.column("expires_at", patronage.db.base.UTCDateTime(timezone=True)))
    op.get_bind().execute(sa.update(tokens).values(
        expires_at=datetime.now(UTC) + timedelta(days=90)))
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("expires_at", existing_type=patronage.db.base.UTCDateTime(
            timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("fk_api_tokens_replaces_id_api_tokens"), type_="foreignkey")
        batch.drop_column("replaces_id")
        batch.drop_column("expires_at")
