"""compensation: run results without per-row key checks on the run

Revision ID: 0003_compensation_results
Revises: 0002_compensation
"""
from __future__ import annotations

from collections.abc import Sequence


from alembic import op

revision: str = "0003_compensation_results"
down_revision: str | Sequence[str] | None = "0002_compensation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("payout_lines", "rank_records", "payout_skips")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_run_id_commission_runs", type_="foreignkey")


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(f"fk_{table}_run_id_commission_runs", "commission_runs",
                                     ["run_id"], ["id"])
