"""web: a distributor's dashboards answered from indexes, however many customers they serve

Members by owner carry kind, status and birth month; orders by buyer carry their status; a
member's values carry the amounts the customer list sorts by. Customer values gain the owner
(``members.owner_id``, kept equal to it), indexed with what an owner's at-risk list and value
sums read. Runs fitted before this revision get the owners their members have now.

Revision ID: 0004_web_dashboard_indexes
Revises: 0003_web_indexes
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_web_dashboard_indexes"
down_revision: str | Sequence[str] | None = "0003_web_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002_value",)

WIDENED = {
    "ix_members_owner": ("members", ["owner_id"], ["owner_id", "kind", "status", "birth_month"]),
    "ix_orders_buyer": ("orders", ["buyer_id", "placed_at"], ["buyer_id", "placed_at", "status"]),
    "ix_customer_values_member": ("customer_values", ["member_id", "run_id"],
                                  ["member_id", "run_id", "past_value", "future_value",
                                   "referral_value", "value_at_risk"]),
}
OWNER_INDEX = ["run_id", "owner_id", "value_at_risk", "member_id", "past_value",
               "future_value", "referral_value"]


def upgrade() -> None:
    for name, (table, _, columns) in WIDENED.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False)
    with op.batch_alter_table("customer_values") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
    op.execute("UPDATE customer_values SET owner_id = (SELECT m.owner_id FROM members m "
               "WHERE m.id = customer_values.member_id)")
    op.create_index("ix_customer_values_owner", "customer_values", OWNER_INDEX, unique=False)


def downgrade() -> None:
    op.drop_index("ix_customer_values_owner", table_name="customer_values")
    with op.batch_alter_table("customer_values") as batch:
        batch.drop_column("owner_id")
    for name, (table, columns, _) in WIDENED.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False)
