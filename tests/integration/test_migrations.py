"""The migrations build exactly the schema the tables declare."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, select, text

from patronage.db.compensation import CommissionSnapshot, PayoutLine, PayoutSkip
from patronage.db.engine import transaction
from patronage.db.schema import alembic_config, metadata


def test_migrated_database_matches_the_table_definitions(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata())
    assert diff == []


def _migrator(engine: Engine) -> Callable[[Callable[..., None], str], None]:
    """``migrate(command.upgrade | command.downgrade, revision)`` on the test database."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))

    def migrate(step: Callable[..., None], target: str) -> None:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            step(cfg, target)

    return migrate


def test_payout_names_stored_as_text_become_their_numbers_and_back(engine: Engine) -> None:
    migrate = _migrator(engine)
    migrate(command.downgrade, "0003_compensation_results")
    try:
        with engine.begin() as conn:
            for table, extra in (("payout_lines", ", earner_id, volume, rate_bp, amount"),
                                 ("payout_skips", ", member_id, reason")):
                values = ", 1" * extra.count(",")
                conn.execute(text(
                    f"INSERT INTO {table} (run_id, bonus, source_kind, source_id, level{extra}) "
                    f"VALUES (1, 'stair_step', 'member', 5, 0{values}), "
                    f"(1, 'retail_profit', 'order', 6, 0{values})"))
        migrate(command.upgrade, "heads")
        with transaction(engine) as s:
            lines = s.execute(select(PayoutLine.bonus, PayoutLine.source_kind)
                              .order_by(PayoutLine.source_id)).all()
            skips = s.execute(select(PayoutSkip.bonus, PayoutSkip.source_kind)
                              .order_by(PayoutSkip.source_id)).all()
        with engine.connect() as conn:
            raw = conn.execute(text("SELECT bonus, source_kind FROM payout_lines "
                                    "ORDER BY source_id")).all()
        assert [tuple(r) for r in lines] == [("stair_step", "member"), ("retail_profit", "order")]
        assert [tuple(r) for r in skips] == [tuple(r) for r in lines]
        assert [tuple(r) for r in raw] == [(5, 1), (0, 0)]
        migrate(command.downgrade, "0003_compensation_results")
        with engine.connect() as conn:
            back = conn.execute(text("SELECT bonus, source_kind FROM payout_skips "
                                     "ORDER BY source_id")).all()
        assert [tuple(r) for r in back] == [("stair_step", "member"), ("retail_profit", "order")]
    finally:
        migrate(command.upgrade, "heads")


def test_a_runs_snapshot_moves_to_its_own_table_and_back(engine: Engine) -> None:
    migrate = _migrator(engine)
    migrate(command.downgrade, "0004_compensation_store")
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO commission_runs (id, period, plan_name, plan_version, plan_text, "
                "facts_digest, facts_snapshot, committed_at, committed_by, total_cv, "
                "total_paid, cap_applied) VALUES (7, '2026-01', 'p', '1', '', 'd', :b, "
                ":t, 'x', 0, 0, :f)"),
                {"b": b"\x00snapshot\xff", "t": datetime(2026, 2, 1, tzinfo=UTC), "f": False})
        migrate(command.upgrade, "heads")
        with transaction(engine) as s:
            moved = s.scalar(select(CommissionSnapshot.facts)
                             .where(CommissionSnapshot.run_id == 7))
        assert moved == b"\x00snapshot\xff"
        migrate(command.downgrade, "0004_compensation_store")
        with engine.connect() as conn:
            back = conn.execute(text("SELECT facts_snapshot FROM commission_runs")).scalar()
        assert bytes(back) == b"\x00snapshot\xff"
    finally:
        migrate(command.upgrade, "heads")


