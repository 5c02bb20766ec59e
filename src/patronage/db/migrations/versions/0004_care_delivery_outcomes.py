"""care delivery outcomes: printed-card batches, and the batch each card was chosen for

Revision ID: 0004_care_delivery_outcomes
Revises: 0003_care_delivery
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0004_care_delivery_outcomes"
down_revision: str | Sequence[str] | None = "0003_care_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_card_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("cards", sa.Integer(), nullable=False),
        sa.Column("finished_at", patronage.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'done')",
                           name=op.f("ck_care_card_batches_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_card_batches")),
    )
    with op.batch_alter_table("care_touches") as batch:
        batch.add_column(sa.Column("card_batch_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_care_touches_card_batch_id_care_card_batches"),
                                 "care_card_batches", ["card_batch_id"], ["id"])
        batch.create_index("ix_care_touches_card_batch", ["card_batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("care_touches") as batch:
        batch.drop_index("ix_care_touches_card_batch")
        batch.drop_constraint(op.f("fk_care_touches_card_batch_id_care_card_batches"),
                              type_="foreignkey")
        batch.drop_column("card_batch_id")
    op.drop_table("care_card_batches")
