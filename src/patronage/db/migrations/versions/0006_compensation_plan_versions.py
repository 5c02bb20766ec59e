"""compensation: the company's plan, stored with its versions

Each version keeps the plan text as written, its name and version, a SHA-256 of the text, the
first period it is in force (YYYY-MM), and who set it and when. Runs, previews and explanations
of a period use the version in force for it.

Revision ID: 0006_compensation_plan_versions
Revises: 0005_compensation_volume_mix
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0006_compensation_plan_versions"
down_revision: str | Sequence[str] | None = "0005_compensation_volume_mix"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("plan_text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.String(length=7), nullable=False),
        sa.Column("set_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_versions")),
    )
    op.create_index(op.f("ix_plan_versions_effective_from"), "plan_versions",
                    ["effective_from"])


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_versions_effective_from"), table_name="plan_versions")
    op.drop_table("plan_versions")