def test_values_fitted_before_owners_were_recorded_get_their_members_owners(
        engine: Engine) -> None:
    migrate = _migrator(engine)
    migrate(command.downgrade, "0003_web_indexes")
    try:
        at = datetime(2026, 2, 1, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO members (id, kind, status, first_name, last_name, timezone, "
                "locale, joined_at, owner_id) VALUES "
                "(1, 'distributor', 'active', 'D', 'One', 'UTC', 'en', :t, NULL), "
                "(2, 'retail', 'active', 'C', 'Two', 'UTC', 'en', :t, 1)"), {"t": at})
            for member in (1, 2):
                conn.execute(text(
                    "INSERT INTO customer_values (run_id, member_id, model, segment, p_alive, "
                    "expected_orders, past_value, future_value, referral_value, risk, "
                    "value_at_risk, risk_flags, consumption, consistency, referral, rainmaker, "
                    "feedback, testimonial, emotional, rainmaker_amount) VALUES (3, :m, 'none', "
                    "'pooled', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"), {"m": member})
        migrate(command.upgrade, "heads")
        with engine.connect() as conn:
            owners = conn.execute(text("SELECT member_id, owner_id FROM customer_values "
                                       "ORDER BY member_id")).all()
        assert [tuple(r) for r in owners] == [(1, None), (2, 1)]
    finally:
        migrate(command.upgrade, "heads")


def _fillfactor(engine: Engine, table: str) -> str | None:
    with engine.connect() as conn:
        options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = :t"),
                               {"t": table}).scalar_one()
    return next((o for o in options or [] if o.startswith("fillfactor=")), None)


def _subscription_indexes(engine: Engine) -> set[str]:
    sql = ("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'subscriptions'"
           if engine.dialect.name == "sqlite" else
           "SELECT indexname FROM pg_indexes WHERE tablename = 'subscriptions'")
    with engine.connect() as conn:
        return set(conn.execute(text(sql)).scalars())


def test_the_daily_runs_tables_leave_room_for_their_rows_next_versions(engine: Engine) -> None:
    migrate = _migrator(engine)
    migrate(command.downgrade, "0004_autoship_orders_index")
    try:
        assert "ix_subscriptions_due" in _subscription_indexes(engine)
        if engine.dialect.name == "postgresql":
            assert _fillfactor(engine, "subscriptions") is None
        migrate(command.upgrade, "heads")
        assert "ix_subscriptions_due" not in _subscription_indexes(engine)
        if engine.dialect.name == "postgresql":
            for table in ("subscriptions", "autoship_attempts"):
                assert _fillfactor(engine, table) == "fillfactor=50"
    finally:
        migrate(command.upgrade, "heads")


def test_the_member_delete_guard_comes_and_goes_with_its_migration(engine: Engine) -> None:
    from sqlalchemy.exc import DBAPIError

    def add(conn: Connection, member: int) -> None:
        conn.execute(text(
            "INSERT INTO members (id, kind, status, first_name, last_name, timezone, locale, "
            "joined_at) VALUES (:m, 'retail', 'active', 'C', 'X', 'UTC', 'en', :t)"),
            {"m": member, "t": datetime(2026, 2, 1, tzinfo=UTC)})

    migrate = _migrator(engine)
    migrate(command.downgrade, "0007_member_delete_guard-1")
    try:
        with engine.begin() as conn:
            add(conn, 1)
            conn.execute(text("DELETE FROM members WHERE id = 1"))
        migrate(command.upgrade, "heads")
        with engine.begin() as conn:
            add(conn, 2)
        with pytest.raises(DBAPIError, match="members are never deleted"), \
                engine.begin() as conn:
            conn.execute(text("DELETE FROM members WHERE id = 2"))
    finally:
        migrate(command.upgrade, "heads")


def test_fits_and_values_stored_before_priors_existed_are_marked_fitted(engine: Engine) -> None:
    migrate = _migrator(engine)
    migrate(command.downgrade, "0002_value")
    try:
        at = datetime(2026, 2, 1, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO value_runs (id, as_of, created_at, discount_monthly, "
                "horizon_months, referral_decay, members) VALUES (3, :t, :t, 0.01, 12, 0.5, 1)"),
                {"t": at})
            conn.execute(text(
                "INSERT INTO value_fits (run_id, model, segment, params, log_likelihood, "
                "converged, message, n) VALUES (3, 'bgnbd', 'pooled', '{}', -1.5, :yes, "
                "'ok', 40)"), {"yes": True})
            conn.execute(text(
                "INSERT INTO customer_values (run_id, member_id, model, segment, p_alive, "
                "expected_orders, past_value, future_value, referral_value, risk, "
                "value_at_risk, risk_flags, consumption, consistency, referral, rainmaker, "
                "feedback, testimonial, emotional, rainmaker_amount) VALUES (3, 2, 'bgnbd', "
                "'pooled', 0.5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"))
        migrate(command.upgrade, "heads")
        with engine.connect() as conn:
            fits = conn.execute(text("SELECT source, standard_errors FROM value_fits")).all()
            values = conn.execute(text("SELECT source FROM customer_values")).all()
        assert [tuple(r) for r in fits] == [("fitted", "{}")]
        assert [tuple(r) for r in values] == [("fitted",)]
    finally:
        migrate(command.upgrade, "heads")


