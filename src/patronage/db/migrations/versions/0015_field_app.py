"""field app: a task can be snoozed, and a passed personal occasion expires

``care_touches.snoozed_until`` hides a task from the distributor's Today until then; the status
``expired`` marks a personal task whose day passed more than the grace period ago.

Revision ID: 0015_field_app
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0015_field_app"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0004_care_delivery_outcomes",)

OLD = ("planned", "sent", "done", "dropped", "failed", "cancelled")
NEW = (*OLD, "expired")


def _check(values: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("care_touches") as batch:
        batch.add_column(sa.Column("snoozed_until",
                                   patronage.db.base.UTCDateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_care_touches_status"), type_="check")
        batch.create_check_constraint(op.f("ck_care_touches_status"), _check(NEW))


def downgrade() -> None:
    op.execute("UPDATE care_touches SET status = 'dropped', drop_reason = 'expired' "
               "WHERE status = 'expired'")
    with op.batch_alter_table("care_touches") as batch:
        batch.drop_constraint(op.f("ck_care_touches_status"), type_="check")
        batch.create_check_constraint(op.f("ck_care_touches_status"), _check(OLD))
        batch.drop_column("snoozed_until")
