"""autoship: the daily run's updates stay on their rows' pages

The run moves every due subscription to its next date and settles every charge attempt it
recorded as pending: a million row updates on a busy day. On PostgreSQL an update can be written
beside the old row, with no new index entries ("heap-only"), when no indexed column changes and
the page has room. So subscriptions are no longer indexed by (status, next_run) (the due
subscriptions are read by one scan of the table, once a day), and both tables leave half of each
page free for the next versions of its rows (fillfactor 50, for pages written from now on;
``VACUUM FULL`` rewrites the existing ones). The measured gain:
docs/decisions/autoship-hot-updates.md.

Revision ID: 0005_autoship_hot_updates
Revises: 0004_autoship_orders_index
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005_autoship_hot_updates"
down_revision: str | Sequence[str] | None = "0004_autoship_orders_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("subscriptions", "autoship_attempts")


def upgrade() -> None:
    op.drop_index("ix_subscriptions_due", table_name="subscriptions")
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    op.create_index("ix_subscriptions_due", "subscriptions", ["status", "next_run"])
