"""compliance, the rest: buy-backs and cooling-off cancellations, the distributor agreement's
versions, the company's forbidden claims, cleared inventory-loading flags

Revision ID: 0022_compliance_rest
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patronage.db.base import UTCDateTime

revision: str = "0022_compliance_rest"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "buy_backs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=False),
        sa.Column("share_bp", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_buy_backs_member_id_members")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_buy_backs_order_id_orders")),
        sa.ForeignKeyConstraint(["refund_id"], ["refunds.id"],
                                name=op.f("fk_buy_backs_refund_id_refunds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buy_backs")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_buy_backs_refund_id")),
    )
    op.create_index("ix_buy_backs_member", "buy_backs", ["member_id"])
    op.create_table(
        "agreement_versions",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_agreement_versions")),
    )
    op.create_table(
        "forbidden_claims",
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("added_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phrase", name=op.f("pk_forbidden_claims")),
    )
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


def downgrade() -> None:
    op.drop_table("loading_flag_clearances")
    op.drop_table("forbidden_claims")
    op.drop_table("agreement_versions")
    op.drop_index("ix_buy_backs_member", table_name="buy_backs")
    op.drop_table("buy_backs")
