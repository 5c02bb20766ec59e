"""job runs: every run of a scheduled job with its outcome and duration; job leases (SQLite)

Revision ID: 0025_job_runs
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0025_job_runs"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("scheduled_for", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", patronage.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("worker", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("outcome IN ('running', 'ok', 'failed', 'interrupted')",
                           name=op.f("ck_job_runs_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_job_slot", "job_runs", ["job", "scheduled_for"])
    op.create_index("ix_job_runs_started", "job_runs", ["started_at"])
    op.create_table(
        "job_locks",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_job_locks")),
    )


def downgrade() -> None:
    op.drop_table("job_locks")
    op.drop_index("ix_job_runs_started", table_name="job_runs")
    op.drop_index("ix_job_runs_job_slot", table_name="job_runs")
    op.drop_table("job_runs")
