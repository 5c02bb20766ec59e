"""compensation: narrow result rows, and indexes that a new run appends to

A payout line's or skip's bonus and source kind are stored as their numbers (the order of
``compensation.results.BONUSES`` and ``SOURCE_KINDS``), so the rows a close writes by the million
are narrow and all of one width. A committed run's rows are written in (run, member) order,
and indexed so on PostgreSQL by block range (BRIN), which costs the writes next to nothing:
payout lines by (run, earner), ranks and skips by (run, member). (Runs committed before this
revision are not in that order: looking a member up in one of them reads the whole run.) Lines
are no longer indexed by source: clawbacks read the lines of the few runs their refunds point to.

Revision ID: 0004_compensation_store
Revises: 0003_compensation_results
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_compensation_store"
down_revision: str | Sequence[str] | None = "0003_compensation_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BONUSES = ("retail_profit", "fast_start", "unilevel", "customer_acquisition",
           "customer_referral", "stair_step", "generation")
KINDS = ("order", "member")
_CODED = ("payout_lines", "payout_skips")


def _case(column: str, names: Sequence[str], to_names: bool) -> str:
    pairs = [(f"'{i}'", f"'{n}'") if to_names else (f"'{n}'", f"'{i}'")
             for i, n in enumerate(names)]
    whens = " ".join(f"WHEN {a} THEN {b}" for a, b in pairs)
    return f"CASE {column} {whens} END"


_BRIN = {"postgresql_using": "brin", "postgresql_with": {"pages_per_range": 16}}


def upgrade() -> None:
    op.drop_index("ix_payout_lines_source", table_name="payout_lines")
    op.drop_index("ix_rank_records_member", table_name="rank_records")
    op.drop_index("ix_payout_lines_run_earner", table_name="payout_lines")
    op.drop_index("ix_payout_skips_run_member", table_name="payout_skips")
    op.create_index("ix_payout_lines_run_earner", "payout_lines", ["run_id", "earner_id"],
                    **_BRIN)
    op.create_index("ix_rank_records_run_member", "rank_records", ["run_id", "member_id"],
                    **_BRIN)
    op.create_index("ix_payout_skips_run_member", "payout_skips", ["run_id", "member_id"],
                    **_BRIN)
    for table in _CODED:
        # Names become the text of their numbers, then the columns become integers.
        op.execute(f"UPDATE {table} SET bonus = {_case('bonus', BONUSES, False)}, "
                   f"source_kind = {_case('source_kind', KINDS, False)}")
        with op.batch_alter_table(table) as batch:
            for column in ("bonus", "source_kind"):
                batch.alter_column(column, type_=sa.SmallInteger(),
                                   existing_type=sa.String(32 if column == "bonus" else 8),
                                   existing_nullable=False,
                                   postgresql_using=f"{column}::smallint")


def downgrade() -> None:
    for table in _CODED:
        with op.batch_alter_table(table) as batch:
            for column in ("bonus", "source_kind"):
                batch.alter_column(column, type_=sa.String(32 if column == "bonus" else 8),
                                   existing_type=sa.SmallInteger(), existing_nullable=False,
                                   postgresql_using=f"{column}::text")
        op.execute(f"UPDATE {table} SET bonus = {_case('bonus', BONUSES, True)}, "
                   f"source_kind = {_case('source_kind', KINDS, True)}")
    op.drop_index("ix_rank_records_run_member", table_name="rank_records")
    op.drop_index("ix_payout_skips_run_member", table_name="payout_skips")
    op.drop_index("ix_payout_lines_run_earner", table_name="payout_lines")
    op.create_index("ix_payout_skips_run_member", "payout_skips", ["run_id", "member_id"])
    op.create_index("ix_payout_lines_run_earner", "payout_lines", ["run_id", "earner_id"])
    op.create_index("ix_rank_records_member", "rank_records", ["member_id", "run_id"])
    op.create_index("ix_payout_lines_source", "payout_lines", ["source_kind", "source_id"])
