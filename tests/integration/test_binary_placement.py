"""The placement tree in the store (rules, staff moves, as-of views) and binary leg volume
carried from one committed period to the next."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select

from patronage.clock import Period
from patronage.compensation.core.results import BONUS_CODE
from patronage.compensation.runs import PlanSource, commit_period, preview_period, rerun_committed
from patronage.db.accounts import AuditEntry
from patronage.db.engine import transaction
from patronage.db.placements import BinaryCarry
from patronage.errors import IntegrityViolation
from patronage.network.placement import Spot, leg_members, move, place, tree_at
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import distributor

pytestmark = pytest.mark.storage

JAN = datetime(2026, 1, 1, tzinfo=UTC)
OCT, NOV = Period(2026, 10), Period(2026, 11)
MID_OCT = datetime(2026, 10, 15, 12, tzinfo=UTC)
MID_NOV = datetime(2026, 11, 15, 12, tzinfo=UTC)
DEC = datetime(2026, 12, 2, tzinfo=UTC)
L, R = 0, 1

PLAN = PlanSource.from_text("""
[plan]
name = "binary test"
version = "b1"
[active]
min_pv = 0
[[ranks]]
name = "Member"
min_pv = 0
[bonuses.binary]
unit = 100
rate = 0.10
""")


def _people(engine: Engine, count: int) -> list[int]:
    with transaction(engine) as s:
        top = distributor(s, "Top", joined_at=JAN)
        return [top] + [distributor(s, f"D{i}", sponsor=top, joined_at=JAN)
                        for i in range(count)]


def test_rules_place_new_distributors_under_their_sponsor(engine: Engine) -> None:
    top, a, b, c, d, e = _people(engine, 5)
    with transaction(engine) as s:
        assert place(s, a, rule="left", at=JAN, actor="t") == Spot(top, L)  # top placed first
        assert place(s, b, rule="left", at=JAN, actor="t") == Spot(a, L)  # spillover
        assert place(s, c, rule="weak_leg", at=JAN, actor="t") == Spot(top, R)
        assert place(s, d, rule="extreme_left", at=JAN, actor="t") == Spot(b, L)
        assert place(s, e, rule="weak_leg", at=JAN, actor="t") == Spot(c, L)
        assert leg_members(tree_at(s, JAN), top) == ([a, b, d], [c, e])
        with pytest.raises(IntegrityViolation, match="already placed"):
            place(s, a, rule="right", at=JAN, actor="t")


def test_a_staff_move_is_audited_and_the_tree_reads_as_of_a_date(engine: Engine) -> None:
    top, a, b, c = _people(engine, 3)
    with transaction(engine) as s:
        for m in (a, b, c):
            place(s, m, rule="extreme_left", at=JAN, actor="t")  # a chain: a, b, c
    with transaction(engine) as s:
        with pytest.raises(IntegrityViolation, match="taken"):
            move(s, c, under=top, side="left", at=MID_OCT, actor="staff:ann", reason="ask")
        with pytest.raises(IntegrityViolation, match="cycle"):
            move(s, a, under=c, side="left", at=MID_OCT, actor="staff:ann", reason="ask")
        move(s, b, under=top, side="right", at=MID_OCT, actor="staff:ann",
             reason="placed on the wrong side")
    with transaction(engine) as s:
        before, after = tree_at(s, MID_OCT.replace(day=1)), tree_at(s, MID_NOV)
        assert before[b] == Spot(a, L) and after[b] == Spot(top, R)
        assert after[c] == Spot(b, L)  # the downline moved with b
        assert leg_members(after, top) == ([a], [b, c])
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "placement.move"))
        assert entry is not None and entry.actor == "staff:ann"
        assert "wrong side" in entry.detail and f"member {b}" in entry.target


def test_carry_over_is_stored_and_paired_the_next_period(engine: Engine) -> None:
    top, a, b = _people(engine, 2)
    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 10000, 10000, 10000))
        place(s, a, rule="left", at=JAN, actor="t")
        place(s, b, rule="right", at=JAN, actor="t")
        # October: left 100 points, right 300 points.
        place_order(s, NewOrder(a, MID_OCT, [LineRequest("SHAKE")]), now=MID_OCT)
        place_order(s, NewOrder(b, MID_OCT, [LineRequest("SHAKE", 3)]), now=MID_OCT)
    oct_run = preview_period(engine, OCT, PLAN)
    top_at = int(oct_run.facts.genealogy.index_of(np.array([top]))[0])
    p = oct_run.result.payouts
    paid = p.amount[(p.earner == top_at) & (p.bonus == BONUS_CODE["binary"])]
    assert paid.tolist() == [1000]  # 10% of the 100 points paired
    run_id = commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")
    with transaction(engine) as s:
        kept = s.execute(select(BinaryCarry.member_id, BinaryCarry.left_volume,
                                BinaryCarry.right_volume)
                         .where(BinaryCarry.run_id == run_id)).all()
        assert [tuple(r) for r in kept] == [(top, 0, 20000)]
        # November: 200 more points on the left meet the 200 carried on the right.
        place_order(s, NewOrder(a, MID_NOV, [LineRequest("SHAKE", 2)]), now=MID_NOV)
    nov = preview_period(engine, NOV, PLAN)
    p = nov.result.payouts
    assert p.amount[(p.earner == top_at) & (p.bonus == BONUS_CODE["binary"])].tolist() == [2000]
    commit_period(engine, NOV, PLAN, now=DEC, actor="test")
    same, _ = rerun_committed(engine, NOV)
    assert same


def test_the_staff_member_page_shows_the_placement_as_of_a_day(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from tests.e2e.world import EMAILS, app_for, seed, sign_in

    w = seed(engine)
    with transaction(engine) as s:
        place(s, w.ann, rule="weak_leg", at=JAN, actor="t")  # no sponsor: at the top
        place(s, w.ben, under=w.ann, side="left", at=JAN, actor="t")
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    page = client.get(f"/company/members/{w.ben}").text
    assert 'id="placement"' in page and "Placed on the left of" in page
    ann = client.get(f"/company/members/{w.ann}").text
    assert "Placed right below" in ann and f'href="/company/members/{w.ben}"' in ann
    before = client.get(f"/company/members/{w.ben}", params={"placed_at": "2025-12-30"}).text
    assert "Not placed" in before
    assert client.get(f"/company/members/{w.ben}",
                      params={"placed_at": "someday"}).status_code == 400


def test_place_move_and_show_from_the_command_line(engine: Engine, db_url: str) -> None:
    import json

    from typer.testing import CliRunner

    from patronage.cli.main import app as cli
    from patronage.compensation.plan_versions import set_plan

    top, a, b = _people(engine, 2)
    run = CliRunner().invoke
    now = ["--now", "2026-10-01T10:00:00+00:00"]
    refused = run(cli, ["--db", db_url, "members", "place", str(a), *now])
    assert refused.exit_code != 0 and "placement rule" in str(refused.exception)
    set_plan(engine, PLAN.text.replace('rate = 0.10', 'rate = 0.10\nplacement = "right"'),
             OCT, source="test", actor="test", now=MID_OCT)
    first = run(cli, ["--db", db_url, "members", "place", str(a), *now])
    assert first.exit_code == 0, first.output
    assert f"placed right of member {top}" in first.output
    second = run(cli, ["--db", db_url, "members", "place", str(b), "--under", str(top),
                       "--side", "left", *now])
    assert f"placed left of member {top}" in second.output
    moved = run(cli, ["--db", db_url, "members", "move-placement", str(b), "--under", str(a),
                      "--side", "left", "--reason", "asked by sponsor", "--now",
                      "2026-10-20T10:00:00+00:00"])
    assert moved.exit_code == 0, moved.output
    shown = run(cli, ["--db", db_url, "members", "placement", str(top), "--at",
                      "2026-10-21T00:00:00+00:00"])
    data = json.loads(shown.output)
    assert data["left"]["members"] == 0 and data["right"] == {
        "below": a, "members": 2, "carried_volume": 0.0}
    earlier = json.loads(run(cli, ["--db", db_url, "members", "placement", str(top), "--at",
                                   "2026-10-02T00:00:00+00:00"]).output)
    assert earlier["left"]["below"] == b


def test_a_binary_line_is_explained_in_words(engine: Engine) -> None:
    from patronage.compensation.reports import explain_member

    top, a, b = _people(engine, 2)
    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 10000, 10000, 10000))
        place(s, a, rule="left", at=JAN, actor="t")
        place(s, b, rule="right", at=JAN, actor="t")
        place_order(s, NewOrder(a, MID_OCT, [LineRequest("SHAKE", 2)]), now=MID_OCT)
        place_order(s, NewOrder(b, MID_OCT, [LineRequest("SHAKE")]), now=MID_OCT)
    words = explain_member(engine, top, OCT, PLAN)
    assert any("binary: pairs of left and right leg volume" in w and "10% of 100" in w
               and "10.00" in w for w in words), words


def test_a_distributor_enrolled_through_the_api_is_placed_by_the_plans_rule(
        engine: Engine) -> None:
    from patronage.compensation.plan_versions import set_plan
    from tests.integration.test_api_support import API, app_for, bearer, company, token_for

    c = company(engine)
    client = app_for(engine)
    auth = bearer(token_for(engine, "members:write", "members:read"))
    plain = client.post(f"{API}/members", headers=auth, json={
        "kind": "distributor", "first_name": "Dee", "sponsor_id": c.mid})
    assert plain.status_code == 201, plain.text
    with transaction(engine) as s:
        assert tree_at(s, MID_NOV) == {}  # the plan pays no binary bonus: nobody is placed
    set_plan(engine, PLAN.text.replace('rate = 0.10', 'rate = 0.10\nplacement = "extreme_right"'),
             Period(2026, 9), source="test", actor="test", now=MID_OCT)
    r = client.post(f"{API}/members", headers=auth, json={
        "kind": "distributor", "first_name": "Ray", "sponsor_id": c.mid})
    assert r.status_code == 201, r.text
    with transaction(engine) as s:
        tree = tree_at(s, MID_NOV)
    assert tree[r.json()["id"]] == Spot(c.mid, R) and tree[c.mid] == Spot(None, L)


def test_the_preview_page_compares_with_the_binary_hybrid_plan(engine: Engine) -> None:
    import re
    from html import unescape

    from fastapi.testclient import TestClient

    from patronage.network.placement import place_unplaced
    from tests.e2e.world import EMAILS, app_for, csrf_of, seed, sign_in

    seed(engine)
    with transaction(engine) as s:
        assert place_unplaced(s, "weak_leg", actor="t", at=MID_OCT) > 0
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    page = client.get("/company/runs/preview?period=2026-09").text
    form = re.search(r'<form[^>]*id="what-if-binary".*?</form>', page, re.S)
    assert form is not None
    text = re.search(r'<textarea name="plan_text" hidden>(.*?)</textarea>', form.group(0), re.S)
    assert text is not None and "[bonuses.binary]" in unescape(text.group(1))
    r = client.post("/company/runs/compare", data={
        "csrf_token": csrf_of(page), "period": "2026-09", "plan_text": unescape(text.group(1))})
    assert r.status_code == 200 and "2026.1-binary" in r.text and "binary" in r.text


def test_a_what_if_over_three_months_chains_the_proposed_plans_carry(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    """Committed under a plan without a binary bonus; the what-if pays ``PLAN``'s binary
    bonus (10% of the points paired, 100-point units). September: left 100, right 300 points:
    10.00, 200 carried on the right. October: 200 on the left meet the 200 carried: 20.00.
    November: 100 and 100: 10.00. Started each month from the committed runs' carry (none),
    October would pay nothing."""
    from dataclasses import replace

    from patronage.compensation.core.engine import run_engine
    from patronage.compensation.runs import replay_committed
    from patronage.simulator.replay import replay_plan

    base = PlanSource.from_text(PLAN.text.split("[bonuses.binary]")[0]
                                + "[bonuses.unilevel]\nrates = [0.05]\n")
    sep = Period(2026, 9)
    mid_sep = datetime(2026, 9, 15, 12, tzinfo=UTC)
    _top, a, b = _people(engine, 2)
    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 10000, 10000, 10000))
        place(s, a, rule="left", at=JAN, actor="t")
        place(s, b, rule="right", at=JAN, actor="t")
    for period, at, left, right, closed in ((sep, mid_sep, 1, 3, MID_OCT),
                                            (OCT, MID_OCT, 2, 0, MID_NOV),
                                            (NOV, MID_NOV, 1, 1, DEC)):
        with transaction(engine) as s:
            for member, count in ((a, left), (b, right)):
                if count:
                    place_order(s, NewOrder(member, at, [LineRequest("SHAKE", count)]), now=at)
        commit_period(engine, period, base, now=closed, actor="test")
    replay = replay_plan(engine, PLAN, 3)
    assert [p.period for p in replay.periods] == ["2026-09", "2026-10", "2026-11"]
    assert [p.paid_after for p in replay.periods] == [1000, 2000, 1000]
    # The same as three runs of the proposed plan, each carrying into the next.
    chained, carry, titles = [], None, None
    for period in (sep, OCT, NOV):
        facts = replay_committed(engine, period).facts
        assert facts.carry_in == {}  # the committed plan carried nothing
        if carry is not None:
            facts = replace(facts, carry_in=carry)
        result = run_engine(facts, PLAN.plan, titles)
        chained.append(int(result.payouts.amount.sum()))
        carry, titles = result.carry, result.title
    assert [p.paid_after for p in replay.periods] == chained
    unchained = [int(run_engine(replay_committed(engine, p).facts, PLAN.plan)
                     .payouts.amount.sum()) for p in (sep, OCT, NOV)]
    assert unchained == [1000, 0, 1000]
    # Over the three months, by paid-as rank: what the member-months were paid.
    assert [(k.rank, k.paid_before, k.paid_after) for k in replay.ranks] == [
        ("no rank", 0, 0), ("Member", sum(p.paid_before for p in replay.periods), 4000)]
    assert [p.by_bonus_after for p in replay.periods] == [
        {"binary": 1000}, {"binary": 2000}, {"binary": 1000}]
    # The command line's what-if is the same replay.
    import json

    from typer.testing import CliRunner

    from patronage.cli.main import app as cli

    proposed = tmp_path / "proposed.toml"
    proposed.write_text(PLAN.text)
    run = CliRunner().invoke
    out = run(cli, ["--db", db_url, "commissions", "compare", "--plan", str(proposed),
                    "--periods", "3", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert [p["paid_after"] for p in data["periods"]] == [1000, 2000, 1000]
    assert data["ranks"][1] == {"rank": "Member", "members_before": 9, "members_after": 9,
                                "paid_before": replay.paid_before, "paid_after": 4000}
    table = run(cli, ["--db", db_url, "commissions", "compare", "--plan", str(proposed),
                      "--periods", "3"])
    assert "By paid-as rank, all 3 months" in table.output, table.output
    assert "Income disclosure over the months" in table.output
    refused = run(cli, ["--db", db_url, "commissions", "compare", "--plan", str(proposed),
                        "--plan", str(proposed), "--periods", "3"])
    assert refused.exit_code != 0 and "with --periods give one --plan" in refused.output


def test_the_staff_what_if_covers_several_committed_months(engine: Engine) -> None:
    import re
    from html import unescape

    from fastapi.testclient import TestClient

    from patronage.network.placement import place_unplaced
    from tests.e2e.world import EMAILS, NOW, app_for, csrf_of, seed, sign_in

    seed(engine)
    with transaction(engine) as s:
        assert place_unplaced(s, "weak_leg", actor="t", at=MID_OCT) > 0
    for month in (8, 9):
        commit_period(engine, Period(2026, month), None, now=NOW, actor="test",
                      company_zone="UTC")
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    page = client.get("/company/runs/preview?period=2026-09").text
    form = re.search(r'<form[^>]*id="what-if-binary".*?</form>', page, re.S)
    assert form is not None and 'name="months" value="3"' in form.group(0)
    text = re.search(r'<textarea name="plan_text" hidden>(.*?)</textarea>', form.group(0), re.S)
    assert text is not None
    r = client.post("/company/runs/compare", data={
        "csrf_token": csrf_of(page), "period": "2026-09", "months": "3",
        "plan_text": unescape(text.group(1))})
    assert r.status_code == 200, r.text
    # Two committed months: each month, then by rank over both, the disclosure.
    assert "2026-08" in r.text and "2026-09" in r.text
    assert "By paid-as rank, all 2 months" in r.text and "Associate" in r.text
    assert "Median paid" in r.text
    wrong = client.post("/company/runs/compare", data={
        "csrf_token": csrf_of(page), "period": "2026-09", "months": "40",
        "plan_text": unescape(text.group(1))})
    assert wrong.status_code == 422
