"""loading patterns: clearances per flag kind, the fingerprints of saved cards

Revision ID: 0027_loading_patterns
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patronage.db.base import UTCDateTime

revision: str = "0027_loading_patterns"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
# The clearances of the first pattern move from its table.
depends_on: str | Sequence[str] | None = "0022_compliance_rest"


def upgrade() -> None:
    op.create_table(
        "flag_clearances",
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cleared_by", sa.String(length=100), nullable=False),
        sa.Column("cleared_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_flag_clearances_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", "kind", "subject", name=op.f("pk_flag_clearances")),
    )
    op.execute("INSERT INTO flag_clearances (member_id, kind, subject, note, cleared_by, "
               "cleared_at) SELECT member_id, 'loading', period, note, cleared_by, cleared_at "
               "FROM loading_flag_clearances")
    op.drop_table("loading_flag_clearances")
    op.create_table(
        "card_fingerprints",
        sa.Column("method_ref", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("method_ref", name=op.f("pk_card_fingerprints")),
    )
    op.create_index("ix_card_fingerprints_fingerprint", "card_fingerprints", ["fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_card_fingerprints_fingerprint", table_name="card_fingerprints")
    op.drop_table("card_fingerprints")
    op.create_table(
        "loading_flag_clearances",
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cleared_by", sa.String(length=100), nullable=False),
        sa.Column("cleared_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_loading_flag_clearances_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", "period", name=op.f("pk_loading_flag_clearances")),
    )
    op.execute("INSERT INTO loading_flag_clearances (member_id, period, note, cleared_by, "
               "cleared_at) SELECT member_id, subject, note, cleared_by, cleared_at "
               "FROM flag_clearances WHERE kind = 'loading'")
    op.drop_table("flag_clearances")
