"""autoship: an order's buyer and credited distributor are not keys checked row by row

A foreign key check locks the referred row, and a lock is a write: every order wrote its
buyer's and its credited distributor's member rows, and after each checkpoint a full image of
each such page. The daily run's batches, in flight two at a time, also credit the same
distributors (a distributor owns many subscribing customers), and two transactions locking one
row make it a shared lock (a MultiXact), written again. The measured cost of both checks, on a
million subscriptions: docs/decisions/order-member-keys.md.

Every writer takes both from a member row it has just read (the buyer; the credited distributor
is the buyer or the buyer's owner, itself a key to members), and members are never deleted
(erasure anonymises them). Order lines keep their checked keys to the order and the product.

Revision ID: 0006_autoship_order_member_keys
Revises: 0005_autoship_hot_updates
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_autoship_order_member_keys"
down_revision: str | Sequence[str] | None = "0005_autoship_hot_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = ("buyer_id", "credited_to_id")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for column in _KEYS:
            batch.drop_constraint(f"fk_orders_{column}_members", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for column in _KEYS:
            batch.create_foreign_key(f"fk_orders_{column}_members", "members", [column], ["id"])
