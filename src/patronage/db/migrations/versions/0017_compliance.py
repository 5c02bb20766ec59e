"""compliance: each committed run's payout split by where it came from; each distributor's
earnings and ordering customers kept in their rank record

Revision ID: 0017_compliance
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_compliance"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reward_mix",
        sa.Column("run_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rank", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("enrollment", sa.BigInteger(), nullable=False),
        sa.Column("new_members", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["commission_runs.id"],
                                name=op.f("fk_reward_mix_run_id_commission_runs")),
        sa.PrimaryKeyConstraint("run_id", "rank", name=op.f("pk_reward_mix")),
    )
    op.add_column("rank_records", sa.Column("earned", sa.BigInteger(), server_default="0",
                                            nullable=False))
    op.add_column("rank_records", sa.Column("ordering_customers", sa.Integer(), nullable=True))
    # Runs committed before: their payout lines summed (customers who ordered stay unknown).
    op.execute("UPDATE rank_records SET earned = COALESCE((SELECT SUM(pl.amount) "
               "FROM payout_lines pl WHERE pl.run_id = rank_records.run_id "
               "AND pl.earner_id = rank_records.member_id), 0)")


def downgrade() -> None:
    with op.batch_alter_table("rank_records") as batch:
        batch.drop_column("ordering_customers")
        batch.drop_column("earned")
    op.drop_table("reward_mix")
