"""members: a database trigger refuses to delete a member

Orders' buyer and credited distributor (0006_autoship_order_member_keys), charge attempts and
autoship events (0003_autoship_bulk), commission results (0003_compensation_results) and
customer values name members by id without a foreign key, for speed. Members are never deleted
(erasure anonymises them), and this trigger makes the database hold to it: any ``DELETE`` of a
member row is refused, whatever path it comes from, so no such id is left pointing nowhere.
It is a row trigger: ``TRUNCATE`` (PostgreSQL) and dropping the tables (the demo's reset) are
not affected. ``patronage check`` finds any reference left dangling anyway
(docs/decisions/order-member-keys.md).

Note for later migrations: on SQLite, a batch ``ALTER`` that copies the members table drops its
triggers; such a migration must create this one again (tests/integration/test_integrity.py
fails otherwise).

Revision ID: 0007_member_delete_guard
Revises: 0001_core
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_member_delete_guard"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("member_guard",)
depends_on: str | Sequence[str] | None = None

TRIGGER = "members_never_deleted"
FUNCTION = "patronage_members_never_deleted"
MESSAGE = "members are never deleted (erase the member instead)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'member %: {MESSAGE}', OLD.id
                    USING ERRCODE = 'restrict_violation';
            END $$""")
        op.execute(f"CREATE TRIGGER {TRIGGER} BEFORE DELETE ON members "
                   f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()")
    else:
        # SQLite's RAISE takes a literal message only.
        op.execute(f"""
            CREATE TRIGGER {TRIGGER} BEFORE DELETE ON members
            BEGIN
                SELECT RAISE(ABORT, '{MESSAGE}');
            END""")


def downgrade() -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON members"
               if op.get_bind().dialect.name == "postgresql" else
               f"DROP TRIGGER IF EXISTS {TRIGGER}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
