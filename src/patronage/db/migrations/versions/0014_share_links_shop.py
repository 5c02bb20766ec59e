"""share links and the shop: share codes, attributions, checkouts, agreements, leads

Revision ID: 0014_share_links_shop
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0014_share_links_shop"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
#: The contacts and care touches tables come from the care branch.
depends_on: str | Sequence[str] | None = "0002_care"


def upgrade() -> None:
    op.create_table("agreement_acceptances",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("member_id", sa.Integer(), nullable=False),
    sa.Column("version", sa.String(length=32), nullable=False),
    sa.Column("accepted_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column("ip", sa.String(length=64), nullable=False),
    sa.Column("user_agent", sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_agreement_acceptances_member_id_members")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_acceptances"))
    )
    with op.batch_alter_table("agreement_acceptances", schema=None) as batch_op:
        batch_op.create_index("ix_agreement_acceptances_member", ["member_id"], unique=False)

    op.create_table("share_codes",
    sa.Column("member_id", sa.Integer(), nullable=False),
    sa.Column("code", sa.String(length=16), nullable=False),
    sa.Column("created_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_share_codes_member_id_members")),
    sa.PrimaryKeyConstraint("member_id", name=op.f("pk_share_codes")),
    sa.UniqueConstraint("code", name=op.f("uq_share_codes_code"))
    )
    op.create_table("shop_attributions",
    sa.Column("member_id", sa.Integer(), nullable=False),
    sa.Column("code", sa.String(length=16), nullable=True),
    sa.Column("owner_id", sa.Integer(), nullable=False),
    sa.Column("referrer_id", sa.Integer(), nullable=True),
    sa.Column("house_fallback", sa.Boolean(), nullable=False),
    sa.Column("at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_shop_attributions_member_id_members")),
    sa.ForeignKeyConstraint(["owner_id"], ["members.id"], name=op.f("fk_shop_attributions_owner_id_members")),
    sa.ForeignKeyConstraint(["referrer_id"], ["members.id"], name=op.f("fk_shop_attributions_referrer_id_members")),
    sa.PrimaryKeyConstraint("member_id", name=op.f("pk_shop_attributions"))
    )
    op.create_table("shop_checkouts",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("key", sa.String(length=64), nullable=False),
    sa.Column("member_id", sa.Integer(), nullable=False),
    sa.Column("plan", sa.String(length=16), nullable=False),
    sa.Column("order_id", sa.Integer(), nullable=True),
    sa.Column("subscription_id", sa.Integer(), nullable=True),
    sa.Column("charge_key", sa.String(length=128), nullable=True),
    sa.Column("currency", sa.String(length=3), nullable=False),
    sa.Column("subtotal", sa.BigInteger(), nullable=False),
    sa.Column("tax", sa.BigInteger(), nullable=False),
    sa.Column("total", sa.BigInteger(), nullable=False),
    sa.Column("tax_label", sa.String(length=100), nullable=False),
    sa.Column("created_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_shop_checkouts_member_id_members")),
    sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_shop_checkouts_order_id_orders")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_checkouts")),
    sa.UniqueConstraint("key", name=op.f("uq_shop_checkouts_key"))
    )
    with op.batch_alter_table("shop_checkouts", schema=None) as batch_op:
        batch_op.create_index("ix_shop_checkouts_member", ["member_id"], unique=False)

    op.create_table("shop_leads",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("referrer_id", sa.Integer(), nullable=False),
    sa.Column("owner_id", sa.Integer(), nullable=False),
    sa.Column("contact_id", sa.Integer(), nullable=False),
    sa.Column("touch_id", sa.Integer(), nullable=True),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("email", sa.String(length=254), nullable=True),
    sa.Column("phone", sa.String(length=40), nullable=True),
    sa.Column("phone_key", sa.String(length=40), nullable=True),
    sa.Column("created_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column("joined_member_id", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_shop_leads_contact_id_contacts")),
    sa.ForeignKeyConstraint(["joined_member_id"], ["members.id"], name=op.f("fk_shop_leads_joined_member_id_members")),
    sa.ForeignKeyConstraint(["owner_id"], ["members.id"], name=op.f("fk_shop_leads_owner_id_members")),
    sa.ForeignKeyConstraint(["referrer_id"], ["members.id"], name=op.f("fk_shop_leads_referrer_id_members")),
    sa.ForeignKeyConstraint(["touch_id"], ["care_touches.id"], name=op.f("fk_shop_leads_touch_id_care_touches")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_leads"))
    )
    with op.batch_alter_table("shop_leads", schema=None) as batch_op:
        batch_op.create_index("ix_shop_leads_email", ["email"], unique=False)
        batch_op.create_index("ix_shop_leads_phone_key", ["phone_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shop_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_leads_phone_key")
        batch_op.drop_index("ix_shop_leads_email")

    op.drop_table("shop_leads")
    with op.batch_alter_table("shop_checkouts", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_checkouts_member")

    op.drop_table("shop_checkouts")
    op.drop_table("shop_attributions")
    op.drop_table("share_codes")
    with op.batch_alter_table("agreement_acceptances", schema=None) as batch_op:
        batch_op.drop_index("ix_agreement_acceptances_member")

    op.drop_table("agreement_acceptances")
