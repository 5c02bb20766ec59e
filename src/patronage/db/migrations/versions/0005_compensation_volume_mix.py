"""compensation: each committed period's volume mix per distributor; snapshots apart

CV credited to the distributor in the period, consumption and promotional, and of it what
customers bought: what "the last 12 months" of a distributor's volume adds up. Runs committed
before this revision record zeros here; their periods are read from the orders instead.

The facts snapshot of a run (tens of megabytes for a large company) moves to a table of its
own, so that reading a run's figures never reads past it.

Revision ID: 0005_compensation_volume_mix
Revises: 0004_compensation_store
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_compensation_volume_mix"
down_revision: str | Sequence[str] | None = "0004_compensation_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("consumption_cv", "promotional_cv", "customer_cv")


def upgrade() -> None:
    with op.batch_alter_table("rank_records") as batch:
        for column in COLUMNS:
            batch.add_column(sa.Column(column, sa.BigInteger(), nullable=False,
                                       server_default="0"))
    op.create_table(
        "commission_snapshots",
        sa.Column("run_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("facts", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_commission_snapshots")),
    )
    op.execute("INSERT INTO commission_snapshots (run_id, facts) "
               "SELECT id, facts_snapshot FROM commission_runs")
    with op.batch_alter_table("commission_runs") as batch:
        batch.add_column(sa.Column("volume_mix", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.drop_column("facts_snapshot")


def downgrade() -> None:
    with op.batch_alter_table("commission_runs") as batch:
        batch.drop_column("volume_mix")
        batch.add_column(sa.Column("facts_snapshot", sa.LargeBinary(), nullable=False,
                                   server_default=sa.text("''")))
    op.execute("UPDATE commission_runs SET facts_snapshot = (SELECT facts FROM "
               "commission_snapshots s WHERE s.run_id = commission_runs.id)")
    op.drop_table("commission_snapshots")
    with op.batch_alter_table("rank_records") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