def test_stored_phone_numbers_become_e164_in_the_members_country(engine: Engine) -> None:
    """Numbers written nationally are read in the member's country (else their market's, else
    the default market's) and rewritten in E.164; an invalid number is kept as written."""
    migrate = _migrator(engine)
    migrate(command.downgrade, "0009_default_market")
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO markets (code, name, currency, languages, timezone, "
                              "tax_inclusive, shipping_countries, cooling_off_days, is_default) "
                              "VALUES ('MX', 'Mexico', 'MXN', 'es-MX', 'America/Mexico_City', "
                              ":f, 'MX', 5, :f)"), {"f": False})
            mx = conn.execute(text("SELECT id FROM markets WHERE code = 'MX'")).scalar_one()
            for ref, phone, country, market in (
                    ("P1", "(212) 555-0123", None, None), ("P2", "55 5555 1234", None, mx),
                    ("P3", "020 7946 0123", "GB", None), ("P4", "+1 555 0100", None, None),
                    ("P5", "+525555551234", None, None)):
                conn.execute(text(
                    "INSERT INTO members (ref, kind, status, first_name, last_name, phone, "
                    "country, market_id, timezone, locale, joined_at) VALUES (:r, "
                    "'distributor', 'active', 'A', '', :p, :c, :m, 'UTC', 'en-US', :j)"),
                    {"r": ref, "p": phone, "c": country, "m": market,
                     "j": datetime(2026, 1, 1, tzinfo=UTC)})
        migrate(command.upgrade, "heads")
        with engine.connect() as conn:
            got = dict(conn.execute(text(
                "SELECT ref, phone FROM members WHERE ref LIKE 'P%' ORDER BY ref")).all())
        assert got == {"P1": "+12125550123", "P2": "+525555551234", "P3": "+442079460123",
                       "P4": "+1 555 0100", "P5": "+525555551234"}
    finally:
        migrate(command.upgrade, "heads")


def test_runs_posted_before_the_posting_record_are_recorded_as_posted(engine: Engine) -> None:
    migrate = _migrator(engine)
    migrate(command.downgrade, "0032_ledger_speed@-1")
    try:
        with engine.begin() as conn:
            run_id = conn.execute(text(
                "INSERT INTO commission_runs (period, plan_name, plan_version, plan_text, "
                "facts_digest, committed_at, committed_by, total_cv, total_paid, cap_applied, "
                "volume_mix) VALUES ('2026-09', 'p', '1', '', 'd', :t, 'test', 0, 0, :f, :f) "
                "RETURNING id"), {"t": datetime(2026, 10, 1, tzinfo=UTC), "f": False}
            ).scalar_one()
            for member, kind, amount in ((7, "earned", 500), (7, "clawed_back", -50),
                                         (8, "earned", 90), (8, "adjusted", 5)):
                conn.execute(text(
                    "INSERT INTO ledger_entries (member_id, counter_account, kind, amount, "
                    "currency, source_id, posted_at, posted_by) VALUES (:m, :acct, :k, :a, 840, "
                    ":r, :t, 'ops')"), {"m": member, "k": kind, "a": amount, "r": run_id,
                                        "t": datetime(2026, 10, 2, tzinfo=UTC),
                                        "acct": "company:adjustments" if kind == "adjusted"
                                        else "company:commissions_expense"})
        migrate(command.upgrade, "heads")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT run_id, movements, posted_by FROM ledger_postings"
                                     )).all()
        assert [tuple(r) for r in rows] == [(run_id, 3, "ops")]
    finally:
        migrate(command.upgrade, "heads")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger_postings"))
            conn.execute(text("DELETE FROM ledger_entries"))
            conn.execute(text("DELETE FROM commission_runs"))
