"""autoship: undo a skip, and one run of a day at a time

``subscriptions.skipped_run`` keeps the run the last skip moved away from, so the customer can
undo it. ``autoship_runs`` holds one row per run day: the run in progress (``holder``) and when a
run of that day last finished, so a second run started while the first works is refused with a
clear reason instead of colliding with it.

Revision ID: 0007_autoship_actions
Revises: 0006_autoship_order_member_keys
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0007_autoship_actions"
down_revision: str | Sequence[str] | None = "0006_autoship_order_member_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("skipped_run", sa.Date(), nullable=True))
    op.create_table(
        "autoship_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=True),
        sa.Column("started_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", patronage.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_autoship_runs")),
    )


def downgrade() -> None:
    op.drop_table("autoship_runs")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("skipped_run")
