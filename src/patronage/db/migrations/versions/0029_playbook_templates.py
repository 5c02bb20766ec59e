"""care playbook templates: a playbook's own wording per (occasion, channel)

Revision ID: 0029_playbook_templates
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0029_playbook_templates"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0023_care_playbooks"


def upgrade() -> None:
    op.create_table(
        "care_playbook_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("playbook_id", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["playbook_id"], ["care_playbooks.id"],
            name=op.f("fk_care_playbook_templates_playbook_id_care_playbooks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_playbook_templates")),
        sa.UniqueConstraint("playbook_id", "occasion", "channel",
                            name="uq_care_playbook_templates_place"),
    )


def downgrade() -> None:
    op.drop_table("care_playbook_templates")
