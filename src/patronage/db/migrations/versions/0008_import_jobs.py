"""import jobs: staff uploads checked and imported in the background

Revision ID: 0008_import_jobs
Revises: 0007_member_delete_guard
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0008_import_jobs"
down_revision: str | Sequence[str] | None = "0007_member_delete_guard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("upload", sa.String(length=32), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("running", sa.SmallInteger(), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("already", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("problems", sa.Text(), nullable=True),
        sa.Column("started_by", sa.String(length=254), nullable=False),
        sa.Column("started_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", patronage.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
        sa.UniqueConstraint("running", name=op.f("uq_import_jobs_running")),
    )


def downgrade() -> None:
    op.drop_table("import_jobs")
