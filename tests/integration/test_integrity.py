"""``patronage check`` and the guard against deleting members.

Orders' buyer and credited distributor (and other ids) are not foreign keys; a trigger refuses to
delete members, and the check finds whatever is left dangling anyway, on both databases.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, Integer, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.gateway import SimulatedGateway
from patronage.autoship.run import run_day
from patronage.autoship.subscriptions import Item, pause_until, subscribe
from patronage.care.core.rules import load_rules
from patronage.cli.main import app
from patronage.clock import Period
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.runs import PlanSource, commit_period
from patronage.db.autoship import Subscription
from patronage.db.care import Touch
from patronage.db.compensation import PayoutLine
from patronage.db.engine import transaction
from patronage.db.schema import metadata
from patronage.integrity import REFERENCES, check_integrity
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import catalog, customer, distributor

JOINED = datetime(2026, 9, 1, tzinfo=UTC)
ORDERED = datetime(2026, 10, 10, 15, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 18, tzinfo=UTC)
runner = CliRunner()


def _company(engine: Engine) -> dict[str, int]:
    """A distributor, a customer of theirs with an order, and a customer without one."""
    with transaction(engine) as s:
        catalog(s)
        dana = distributor(s, "Dana", joined_at=JOINED)
        sally = customer(s, dana, "Sally", joined_at=JOINED)
        quiet = customer(s, dana, "Quinn", joined_at=JOINED)
        order = place_order(s, NewOrder(sally, ORDERED, [LineRequest("SHAKE")]),
                            now=ORDERED).order.id
    return {"dana": dana, "sally": sally, "quiet": quiet, "order": order}


def _checks(engine: Engine, now: datetime = NOW) -> dict[str, tuple[int, list[str]]]:
    report = check_integrity(engine, now)
    return {f.check: (f.count, f.examples) for f in report.findings}


@contextmanager
def _without_guard(engine: Engine) -> Iterator[None]:
    """The delete trigger bypassed (as a careless script or another tool might)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE members DISABLE TRIGGER members_never_deleted"))
        try:
            yield
        finally:
            with engine.begin() as conn:
                conn.execute(text("ALTER TABLE members ENABLE TRIGGER members_never_deleted"))
        return
    with engine.connect() as conn:
        sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                "AND name = 'members_never_deleted'")).scalar_one()
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER members_never_deleted"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(sql))


def test_a_consistent_company_passes(engine: Engine) -> None:
    _company(engine)
    report = check_integrity(engine, NOW)
    assert report.ok and report.findings == []
    assert set(report.seconds) == {"references", "commission runs", "earnings ledger",
                                   "open volumes", "subscriptions",
                                   "care touches"}


@pytest.mark.parametrize("who", ["sally", "quiet"])
def test_deleting_a_member_is_refused_by_the_database(engine: Engine, who: str) -> None:
    ids = _company(engine)
    with pytest.raises(DBAPIError, match="members are never deleted"), engine.begin() as conn:
        conn.execute(text("DELETE FROM members WHERE id = :id"), {"id": ids[who]})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM members")).scalar_one() == 3
        # Deleting nothing is no delete: refused only for a row.
        conn.execute(text("DELETE FROM members WHERE id = -1"))
    assert check_integrity(engine, NOW).ok


