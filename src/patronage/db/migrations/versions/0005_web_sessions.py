"""web: server-side sessions that can be ended, login attempts counted per address, and
password reset links

Revision ID: 0005_web_sessions
Revises: 0004_web_dashboard_indexes
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0005_web_sessions"
down_revision: str | Sequence[str] | None = "0004_web_dashboard_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", patronage.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_web_sessions_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_web_sessions_key_hash")),
    )
    op.create_index("ix_web_sessions_account", "web_sessions", ["account_id", "ended_at"],
                    unique=False)
    op.create_index("ix_login_attempts_ip", "login_attempts", ["ip", "at"], unique=False)
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", patronage.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", patronage.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_password_resets_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_password_resets_key_hash")),
    )
    op.create_index("ix_password_resets_account", "password_resets",
                    ["account_id", "created_at"], unique=False)
    op.create_index("ix_login_attempts_at", "login_attempts", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_password_resets_account", table_name="password_resets")
    op.drop_table("password_resets")
    op.drop_index("ix_login_attempts_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_ip", table_name="login_attempts")
    op.drop_index("ix_web_sessions_account", table_name="web_sessions")
    op.drop_table("web_sessions")
