"""The company's plan stored with its versions; every run, preview and explanation uses the
plan in force for its period; a committed period shows its locked run, clawbacks included."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.clock import Period
from patronage.compensation.plan_versions import (
    NO_PLAN,
    NoPlanInForce,
    content_hash,
    plan_history,
    plan_in_force,
    set_plan,
)
from patronage.compensation.reports import explain, explain_member, rank_card
from patronage.compensation.runs import commit_period, preview_period
from patronage.db.compensation import CommissionRun, PayoutLine, PlanVersion
from patronage.db.engine import transaction
from patronage.errors import Conflict, Problems
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.orders.refunds import RefundRequest, refund_order
from tests.integration.test_commission_runs import MID_NOV, NOV, OCT, PLAN, _company

SET_AT = datetime(2026, 9, 20, 9, tzinfo=UTC)
#: The test plan with every rate doubled, as version t2.
DOUBLED = (PLAN.text.replace('version = "t1"', 'version = "t2"')
           .replace("rates = [0.20, 0.05]", "rates = [0.40, 0.10]")
           .replace("rates = [0.10, 0.05]", "rates = [0.20, 0.10]"))


def _set(engine: Engine, text: str, start: Period) -> None:
    set_plan(engine, text, start, source="plan.toml", actor="test", now=SET_AT)


def _cli(db_url: str, *args: str) -> tuple[int, str]:
    """Exit code and what the command printed, or the refusal's message."""
    result = CliRunner().invoke(cli, ["--db", db_url, *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return result.exit_code, str(result.exception)
    return result.exit_code, result.output


# -- storing versions ---------------------------------------------------------------------


def test_a_version_is_stored_as_written_and_in_force_from_its_start(engine: Engine) -> None:
    _set(engine, PLAN.text, OCT)
    _set(engine, DOUBLED, Period(2027, 1))
    with transaction(engine) as s:
        rows = s.scalars(select(PlanVersion).order_by(PlanVersion.id)).all()
        stored = [(r.name, r.version, r.effective_from, r.plan_text, r.content_hash, r.set_by,
                   r.set_at) for r in rows]
    assert stored == [
        ("test", "t1", "2026-10", PLAN.text, content_hash(PLAN.text), "test", SET_AT),
        ("test", "t2", "2027-01", DOUBLED, content_hash(DOUBLED), "test", SET_AT)]
    assert plan_in_force(engine, Period(2026, 9)) is None
    in_force = {p: plan_in_force(engine, Period.parse(p)) for p in
                ("2026-10", "2026-12", "2027-01", "2028-06")}
    assert {p: v.version if v else None for p, v in in_force.items()} == {
        "2026-10": "t1", "2026-12": "t1", "2027-01": "t2", "2028-06": "t2"}
    assert [(e.plan.version, e.until) for e in plan_history(engine)] == [
        ("t1", "2027-01"), ("t2", None)]


def test_a_plan_with_problems_is_refused_naming_the_place_and_nothing_is_stored(
        engine: Engine) -> None:
    bad = PLAN.text.replace("rates = [0.20, 0.05]", "rates = [0.20, 1.5]")
    with pytest.raises(Problems) as refused:
        set_plan(engine, bad, OCT, source="plans/new.toml", actor="test", now=SET_AT)
    assert [str(p) for p in refused.value.problems] == [
        "plans/new.toml: bonuses.fast_start.rates: 1.5 is not between 0 and 1 (0% to 100%)"]
    with pytest.raises(Problems, match=r"plans/new.toml: not valid TOML"):
        set_plan(engine, "name = [", OCT, source="plans/new.toml", actor="test", now=SET_AT)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(PlanVersion)) == 0


def test_a_start_in_a_committed_period_or_before_the_last_start_is_refused(
        engine: Engine) -> None:
    _company(engine)
    _set(engine, PLAN.text, OCT)
    commit_period(engine, OCT, None, now=MID_NOV, actor="test")
    with pytest.raises(Conflict, match=r"plan from 2026-10: period 2026-10 is already committed "
                                       r".*take effect from 2026-11 on"):
        _set(engine, DOUBLED, OCT)
    with pytest.raises(Conflict, match="plan from 2026-09: period 2026-10 is already committed"):
        _set(engine, DOUBLED, Period(2026, 9))
    _set(engine, DOUBLED, Period(2027, 2))
    with pytest.raises(Conflict, match=r"plan from 2027-01: earlier than the start of the last "
                                       r"version \(2027-02\)"):
        _set(engine, DOUBLED, Period(2027, 1))
    # The same start as the last version replaces it from that start.
    _set(engine, PLAN.text, Period(2027, 2))
    found = plan_in_force(engine, Period(2027, 2))
    assert found is not None and found.version == "t1"
    assert [(e.plan.version, e.never_in_force) for e in plan_history(engine)] == [
        ("t1", False), ("t2", True), ("t1", False)]


# -- every run uses the plan in force -----------------------------------------------------


def test_without_a_stored_plan_a_run_says_how_to_store_one(engine: Engine) -> None:
    _company(engine)
    with pytest.raises(NoPlanInForce) as refused:
        preview_period(engine, OCT)
    assert str(refused.value) == NO_PLAN
    assert NO_PLAN == "no plan stored: patronage plan set FILE --from YYYY-MM"
    _set(engine, PLAN.text, NOV)
    with pytest.raises(NoPlanInForce, match=r"period 2026-10: no plan in force .*from 2026-11"):
        preview_period(engine, OCT)


def test_each_period_runs_with_the_plan_in_force_for_it(engine: Engine) -> None:
    ids = _company(engine)
    _set(engine, PLAN.text, OCT)
    _set(engine, DOUBLED, NOV)
    october = preview_period(engine, OCT)
    assert october.result.plan_version == "t1"
    commit_period(engine, OCT, None, now=MID_NOV, actor="test")
    with transaction(engine) as s:
        run = s.scalars(select(CommissionRun)).one()
        assert (run.plan_version, run.plan_text) == ("t1", PLAN.text)
        _november_orders(s, ids)
    november = preview_period(engine, NOV)
    assert november.result.plan_version == "t2"
    # Nia's first-window order: 40% and 10% of 100.00 under t2 (20% and 5% under t1).
    paid = {(november.member_id(int(e)), int(a)) for e, a in
            zip(november.result.payouts.earner, november.result.payouts.amount, strict=True)}
    assert {(ids["enroller"], 2000), (ids["top"], 2000), (ids["top"], 1000)} <= paid
    words = "\n".join(explain_member(engine, ids["top"], NOV))
    assert "unilevel level 1 from Eli" in words and "20% of 100.00 = 20.00" in words
    current, _, _ = rank_card(engine, ids["new"], NOV)
    assert current == "Member"


def _november_orders(s: Session, ids: dict[str, int]) -> None:
    for who in ("top", "enroller", "new"):
        place_order(s, NewOrder(ids[who], MID_NOV, [LineRequest("SHAKE")]), now=MID_NOV)


# -- a committed period: the locked run, every stored line explained -----------------------


def _committed_with_clawbacks(engine: Engine) -> dict[str, int]:
    """October committed; in November a new order and a refund of an October order (its
    clawbacks), then November committed."""
    ids = _company(engine)
    _set(engine, PLAN.text, OCT)
    commit_period(engine, OCT, None, now=MID_NOV, actor="test")
    with transaction(engine) as s:
        refund_order(s, RefundRequest(ids["order"], MID_NOV, "returned"), now=MID_NOV)
        _november_orders(s, ids)
    ids["nov_run"] = commit_period(engine, NOV, None, now=datetime(2026, 12, 2, tzinfo=UTC),
                                   actor="test")
    return ids


def test_every_stored_line_of_a_committed_period_is_explained_clawbacks_included(
        engine: Engine) -> None:
    ids = _committed_with_clawbacks(engine)
    with transaction(engine) as s:
        stored = s.scalars(select(PayoutLine).where(PayoutLine.run_id == ids["nov_run"])).all()
        lines = [(r.id, r.earner_id, r.clawback_of) for r in stored]
    clawbacks = [line for line in lines if line[2] is not None]
    assert len(clawbacks) == 2 and len(lines) > len(clawbacks)
    explained = 0
    for earner in sorted({e for _, e, _ in lines}):
        words = explain(engine, earner, NOV)
        explained += len(words.payments) + len(words.clawbacks)
        for _, _, of in (c for c in clawbacks if c[1] == earner):
            assert any(f"clawback of line {of} (fast start)" in w for w in words.clawbacks)
    assert explained == len(lines)
    enroller = explain_member(engine, ids["enroller"], NOV)
    assert "clawback of line" in "\n".join(enroller) and "= -50.00" in "\n".join(enroller)


def test_cli_run_of_a_committed_period_shows_the_committed_run_as_stored(
        engine: Engine, db_url: str) -> None:
    ids = _committed_with_clawbacks(engine)
    # A later version must not change what the committed months show.
    _set(engine, DOUBLED, Period(2026, 12))
    code, out = _cli(db_url, "commissions", "run", "--period", "2026-11", "--json")
    assert code == 0, out
    shown = json.loads(out)
    with transaction(engine) as s:
        run = s.get(CommissionRun, ids["nov_run"])
        assert run is not None
        total = s.scalar(select(func.sum(PayoutLine.amount))
                         .where(PayoutLine.run_id == run.id))
    assert shown["committed_run"] == ids["nov_run"] and shown["plan_version"] == "t1"
    assert shown["total_paid"] == run.total_paid == total and shown["clawbacks"] == 2
    assert shown["by_bonus"]["fast_start"] == -5000 - 1250
    code, out = _cli(db_url, "commissions", "run", "--period", "2026-11")
    assert code == 0 and "committed run" in out and f"run {ids['nov_run']}" in out
    code, out = _cli(db_url, "commissions", "run", "--period", "2026-11", "--plan",
                     str(Path(__file__)))
    assert code != 0 and "period 2026-11 is committed" in out


# -- the faces: CLI, API, web, demo -------------------------------------------------------


def test_cli_sets_shows_and_lists_plan_versions(engine: Engine, db_url: str,
                                                tmp_path: Path) -> None:
    first, second, bad = (tmp_path / n for n in ("plan.toml", "doubled.toml", "bad.toml"))
    first.write_text(PLAN.text, encoding="utf-8")
    second.write_text(DOUBLED, encoding="utf-8")
    bad.write_text(PLAN.text.replace('min_pv = 100\n[[ranks]]', 'min_pv = -1\n[[ranks]]'),
                   encoding="utf-8")
    code, out = _cli(db_url, "plan", "show", "--period", "2026-10")
    assert code != 0 and out == NO_PLAN
    code, out = _cli(db_url, "commissions", "run", "--period", "2026-10")
    assert code != 0 and out == NO_PLAN
    code, out = _cli(db_url, "plan", "set", str(bad), "--from", "2026-10")
    assert code != 0 and f"{bad}: active.min_pv: -1 is negative" in out
    now = "--now", SET_AT.isoformat()
    assert _cli(db_url, "plan", "set", str(first), "--from", "2026-10", *now)[0] == 0
    code, out = _cli(db_url, "plan", "set", str(second), "--from", "2027-01", "--json", *now)
    assert code == 0 and json.loads(out)["effective_from"] == "2027-01"
    code, out = _cli(db_url, "plan", "set", str(second), "--from", "2026-11")
    assert code != 0 and "earlier than the start of the last version (2027-01)" in out
    code, out = _cli(db_url, "plan", "show", "--period", "2026-12", "--json")
    shown = json.loads(out)
    assert (shown["version"], shown["effective_from"], shown["text"]) == ("t1", "2026-10",
                                                                          PLAN.text)
    code, out = _cli(db_url, "plan", "show", "--period", "2027-03")
    assert code == 0 and "version t2" in out and "in force from 2027-01" in out
    code, out = _cli(db_url, "plan", "history", "--json")
    assert [(v["version"], v["effective_from"], v["until"]) for v in json.loads(out)] == [
        ("t1", "2026-10", "2027-01"), ("t2", "2027-01", None)]
    _company(engine)
    code, out = _cli(db_url, "commissions", "run", "--period", "2026-10", "--json")
    assert code == 0 and json.loads(out)["plan_version"] == "t1"
    # An explicit plan file stays possible for a what-if preview of an open period...
    code, out = _cli(db_url, "commissions", "run", "--period", "2026-10", "--plan", str(second),
                     "--json")
    assert code == 0 and json.loads(out)["plan_version"] == "t2"
    # ...but a period is committed with the plan in force, never with a file.
    code, out = _cli(db_url, "commissions", "commit", "--period", "2026-10", "--plan",
                     str(second), "--now", MID_NOV.isoformat())
    assert code != 0 and "committed with the stored plan in force" in out
    code, out = _cli(db_url, "commissions", "commit", "--period", "2026-10", "--now",
                     MID_NOV.isoformat(), "--json")
    assert code == 0, out
    with transaction(engine) as s:
        assert s.scalars(select(CommissionRun.plan_version)).all() == ["t1"]


def test_api_reads_the_plan_in_force_and_its_versions_and_refuses_without_one(
        engine: Engine) -> None:
    from patronage.clock import FixedClock
    from tests.integration.test_api_support import API, acting_as, app_for, company

    c = company(engine, plan=False)
    client = acting_as(app_for(engine, FixedClock(MID_NOV)), c.staff())
    for url in (f"{API}/plan?period=2026-10", f"{API}/commissions/2026-10/preview",
                f"{API}/commissions/2026-10/members/{c.mid}/explain"):
        r = client.get(url)
        assert (r.status_code, r.json()["detail"]) == (409, NO_PLAN), url
    assert client.post(f"{API}/commissions/2026-10/commit").status_code == 409
    assert client.get(f"{API}/plan/versions").json() == []
    _set(engine, PLAN.text, OCT)
    _set(engine, DOUBLED, Period(2027, 1))
    now = client.get(f"{API}/plan").json()  # this month: November 2026
    assert (now["period"], now["plan"]["version"], now["plan"]["until"], now["text"]) == (
        "2026-11", "t1", "2027-01", PLAN.text)
    later = client.get(f"{API}/plan?period=2027-05").json()["plan"]
    assert (later["version"], later["effective_from"], later["until"]) == ("t2", "2027-01", None)
    assert later["content_hash"] == content_hash(DOUBLED)
    early = client.get(f"{API}/plan?period=2026-09")
    assert early.status_code == 409 and "no plan in force" in early.json()["detail"]
    versions = client.get(f"{API}/plan/versions").json()
    assert [(v["version"], v["effective_from"], v["set_by"]) for v in versions] == [
        ("t1", "2026-10", "test"), ("t2", "2027-01", "test")]
    preview = client.get(f"{API}/commissions/2026-10/preview").json()
    assert (preview["plan_version"], preview["committed_run"]) == ("t1", None)
    done = client.post(f"{API}/commissions/2026-10/commit").json()
    locked = client.get(f"{API}/commissions/2026-10/preview").json()
    with transaction(engine) as s:
        run = s.scalars(select(CommissionRun)).one()
    assert locked["committed_run"] == done["run_id"] == run.id
    assert (locked["total_paid"], locked["total_cv"]) == (run.total_paid, run.total_cv)
    bad = client.get(f"{API}/plan?period=2026-13")
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["period"]


def test_web_pages_use_the_plan_in_force_and_say_when_there_is_none(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from tests.e2e.world import EMAILS, app_for, csrf_of, seed, sign_in

    seed(engine, plan=False)
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    csrf = csrf_of(client.get("/company").text)
    page = client.get("/company/runs/preview?period=2026-09")
    assert page.status_code == 409 and NO_PLAN in page.text
    r = client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-09"})
    assert r.status_code == 409 and NO_PLAN in r.text
    r = client.post("/company/runs/compare", data={"csrf_token": csrf, "period": "2026-09",
                                                   "plan_text": DOUBLED})
    assert r.status_code == 409 and NO_PLAN in r.text
    _set(engine, PLAN.text, Period(2026, 1))
    page = client.get("/company/runs/preview?period=2026-09")
    assert page.status_code == 200 and "Plan version t1" in page.text
    client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-09",
                                              "confirm": "yes"})
    with transaction(engine) as s:
        run = s.scalars(select(CommissionRun)).one()
    locked = client.get("/company/runs/preview?period=2026-09").text
    assert f"Committed run {run.id}: 2026-09" in locked and "Plan version t1" in locked


