"""When a period may be committed: only once it has ended in the company's time zone, in order,
and once (the loser of two commits at once is told who won); through the service, the CLI, the
REST API and the web."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

import patronage.compensation.runs as runs
from patronage.cli.main import app
from patronage.clock import FixedClock, Period
from patronage.compensation.plan_versions import set_plan
from patronage.compensation.runs import commit_period, preview_period
from patronage.db.compensation import CommissionRun
from patronage.db.engine import transaction
from patronage.errors import Conflict
from tests.integration.test_api_support import API, acting_as, app_for, company
from tests.integration.test_commission_runs import MID_NOV, MID_OCT, OCT, PLAN
from tests.integration.test_commission_runs import _company as _orders_company

# America/Chicago (the company's zone): October 2026 ends at 2026-11-01 00:00 CDT = 05:00 UTC.
OCT_ENDS = datetime(2026, 11, 1, 5, tzinfo=UTC)


def _company(engine: Engine) -> dict[str, int]:
    """The October company of the commission-run tests, its plan stored from 2026-01."""
    ids = _orders_company(engine)
    set_plan(engine, PLAN.text, Period(2026, 1), source="plan", actor="test", now=MID_OCT)
    return ids


def _runs(engine: Engine) -> list[str]:
    with transaction(engine) as s:
        return list(s.scalars(select(CommissionRun.period).order_by(CommissionRun.period)))


def test_a_period_is_committed_only_once_it_has_ended_in_the_company_zone(
        engine: Engine) -> None:
    _company(engine)
    for early in (MID_OCT, OCT_ENDS - timedelta(seconds=1)):
        with pytest.raises(Conflict, match=r"period 2026-10 has not ended yet \(it ends "
                                           r"2026-11-01 00:00 America/Chicago\)"):
            commit_period(engine, OCT, PLAN, now=early, actor="test")
    assert _runs(engine) == []
    commit_period(engine, OCT, PLAN, now=OCT_ENDS, actor="test")
    assert _runs(engine) == ["2026-10"]


def test_periods_are_committed_in_order_even_past_quiet_months(engine: Engine) -> None:
    _company(engine)  # orders in October 2026; nothing after
    june = Period(2027, 6)
    later = datetime(2027, 7, 15, tzinfo=UTC)
    message = r"period 2027-06: an earlier period \(2026-10\) has 3 orders and is still open"
    with pytest.raises(Conflict, match=message):
        commit_period(engine, june, PLAN, now=later, actor="test")
    with pytest.raises(Conflict, match=message):
        preview_period(engine, june, PLAN)
    assert _runs(engine) == []
    commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")
    commit_period(engine, june, PLAN, now=later, actor="test")  # the months between are empty
    assert _runs(engine) == ["2026-10", "2027-06"]


def test_the_cli_refuses_a_period_that_has_not_ended(engine: Engine, db_url: str) -> None:
    _company(engine)
    runner = CliRunner()
    early = runner.invoke(app, ["--db", db_url, "commissions", "commit", "--period", "2026-10",
                                "--now", "2026-10-06T12:00:00+00:00"])
    assert early.exit_code != 0
    assert "period 2026-10 has not ended yet" in str(early.exception)
    skipped = runner.invoke(app, ["--db", db_url, "commissions", "commit", "--period", "2026-12",
                                  "--now", "2027-01-06T12:00:00+00:00"])
    assert skipped.exit_code != 0
    assert "an earlier period (2026-10) has 3 orders and is still open" in str(skipped.exception)
    assert _runs(engine) == []
    done = runner.invoke(app, ["--db", db_url, "commissions", "commit", "--period", "2026-10",
                               "--now", "2026-11-06T12:00:00+00:00"])
    assert done.exit_code == 0, done.output
    assert _runs(engine) == ["2026-10"]


def test_the_api_refuses_an_open_period_and_one_out_of_order(engine: Engine) -> None:
    c = company(engine)  # orders on 2026-10-15
    in_october = acting_as(app_for(engine, FixedClock(datetime(2026, 10, 20, tzinfo=UTC))),
                           c.staff())
    r = in_october.post(f"{API}/commissions/2026-10/commit")
    assert r.status_code == 409 and "has not ended yet" in r.json()["detail"]
    in_july = acting_as(app_for(engine, FixedClock(datetime(2027, 7, 2, tzinfo=UTC))), c.staff())
    r = in_july.post(f"{API}/commissions/2027-06/commit")
    assert r.status_code == 409
    assert "an earlier period (2026-10) has 2 orders and is still open" in r.json()["detail"]
    assert _runs(engine) == []
    assert in_july.post(f"{API}/commissions/2026-10/commit").status_code == 200
    assert in_july.post(f"{API}/commissions/2027-06/commit").status_code == 200
    assert _runs(engine) == ["2026-10", "2027-06"]


def _collide(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> list[int]:
    """Let another commit of the same period win while this one computes its run."""
    real = runs.preview_period
    winners: list[int] = []

    def preview_while_another_commits(*args: Any, **kwargs: Any) -> Any:
        if not winners:
            winners.append(-1)
            monkeypatch.setattr(runs, "preview_period", real)
            winners[0] = commit_period(engine, OCT, None, now=MID_NOV, actor="winner")
        return real(*args, **kwargs)

    monkeypatch.setattr(runs, "preview_period", preview_while_another_commits)
    return winners


def test_the_loser_of_two_commits_at_once_is_told_who_won(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _company(engine)
    winners = _collide(monkeypatch, engine)
    with pytest.raises(Conflict) as refused:
        commit_period(engine, OCT, PLAN, now=MID_NOV, actor="loser")
    assert str(refused.value) == f"period 2026-10 already committed by run {winners[0]}"
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(CommissionRun)) == 1
        assert s.scalar(select(CommissionRun.committed_by)) == "winner"


def test_two_commits_in_threads_store_one_run_and_name_it_to_the_other(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _company(engine)
    both_computed = threading.Barrier(2, timeout=60)
    real = runs.preview_period

    def preview_then_wait(*args: Any, **kwargs: Any) -> Any:
        run = real(*args, **kwargs)
        both_computed.wait()  # both have passed every check: they store at the same time
        return run

    monkeypatch.setattr(runs, "preview_period", preview_then_wait)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(commit_period, engine, OCT, PLAN, now=MID_NOV, actor=f"c{i}")
                   for i in range(2)]
        outcomes = [f.exception() or f.result() for f in futures]
    won = [o for o in outcomes if isinstance(o, int)]
    lost = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert str(lost[0]) == f"period 2026-10 already committed by run {won[0]}"
    assert _runs(engine) == ["2026-10"]


def test_the_cli_loser_exits_non_zero_naming_the_run(
        engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _company(engine)
    winners = _collide(monkeypatch, engine)
    r = CliRunner().invoke(app, ["--db", db_url, "commissions", "commit", "--period", "2026-10",
                                 "--now", MID_NOV.isoformat()])
    assert r.exit_code != 0
    assert isinstance(r.exception, Conflict)
    assert str(r.exception) == f"period 2026-10 already committed by run {winners[0]}"


def test_the_api_loser_answers_409_naming_the_run(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    c = company(engine)
    client = acting_as(app_for(engine, FixedClock(MID_NOV)), c.staff())
    winners = _collide(monkeypatch, engine)
    r = client.post(f"{API}/commissions/2026-10/commit")
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == f"period 2026-10 already committed by run {winners[0]}"


def test_the_next_period_to_commit_is_the_first_open_one_with_activity(engine: Engine) -> None:
    from patronage.compensation.runs import next_to_commit

    _company(engine)  # orders in October 2026; nothing after
    during = next_to_commit(engine, MID_OCT)
    assert during.period == OCT and during.refusal is not None
    assert "period 2026-10 has not ended yet" in during.refusal
    later = datetime(2027, 2, 10, tzinfo=UTC)  # quiet months since: October is still first
    assert next_to_commit(engine, later) == runs.NextCommit(OCT, None)
    commit_period(engine, OCT, PLAN, now=later, actor="test")
    # Nothing open with activity: the quiet months are passed over, the current one is next.
    current = next_to_commit(engine, later)
    assert current.period == Period(2027, 2) and current.refusal is not None
    assert "period 2027-02 has not ended yet" in current.refusal
