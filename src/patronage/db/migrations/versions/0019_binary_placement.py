"""binary placement: the dated placement tree beside the sponsor tree, and the binary leg
volume each committed run carries to the next period

Revision ID: 0019_binary_placement
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_binary_placement"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("ended_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "placements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("side", sa.SmallInteger(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("placed_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("side IN (0, 1)", name=op.f("ck_placements_side")),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> member_id",
                           name=op.f("ck_placements_not_own_parent")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_placements_member_id_members")),
        sa.ForeignKeyConstraint(["parent_id"], ["members.id"],
                                name=op.f("fk_placements_parent_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placements")),
    )
    op.create_index("ix_placements_member", "placements", ["member_id", "placed_at"])
    op.create_index("uq_placements_open_member", "placements", ["member_id"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("uq_placements_open_spot", "placements", ["parent_id", "side"],
                    unique=True, sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_table(
        "binary_carry",
        sa.Column("run_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("left_volume", sa.BigInteger(), nullable=False),
        sa.Column("right_volume", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["commission_runs.id"],
                                name=op.f("fk_binary_carry_run_id_commission_runs")),
        sa.PrimaryKeyConstraint("run_id", "member_id", name=op.f("pk_binary_carry")),
    )


def downgrade() -> None:
    op.drop_table("binary_carry")
    op.drop_index("uq_placements_open_spot", table_name="placements")
    op.drop_index("uq_placements_open_member", table_name="placements")
    op.drop_index("ix_placements_member", table_name="placements")
    op.drop_table("placements")
