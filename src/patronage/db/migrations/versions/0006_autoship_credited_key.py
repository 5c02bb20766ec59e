"""autoship: an order's credited distributor is not a key checked row by row

A foreign key check locks the referred row. Every order locked its credited distributor's
member row, and the daily run's batches, in flight two at a time, credit the same distributors
(a distributor owns many subscribing customers): two transactions holding a lock on one row
turn it into a shared lock (a MultiXact), written and logged for every such order. On a million
subscriptions that check took a fifth of the database's time in the run (on the 2-core
benchmark machine, runs of 63.5 and 65.4 s with it, 56.2 s without; the database's processes
used 73 and 58 s of processor time). Every writer takes the credited
distributor from a member row it has just read (the buyer, or the buyer's owner, itself a key
to members), and members are never deleted (erasure anonymises them); the buyer stays a
checked key.

Revision ID: 0006_autoship_credited_key
Revises: 0005_autoship_hot_updates
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_autoship_credited_key"
down_revision: str | Sequence[str] | None = "0005_autoship_hot_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = "fk_orders_credited_to_id_members"


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(_KEY, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.create_foreign_key(_KEY, "members", ["credited_to_id"], ["id"])
