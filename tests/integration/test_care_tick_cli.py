"""``patronage care``: tick, rules check, plan and holdout from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from patronage.care.core.rules import default_rules_path, load_rules
from patronage.care.holdout import holdout_report
from patronage.care.tick import tick
from patronage.cli.main import app
from patronage.db.engine import transaction
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import catalog, customer, distributor

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
runner = CliRunner()


def test_tick_from_the_command_line_is_idempotent(engine: Engine, db_url: str) -> None:
    with transaction(engine) as s:
        dana = distributor(s, "Dana", joined_at=NOW - timedelta(days=400))
        sally = customer(s, dana, "Sally", joined_at=NOW - timedelta(days=400),
                         email="s@example.com", birth_month=11, birth_day=26,
                         consents={"email": True})
    args = ["--db", db_url, "care", "tick", "--now", NOW.isoformat(), "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    done = json.loads(first.output)
    assert done["written"] >= 2 and done["planned"] >= 2
    again = json.loads(runner.invoke(app, args).output)
    assert again["written"] == 0 and again["planned"] == 0
    shown = runner.invoke(app, ["--db", db_url, "care", "plan", "--member", str(sally),
                                "--now", NOW.isoformat(), "--json"])
    outcomes = {line["rule"]: line["outcome"] for line in json.loads(shown.output)["rules"]}
    assert outcomes["birthday_email"] == "already planned"
    assert outcomes["birthday_call"] == "already planned"


def test_rules_check_names_every_problem(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["care", "rules", "check", str(default_rules_path())])
    assert ok.exit_code == 0 and "21 rules" in ok.output
    bad = tmp_path / "rules.toml"
    bad.write_text('[[rules]]\nkey = "x"\noccasion = "birthday"\nchannel = "fax"\n'
                   'template = "birthday"\nlead_days = -1\n')
    # Refusals are printed by the command's entry point, with exit code 1.
    done = subprocess.run([sys.executable, "-m", "patronage", "care", "rules", "check",
                           str(bad)], capture_output=True, text=True)
    assert done.returncode == 1
    assert f"{bad}: rules[0].channel: unknown channel 'fax'" in done.stderr
    assert f"{bad}: rules[0].lead_days:" in done.stderr


def test_holdout_report_compares_retention(engine: Engine, db_url: str) -> None:
    rules = load_rules()
    rules = rules.model_copy(update={"settings": rules.settings.model_copy(
        update={"holdout_share": 0.5})})
    joined = NOW - timedelta(days=200)
    with transaction(engine) as s:
        catalog(s)
        dana = distributor(s, "Dana", joined_at=joined)
        people = [customer(s, dana, f"C{i}", joined_at=joined) for i in range(40)]
        for i, person in enumerate(people):
            if i % 3:  # two in three still order
                place_order(s, NewOrder(person, NOW - timedelta(days=10),
                                        [LineRequest("TEA")]), now=NOW)
    tick(engine, NOW, rules)
    report = holdout_report(engine, NOW, rules)
    assert report.treated.members + report.holdout.members == 40
    assert 8 <= report.holdout.members <= 32
    assert report.treated.retained + report.holdout.retained == 26
    assert report.lift == report.treated.retention - report.holdout.retention
