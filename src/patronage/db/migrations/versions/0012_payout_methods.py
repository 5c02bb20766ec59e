"""payout methods and tax ids: encrypted at rest, their change log, tax id readers

Revision ID: 0012_payout_methods
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0012_payout_methods"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002_web",)  # tax_id_readers refer to accounts

UTC = patronage.db.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "payout_methods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("set_at", UTC(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=254), nullable=False),
        sa.CheckConstraint("kind IN ('iban', 'us_ach', 'ca_eft', 'ewallet')",
                           name=op.f("ck_payout_methods_kind")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_payout_methods_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_methods")),
        sa.UniqueConstraint("member_id", name=op.f("uq_payout_methods_member_id")),
    )
    op.create_table(
        "payout_method_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("previous", sa.String(length=80), nullable=True),
        sa.Column("current", sa.String(length=80), nullable=False),
        sa.Column("notice", sa.String(length=16), nullable=False),
        sa.Column("notice_detail", sa.Text(), nullable=True),
        sa.Column("notified_at", UTC(timezone=True), nullable=True),
        sa.CheckConstraint("notice IN ('pending', 'sent', 'failed', 'no_email')",
                           name=op.f("ck_payout_method_changes_notice")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_payout_method_changes_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_method_changes")),
    )
    op.create_index("ix_payout_method_changes_member", "payout_method_changes",
                    ["member_id", "at"])
    op.create_index("ix_payout_method_changes_notice", "payout_method_changes", ["notice"])
    op.create_table(
        "tax_ids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("last_four", sa.String(length=4), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("set_at", UTC(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_tax_ids_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_ids")),
        sa.UniqueConstraint("member_id", name=op.f("uq_tax_ids_member_id")),
    )
    op.create_table(
        "tax_id_readers",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", UTC(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_tax_id_readers_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_tax_id_readers")),
    )


def downgrade() -> None:
    op.drop_table("tax_id_readers")
    op.drop_table("tax_ids")
    op.drop_index("ix_payout_method_changes_notice", table_name="payout_method_changes")
    op.drop_index("ix_payout_method_changes_member", table_name="payout_method_changes")
    op.drop_table("payout_method_changes")
    op.drop_table("payout_methods")
