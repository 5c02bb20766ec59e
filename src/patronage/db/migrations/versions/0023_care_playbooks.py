"""care playbooks: rule sets leaders write and share, and which one each distributor adopted;
care gifts: the budgets that pay for samples and gifts sent with cards, and each gift sent

Revision ID: 0023_care_playbooks
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0023_care_playbooks"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_playbooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("based_on_id", sa.Integer(), nullable=True),
        sa.Column("based_on_version", sa.Integer(), nullable=True),
        sa.Column("created_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["members.id"],
                                name=op.f("fk_care_playbooks_author_id_members")),
        sa.ForeignKeyConstraint(["based_on_id"], ["care_playbooks.id"],
                                name=op.f("fk_care_playbooks_based_on_id_care_playbooks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_playbooks")),
    )
    op.create_index("ix_care_playbooks_author", "care_playbooks", ["author_id"])
    op.create_index("ix_care_playbooks_based_on", "care_playbooks", ["based_on_id"])
    op.create_table(
        "care_playbook_adoptions",
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("playbook_id", sa.Integer(), nullable=False),
        sa.Column("adopted_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_care_playbook_adoptions_member_id_members")),
        sa.ForeignKeyConstraint(
            ["playbook_id"], ["care_playbooks.id"],
            name=op.f("fk_care_playbook_adoptions_playbook_id_care_playbooks")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_care_playbook_adoptions")),
    )


    op.create_table(
        "care_gift_budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=True),
        sa.Column("per_month", sa.BigInteger(), nullable=False),
        sa.Column("per_customer_year", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["payer_id"], ["members.id"],
                                name=op.f("fk_care_gift_budgets_payer_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_gift_budgets")),
        sa.UniqueConstraint("payer_id", name=op.f("uq_care_gift_budgets_payer_id")),
    )
    op.create_table(
        "care_gifts",
        sa.Column("touch_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_care_gifts_member_id_members")),
        sa.ForeignKeyConstraint(["payer_id"], ["members.id"],
                                name=op.f("fk_care_gifts_payer_id_members")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_care_gifts_order_id_orders")),
        sa.PrimaryKeyConstraint("touch_id", name=op.f("pk_care_gifts")),
    )
    op.create_index("ix_care_gifts_payer", "care_gifts", ["payer_id", "sent_at"])
    op.create_index("ix_care_gifts_member", "care_gifts", ["member_id", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_care_gifts_member", table_name="care_gifts")
    op.drop_index("ix_care_gifts_payer", table_name="care_gifts")
    op.drop_table("care_gifts")
    op.drop_table("care_gift_budgets")
    op.drop_table("care_playbook_adoptions")
    op.drop_index("ix_care_playbooks_based_on", table_name="care_playbooks")
    op.drop_index("ix_care_playbooks_author", table_name="care_playbooks")
    op.drop_table("care_playbooks")
