"""catalog: free lines' volume and the most units of a product one order line may have

``volume_when_free``: whether a line of the product at a zero price (a sample, a gift) still
carries its QV and CV (no, unless said so). ``max_quantity``: the most units of the product one
order line may have (1,000 unless said otherwise).

Revision ID: 0006_catalog_bounds
Revises: 0001_core
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_catalog_bounds"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("catalog",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("volume_when_free", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("max_quantity", sa.Integer(), nullable=False,
                                   server_default="1000"))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("max_quantity")
        batch.drop_column("volume_when_free")
