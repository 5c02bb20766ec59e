"""ledger speed: the movement key led by the member carries the balance; posted runs recorded

Revision ID: 0032_ledger_speed
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0032_ledger_speed"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0011_earnings_ledger",)

UTC = patronage.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    # The movement key keeps its columns, now led by the member: it replaces the balance index.
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_constraint("uq_ledger_entries_movement", type_="unique")
    op.create_index("uq_ledger_entries_movement", "ledger_entries",
                    ["member_id", "currency", "kind", "source_id"], unique=True,
                    postgresql_include=["amount"])
    if op.get_bind().dialect.name == "postgresql":
        # The key carries the amount: the balance index is kept empty (SQLite keeps it whole,
        # its indexes carry no extra columns).
        op.drop_index("ix_ledger_entries_member", table_name="ledger_entries")
        op.create_index("ix_ledger_entries_member", "ledger_entries",
                        ["member_id", "currency", "amount"], postgresql_where=sa.text("false"))
    op.create_table(
        "ledger_postings",
        sa.Column("run_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("posted_at", UTC, nullable=False),
        sa.Column("posted_by", sa.String(length=100), nullable=False),
        sa.Column("movements", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["commission_runs.id"], ondelete="CASCADE",
                                name=op.f("fk_ledger_postings_run_id_commission_runs")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_ledger_postings")),
    )
    # Runs posted before: recorded as posted, with their movements.
    op.execute(
        "INSERT INTO ledger_postings (run_id, posted_at, posted_by, movements) "
        "SELECT source_id, MIN(posted_at), MIN(posted_by), COUNT(*) FROM ledger_entries "
        "WHERE kind IN ('earned', 'clawed_back') "
        "AND source_id IN (SELECT id FROM commission_runs) GROUP BY source_id")


def downgrade() -> None:
    op.drop_table("ledger_postings")
    op.drop_index("uq_ledger_entries_movement", table_name="ledger_entries")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_ledger_entries_member", table_name="ledger_entries")
        op.create_index("ix_ledger_entries_member", "ledger_entries",
                        ["member_id", "currency", "amount"])
    with op.batch_alter_table("ledger_entries") as batch:
        batch.create_unique_constraint("uq_ledger_entries_movement",
                                       ["kind", "source_id", "member_id", "currency"])
