"""import uploads: an uploaded file kept in the database between its check and its import

The upload used to wait in one server process's temporary folder, so a confirmation answered by
another process (``serve --workers N``) or another machine did not find it.

Revision ID: 0034_import_uploads
Revises: 0009_default_market (and needs 0008_import_jobs)
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0034_import_uploads"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0008_import_jobs"


def upgrade() -> None:
    op.create_table(
        "import_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_uploads")),
    )
    op.create_index(op.f("ix_import_uploads_created_at"), "import_uploads", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_import_uploads_created_at"), table_name="import_uploads")
    op.drop_table("import_uploads")
