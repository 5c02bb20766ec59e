"""import jobs heartbeat: a running job's step and the time it last showed it was alive

``step`` and ``rows`` are written as the job goes, so any server process shows its progress;
``heartbeat_at`` with them: a running job whose heartbeat is too old is a job whose process died.

Revision ID: 0010_import_jobs_heartbeat
Revises: 0009_default_market (and needs 0008_import_jobs)
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0010_import_jobs_heartbeat"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
#: The table comes from that branch (the integrator chains the migrations).
depends_on: str | Sequence[str] | None = "0008_import_jobs"


def upgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(sa.Column("step", sa.String(length=64), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("heartbeat_at",
                                   patronage.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("step")
