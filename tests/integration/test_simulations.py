"""Simulations for staff: run with the plan in force and the company's fitted models, kept and
listed, read with plots and CSV, compared; a proposed plan replayed on committed months; the
same from the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from patronage.clock import Period
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.runs import PlanSource, commit_period
from patronage.simulator.core.params import Models, Params
from patronage.simulator.replay import replay_plan
from patronage.simulator.service import company_models, load_simulation, run_simulation
from patronage.value.service import fit_values
from tests.e2e.world import EMAILS, NOW, app_for, csrf_of, seed, sign_in

pytestmark = pytest.mark.storage

SMALL = {"months": "12", "market": "3000", "founders": "20", "recruits": "0.3",
         "customers": "0.5", "expenses": "50", "seed": "4"}


def test_staff_run_read_download_and_compare(engine: Engine) -> None:
    seed(engine)
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    csrf = csrf_of(client.get("/company/simulations").text)
    first = client.post("/company/simulations", data={"csrf_token": csrf, "label": "Launch",
                                                      **SMALL}, follow_redirects=False)
    assert first.status_code == 303
    sid = int(first.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/company/simulations/{sid}")
    assert page.status_code == 200
    assert "Launch" in page.text and page.text.count("<svg") >= 3
    assert "Network size and saturation" in page.text
    stored = load_simulation(engine, sid)
    assert stored.months == 12 and stored.market == 3000 and stored.seed == 4
    assert stored.rows[-1].reached <= 3000
    rows = list(csv.DictReader(io.StringIO(client.get(f"/company/simulations/{sid}.csv").text)))
    assert [int(r["month"]) for r in rows] == list(range(1, 13))
    assert int(rows[-1]["distributors"]) == stored.rows[-1].distributors
    # The same seed and parameters give the same months; another plan is compared beside.
    plan_b = default_plan_path().read_text().replace("max_share_of_cv = 0.45",
                                                     "max_share_of_cv = 0.05")
    second = client.post("/company/simulations", data={"csrf_token": csrf, "label": "Capped",
                                                       "plan_text": plan_b, **SMALL},
                         follow_redirects=False)
    sid2 = int(second.headers["location"].rsplit("/", 1)[1])
    other = load_simulation(engine, sid2)
    assert [r.distributors for r in other.rows] == [r.distributors for r in stored.rows]
    assert sum(r.payout for r in other.rows) <= sum(r.payout for r in stored.rows)
    listing = client.get("/company/simulations").text
    assert f"#{sid} Launch" in listing and f"#{sid2} Capped" in listing
    both = client.get(f"/company/simulations/compare?a={sid}&b={sid2}")
    assert both.status_code == 200 and "Capped" in both.text and both.text.count("<svg") >= 3
    assert client.get("/company/simulations/99999").status_code == 404
    bad = client.post("/company/simulations", data={"csrf_token": csrf, "plan_text": "x = [",
                                                    **SMALL})
    assert bad.status_code == 400 and "not valid TOML" in bad.text
    too_big = client.post("/company/simulations", data={
        "csrf_token": csrf, **SMALL, "market": "0", "recruits": "5", "months": "30"})
    assert too_big.status_code == 400 and "patronage simulate" in too_big.text


def test_company_models_come_from_the_latest_fit(engine: Engine) -> None:
    seed(engine)
    assert company_models(engine).source["sbg"] == "prior"  # never fitted: the priors
    fit_values(engine, NOW)
    models = company_models(engine)
    # The seeded company is too small to fit: the value run's priors (its spend prior scaled
    # to the company's own mean order) are what it stored, and what the simulator takes.
    assert "customer value run" in models.source["bgnbd"]
    assert "customer value run" in models.source["gamma_gamma"]
    assert models.gamma_gamma != Models.priors().gamma_gamma
    sid = run_simulation(engine, now=NOW, actor="test", params=Params(market=2000, founders=10),
                         months=6, seed=2)
    assert load_simulation(engine, sid).models["sbg"] == models.sbg


def test_replay_a_proposed_plan_over_committed_months(engine: Engine) -> None:
    seed(engine)
    commit_period(engine, Period(2026, 9), None, now=NOW, actor="test", company_zone="UTC")
    same = PlanSource.from_file(default_plan_path())
    found = replay_plan(engine, same, 3)
    assert [p.period for p in found.periods] == ["2026-09"]
    p = found.periods[0]
    assert p.paid_before == p.paid_after  # the committed plan replayed on itself
    assert found.paid_more == found.paid_less == 0
    stingy = PlanSource.from_text(same.text.replace(
        "rates = [0.10, 0.05, 0.03, 0.03, 0.02, 0.02]",
        "rates = [0.01, 0.01, 0.01, 0.01, 0.01, 0.01]"), "stingy")
    lower = replay_plan(engine, stingy, 3)
    assert lower.paid_after < lower.paid_before and lower.paid_less > 0
    assert lower.ratio_after < lower.ratio_before
    assert sum(r.members_after for r in lower.periods[0].ranks) == \
        sum(r.members_before for r in lower.periods[0].ranks)
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    csrf = csrf_of(client.get("/company/simulations").text)
    page = client.post("/company/simulations/replay", data={
        "csrf_token": csrf, "plan_text": stingy.text, "periods": "3"})
    assert page.status_code == 200 and "2026-09" in page.text and "Consultant" in page.text


def test_cli_simulates_compares_and_writes_files(tmp_path: Path) -> None:
    from patronage.cli.main import app

    b = tmp_path / "b.toml"
    b.write_text(default_plan_path().read_text().replace("max_share_of_cv = 0.45",
                                                         "max_share_of_cv = 0.05"))
    params = tmp_path / "params.toml"
    params.write_text("founders = 15\nrecruits_per_distributor = 0.3\n")
    out = CliRunner().invoke(app, ["simulate", "--months", "8", "--market", "4000", "--seed",
                                   "3", "--compare", str(b), "--params", str(params), "--out",
                                   str(tmp_path / "out"), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout[out.stdout.index("{"):])
    a, bb = data["runs"]
    assert a["peak_distributors"] == bb["peak_distributors"]  # same seed, same network
    assert {Path(p).name for p in data["written"]} == {
        "months.csv", "network.svg", "network.png", "incomes.svg", "incomes.png",
        "payout.svg", "payout.png"}
    lines = (tmp_path / "out" / "months.csv").read_text().splitlines()
    assert len(lines) == 1 + 2 * 8 and lines[0].startswith("run,month,")
    bad = CliRunner().invoke(app, ["simulate", "--months", "3", "--params", str(b)])
    assert bad.exit_code != 0
