"""care delivery: attempts, next attempt and last error of a touch going through the outbox

Revision ID: 0003_care_delivery
Revises: 0001_core
Depends on: 0002_care
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0003_care_delivery"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("care_delivery",)
depends_on: str | Sequence[str] | None = "0002_care"


def upgrade() -> None:
    with op.batch_alter_table("care_touches") as batch:
        batch.add_column(sa.Column("attempts", sa.SmallInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("next_attempt_at",
                                   patronage.db.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("care_touches") as batch:
        batch.drop_column("last_error")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
