"""The audit log: entries are written inside the caller's transaction, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from patronage import audit
from patronage.db.engine import transaction

pytestmark = pytest.mark.storage


def test_recorded_entries_are_listed_newest_first(engine: Engine) -> None:
    at = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
    with transaction(engine) as session:
        audit.record(session, actor="staff:a@x", action="login.ok", target="", detail="",
                     at=at, ip="127.0.0.1")
        audit.record(session, actor="staff:a@x", action="run.commit", target="run 3",
                     detail="plan example", at=at + timedelta(minutes=1))
    with transaction(engine) as session:
        rows = audit.recent(session)
        assert [r.action for r in rows] == ["run.commit", "login.ok"]
        assert rows[0].target == "run 3" and rows[1].ip == "127.0.0.1"
        assert [r.action for r in audit.recent(session, action="login.ok")] == ["login.ok"]


def test_entry_is_not_kept_when_the_action_rolls_back(engine: Engine) -> None:
    at = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        audit.record(session, actor="x", action="run.commit", target="", detail="", at=at)
        raise RuntimeError("commit failed")
    with transaction(engine) as session:
        assert audit.recent(session) == []


def test_naive_time_is_refused(engine: Engine) -> None:
    with transaction(engine) as session, pytest.raises(ValueError, match="aware"):
        audit.record(session, actor="x", action="a", target="", detail="",
                     at=datetime(2026, 1, 1))