def test_emptying_the_database_is_not_a_delete_and_keeps_the_guard(engine: Engine) -> None:
    from patronage.demo.reset import reset_database

    _company(engine)
    reset_database(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM members")).scalar_one() == 0
    ids = _company(engine)
    with pytest.raises(DBAPIError, match="members are never deleted"), engine.begin() as conn:
        conn.execute(text("DELETE FROM members WHERE id = :id"), {"id": ids["quiet"]})


def test_a_member_deleted_past_the_guard_leaves_orders_the_check_finds(engine: Engine) -> None:
    ids = _company(engine)
    with _without_guard(engine), engine.begin() as conn:
        conn.execute(text("DELETE FROM members WHERE id = :id"), {"id": ids["sally"]})
    found = _checks(engine)
    assert found["reference orders.buyer_id"] == (
        1, [f"orders {ids['order']}, buyer_id {ids['sally']}"])
    assert "reference orders.credited_to_id" not in found  # Dana is still there
    with pytest.raises(DBAPIError, match="members are never deleted"), engine.begin() as conn:
        conn.execute(text("DELETE FROM members WHERE id = :id"), {"id": ids["dana"]})


def test_every_dangling_reference_is_counted_with_examples(engine: Engine) -> None:
    ids = _company(engine)
    with engine.begin() as conn:
        for n in range(7):
            conn.execute(text(
                "INSERT INTO orders (buyer_id, credited_to_id, placed_at, currency, source, "
                "status, total) VALUES (:b, :c, :t, 'USD', 'one_time', 'paid', 0)"),
                {"b": 900 + n, "c": ids["dana"] if n % 2 else 800, "t": ORDERED})
        conn.execute(text("INSERT INTO autoship_events (subscription_id, member_id, kind, at, "
                          "actor, detail) VALUES (77, :m, 'created', :t, 'x', '')"),
                     {"m": ids["sally"], "t": ORDERED})
        for field, old, new in (("owner", str(ids["dana"]), "4040"), ("sponsor", None, "x1"),
                                ("kind", "retail", "distributor")):
            conn.execute(text(
                "INSERT INTO genealogy_changes (member_id, field, old_value, new_value, "
                "effective_at, recorded_at, actor, reason) VALUES (:m, :f, :o, :n, :t, :t, "
                "'x', '')"), {"m": ids["sally"], "f": field, "o": old, "n": new, "t": ORDERED})
    report = check_integrity(engine, NOW, examples=3)
    found = {f.check: f for f in report.findings}
    moved = found.pop("reference genealogy_changes.new_value (sponsor or owner moves)")
    assert moved.count == 2
    assert [e.split(", ", 1)[1] for e in moved.examples] == [
        "field owner, new_value 4040", "field sponsor, new_value x1"]
    assert not report.ok and report.problems == 7 + 4 + 1 + 2
    buyers = found["reference orders.buyer_id"]
    assert buyers.count == 7 and len(buyers.examples) == 3
    assert buyers.examples[0].endswith("buyer_id 900")
    assert buyers.problem == "orders.buyer_id names no row of members"
    assert found["reference orders.credited_to_id"].count == 4
    assert found["reference autoship_events.subscription_id"].examples[0].endswith(
        "subscription_id 77")
    assert set(found) == {"reference orders.buyer_id", "reference orders.credited_to_id",
                          "reference autoship_events.subscription_id"}


def test_every_id_without_a_database_key_is_checked() -> None:
    checked = {(r.table, r.column) for r in REFERENCES}
    unkeyed = {(table.name, column.name) for table in metadata().sorted_tables
               for column in table.columns
               if column.name.endswith("_id") and isinstance(column.type, Integer)
               and not column.foreign_keys}
    assert unkeyed - checked == set()


def test_a_committed_run_whose_lines_were_altered_does_not_replay(engine: Engine) -> None:
    ids = _company(engine)
    with transaction(engine) as s:
        place_order(s, NewOrder(ids["dana"], ORDERED, [LineRequest("PACK")],
                                source="enrollment"), now=ORDERED)
    plan = PlanSource.from_file(default_plan_path())
    for period in (Period(2026, 9), Period(2026, 10)):
        commit_period(engine, period, plan, now=NOW, actor="test")
    assert check_integrity(engine, NOW).ok
    with transaction(engine) as s:
        s.execute(update(PayoutLine).where(PayoutLine.id == s.query(PayoutLine.id).order_by(
            PayoutLine.id).limit(1).scalar_subquery()).values(amount=PayoutLine.amount + 1))
    assert _checks(engine)["commission runs replay"] == (1, [
        "period 2026-10: the replay differs from the stored payout lines"])


def _subscribed(engine: Engine, start: date, created: datetime) -> tuple[dict[str, int], int]:
    ids = _company(engine)
    with transaction(engine) as s:
        sub = subscribe(s, ids["sally"], [Item("SHAKE")], Frequency("monthly", 5),
                        start=start, now=created, actor="test").id
    return ids, sub


def test_a_subscription_the_daily_run_left_behind_is_overdue(engine: Engine) -> None:
    ids, sub = _subscribed(engine, date(2026, 11, 1), datetime(2026, 10, 30, 12, tzinfo=UTC))
    # Next run 2026-11-05; the check on the 5th (today's run may not have run yet) is fine.
    assert check_integrity(engine, datetime(2026, 11, 5, 20, tzinfo=UTC)).ok
    overdue = _checks(engine, datetime(2026, 11, 6, 20, tzinfo=UTC))["subscriptions overdue"]
    assert overdue == (1, [f"subscriptions {sub}, status active, next run 2026-11-05, "
                           "retry on None, paused until None"])
    # The daily run passes over a terminated member's subscription: not the run's omission.
    with engine.begin() as conn:
        conn.execute(text("UPDATE members SET status = 'terminated' WHERE id = :m"),
                     {"m": ids["sally"]})
    assert check_integrity(engine, datetime(2026, 11, 6, 20, tzinfo=UTC)).ok
    with engine.begin() as conn:
        conn.execute(text("UPDATE members SET status = 'active' WHERE id = :m"),
                     {"m": ids["sally"]})
    run_day(engine, date(2026, 11, 5), SimulatedGateway(engine, 0.0, 1),
            now=datetime(2026, 11, 5, 7, tzinfo=UTC))
    assert check_integrity(engine, datetime(2026, 11, 6, 20, tzinfo=UTC)).ok


def test_a_subscription_starting_before_it_was_created_is_found(engine: Engine) -> None:
    # The service refuses such a start; a record written around it (an old import, a hand
    # edit) is what the check is for.
    _, sub = _subscribed(engine, date(2026, 11, 20), datetime(2026, 11, 20, 12, tzinfo=UTC))
    with engine.begin() as conn:
        conn.execute(text("UPDATE subscriptions SET next_run = :d WHERE id = :s"),
                     {"d": date(2026, 1, 5), "s": sub})
    found = _checks(engine, datetime(2026, 11, 20, 13, tzinfo=UTC))
    assert found["subscriptions before creation"] == (1, [
        f"subscriptions {sub}, status active, next run 2026-01-05, retry on None, "
        "paused until None"])
    assert found["subscriptions overdue"][0] == 1


def test_paused_and_state_fields_must_match_the_status(engine: Engine) -> None:
    _, sub = _subscribed(engine, date(2026, 11, 1), datetime(2026, 10, 30, 12, tzinfo=UTC))
    with transaction(engine) as s:
        pause_until(s, sub, date(2026, 12, 10), now=datetime(2026, 11, 1, tzinfo=UTC),
                    actor="test")
    assert check_integrity(engine, datetime(2026, 12, 10, 20, tzinfo=UTC)).ok
    assert _checks(engine, datetime(2026, 12, 11, 20, tzinfo=UTC))[
        "subscriptions pause over"][0] == 1
    with transaction(engine) as s:
        s.execute(update(Subscription).values(status="cancelled", cancelled_at=None,
                                              churn=None))
    assert _checks(engine, datetime(2026, 11, 2, tzinfo=UTC))[
        "subscriptions cancelled state"][0] == 1
    with transaction(engine) as s:
        s.execute(update(Subscription).values(status="active", paused_until=None,
                                              retry_on=None, failures=2))
    assert set(_checks(engine, datetime(2026, 11, 2, tzinfo=UTC))) == {
        "subscriptions retry state"}


def _touch(s: Session, member: int, channel: str, due: datetime,
           status: str = "planned") -> None:
    s.add(Touch(member_id=member, rule_key=f"r_{channel}_{status}", occasion="birthday",
                occasion_key=due.date().isoformat(), channel=channel, template="birthday",
                status=status, due_at=due, created_at=due))


def test_a_touch_still_planned_past_its_window_is_found(engine: Engine) -> None:
    ids = _company(engine)
    lookback = load_rules().settings.lookback_days
    edge = NOW - timedelta(days=lookback)
    with transaction(engine) as s:
        _touch(s, ids["sally"], "email", edge - timedelta(minutes=1))
        _touch(s, ids["sally"], "card", edge + timedelta(minutes=1))  # within its window
        _touch(s, ids["sally"], "task", edge - timedelta(days=9))  # tasks wait until done
        _touch(s, ids["sally"], "email", edge - timedelta(days=9), status="sent")
    count, examples = _checks(engine)["care touches past their window"]
    late = (edge - timedelta(minutes=1)).isoformat()
    assert count == 1 and examples[0].endswith(f", channel email, due {late}")


def test_the_check_command_exits_1_and_lists_problems(engine: Engine, db_url: str) -> None:
    ids = _company(engine)
    clean = runner.invoke(app, ["--db", db_url, "check", "--now", NOW.isoformat()])
    assert clean.exit_code == 0, clean.output
    assert "no problem found" in clean.output
    with _without_guard(engine), engine.begin() as conn:
        conn.execute(text("DELETE FROM members WHERE id = :id"), {"id": ids["sally"]})
    done = runner.invoke(app, ["--db", db_url, "check", "--now", NOW.isoformat(), "--json"])
    assert done.exit_code == 1
    report = json.loads(done.output)
    assert report["ok"] is False and report["problems"] == 1
    assert report["findings"] == [{
        "check": "reference orders.buyer_id", "count": 1,
        "problem": "orders.buyer_id names no row of members",
        "examples": [f"orders {ids['order']}, buyer_id {ids['sally']}"]}]
    words = runner.invoke(app, ["--db", db_url, "check", "--now", NOW.isoformat()])
    assert words.exit_code == 1
    assert "reference orders.buyer_id: 1" in words.output
    assert f"orders {ids['order']}, buyer_id {ids['sally']}" in words.output
