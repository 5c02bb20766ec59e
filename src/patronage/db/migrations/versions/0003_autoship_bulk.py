"""autoship: charge attempts and events without per-row key checks

Revision ID: 0003_autoship_bulk
Revises: 0002_autoship
"""
from __future__ import annotations

from collections.abc import Sequence


from alembic import op

revision: str = "0003_autoship_bulk"
down_revision: str | Sequence[str] | None = "0002_autoship"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = (
    ("autoship_attempts", "subscription_id", "subscriptions"),
    ("autoship_attempts", "order_id", "orders"),
    ("autoship_events", "subscription_id", "subscriptions"),
    ("autoship_events", "member_id", "members"),
)


def upgrade() -> None:
    for table, column, referred in _KEYS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_{column}_{referred}", type_="foreignkey")


def downgrade() -> None:
    for table, column, referred in _KEYS:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(f"fk_{table}_{column}_{referred}", referred, [column],
                                     ["id"])