def test_staff_runs_page_shows_the_plan_in_force_and_its_history(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from tests.e2e.world import EMAILS, app_for, seed, sign_in

    seed(engine, plan=False)
    client = TestClient(app_for(engine))  # now: 15 October 2026
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    assert "No plan stored" in client.get("/company/runs").text
    _set(engine, PLAN.text, Period(2026, 1))
    _set(engine, DOUBLED, Period(2027, 1))
    page = client.get("/company/runs").text
    assert "In force for 2026-10: <b>test t1</b>, from 2026-01" in page
    assert "2026-01 until 2027-01" in page and "from 2027-01" in page
    assert content_hash(DOUBLED)[:12] in page


def test_member_pages_follow_the_plan_in_force(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from tests.e2e.world import EMAILS, app_for, seed, sign_in

    seed(engine, plan=False)
    ann, cory = TestClient(app_for(engine)), TestClient(app_for(engine))
    assert sign_in(ann, EMAILS["distributor"]).status_code == 303
    assert sign_in(cory, EMAILS["customer"]).status_code == 303
    projection = ann.get("/business/projection?period=2026-09")
    assert NO_PLAN in projection.text and "Rank report card" not in projection.text
    # Without a plan there is no referral reward to show; the account page still answers.
    page = cory.get("/me")
    assert page.status_code == 200 and "Refer friends" not in page.text
    referral = PLAN.text + "[bonuses.customer_referral]\nreferrals = 3\ncap = 50\n"
    _set(engine, referral, Period(2026, 1))
    assert "Refer friends: 3 for free" in cory.get("/me").text
    assert "Rank report card: paid as" in ann.get("/business/projection?period=2026-09").text


def test_two_versions_set_at_once_are_checked_one_after_the_other(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    import threading

    from sqlalchemy import text

    outcome: list[BaseException | None] = []

    def later_start_set_meanwhile() -> None:
        try:
            _set(engine, PLAN.text, Period(2027, 1))
            outcome.append(None)
        except BaseException as exc:  # the refusal is what the test looks at
            outcome.append(exc)

    with engine.connect() as first:
        # The first setter holds the lock with its version (from 2027-02) not yet committed.
        first.execute(text("LOCK TABLE plan_versions IN SHARE ROW EXCLUSIVE MODE"))
        first.execute(text(
            "INSERT INTO plan_versions (name, version, plan_text, content_hash, effective_from, "
            "set_at, set_by) VALUES ('test', 't2', :t, :h, '2027-02', :at, 'first')"),
            {"t": DOUBLED, "h": content_hash(DOUBLED), "at": SET_AT})
        second = threading.Thread(target=later_start_set_meanwhile)
        second.start()
        second.join(timeout=1.0)
        assert second.is_alive()  # waits for the first to finish
        first.commit()
    second.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    assert "earlier than the start of the last version (2027-02)" in str(outcome[0])
    assert [e.plan.effective_from for e in plan_history(engine)] == ["2027-02"]


def test_a_committed_period_is_explained_from_its_stored_lines(engine: Engine) -> None:
    """What was paid is what the explanation says, even when the engine of a later release
    would compute a line differently (simulated here by a stored line that differs)."""
    ids = _committed_with_clawbacks(engine)
    with transaction(engine) as s:
        line = s.scalars(select(PayoutLine).where(
            PayoutLine.run_id == ids["nov_run"], PayoutLine.earner_id == ids["top"],
            PayoutLine.clawback_of.is_(None), PayoutLine.level == 1)).one()
        line.amount = 499
    words = explain(engine, ids["top"], NOV)
    eli, tia = ids["enroller"], ids["top"]
    assert words.payments == [f"unilevel level 1 from Eli (#{eli}): 10% of 100.00 = 4.99"]
    assert words.standing.startswith(f"Tia (#{tia}) in 2026-11: PV 100.00, GV 50.00, active")
