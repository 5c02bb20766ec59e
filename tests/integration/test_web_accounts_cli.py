"""``patronage accounts``: create (password from stdin or prompt), list, disable."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from patronage import audit
from patronage.cli.main import app as cli
from patronage.db.engine import transaction
from tests import factories as f
from tests.e2e.world import app_for, sign_in

pytestmark = pytest.mark.storage


def said(result: Result) -> str:
    """What the command printed, or the refusal it raised (``patronage`` prints it)."""
    return result.output + (str(result.exception) if result.exception else "")


def test_create_list_disable(engine: Engine, db_url: str) -> None:
    with transaction(engine) as s:
        dana = f.distributor(s, "Dana")
        cory = f.customer(s, dana, "Cory")
    runner = CliRunner()
    made = runner.invoke(cli, ["--db", db_url, "accounts", "create", "--email", "Dana@X.com",
                               "--role", "distributor", "--member", str(dana),
                               "--password-stdin"], input="long enough pw\n")
    assert made.exit_code == 0, made.output
    assert "dana@x.com (distributor, member" in made.output
    prompted = runner.invoke(cli, ["--db", db_url, "accounts", "create", "--email", "s@x.com",
                                   "--role", "staff"], input="staff password\nstaff password\n")
    assert prompted.exit_code == 0, prompted.output
    listed = json.loads(runner.invoke(cli, ["--db", db_url, "accounts", "list", "--json"]
                                      ).output)
    assert [(a["email"], a["role"], a["member_id"]) for a in listed] == [
        ("dana@x.com", "distributor", dana), ("s@x.com", "staff", None)]
    assert "password" not in json.dumps(listed)
    client = TestClient(app_for(engine))
    assert sign_in(client, "dana@x.com", "long enough pw").status_code == 303
    gone = runner.invoke(cli, ["--db", db_url, "accounts", "disable", "dana@x.com"])
    assert gone.exit_code == 0 and "disabled" in gone.output
    assert client.get("/today", follow_redirects=False).status_code == 303
    with transaction(engine) as s:
        actions = sorted(r.action for r in audit.recent(s))  # the CLI writes at wall-clock time
    assert actions == ["account.create", "account.create", "account.disable", "login.ok"]
    del cory


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "distributor"], "needs --member"),
    (["--role", "owner"], "is not one of staff, distributor, customer"),
    (["--role", "customer", "--member", "1"], "is a distributor, not a customer"),
    (["--role", "staff", "--member", "1"], "not tied to a member"),
    (["--role", "distributor", "--member", "999"], "999 does not exist"),
])
def test_bad_accounts_are_refused_with_the_reason(engine: Engine, db_url: str, args: list[str],
                                                  message: str) -> None:
    with transaction(engine) as s:
        f.distributor(s, "Dana")
    result = CliRunner().invoke(cli, ["--db", db_url, "accounts", "create", "--email", "a@x.com",
                                      *args, "--password-stdin"], input="long enough pw\n")
    assert result.exit_code == 1
    assert message in said(result)


def test_short_password_and_duplicate_email(engine: Engine, db_url: str) -> None:
    runner = CliRunner()
    short = runner.invoke(cli, ["--db", db_url, "accounts", "create", "--email", "a@x.com",
                                "--role", "staff", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 8 characters" in said(short)
    base = ["--db", db_url, "accounts", "create", "--email", "a@x.com", "--role", "staff",
            "--password-stdin"]
    assert runner.invoke(cli, base, input="long enough pw\n").exit_code == 0
    again = runner.invoke(cli, base, input="long enough pw\n")
    assert again.exit_code == 1 and "already exists" in said(again)


@pytest.mark.parametrize(("password", "reason"), [
    ("12345678", "common password"), ("password", "common password"),
    ("        ", "too easy to guess"), ("x" * 129, "at most 128 characters"),
])
def test_weak_passwords_are_refused_by_create_and_password(engine: Engine, db_url: str,
                                                           password: str, reason: str) -> None:
    runner = CliRunner()
    base = ["--db", db_url, "accounts"]
    weak = runner.invoke(cli, [*base, "create", "--email", "a@x.com", "--role", "staff",
                               "--password-stdin"], input=f"{password}\n")
    assert weak.exit_code == 1 and reason in said(weak)
    assert runner.invoke(cli, [*base, "create", "--email", "a@x.com", "--role", "staff",
                               "--password-stdin"], input="long enough pw\n").exit_code == 0
    refused = runner.invoke(cli, [*base, "password", "a@x.com", "--password-stdin"],
                            input=f"{password}\n")
    assert refused.exit_code == 1 and reason in said(refused)
    client = TestClient(app_for(engine))
    assert sign_in(client, "a@x.com", "long enough pw").status_code == 303  # unchanged


def test_staff_set_a_new_password_and_the_old_sessions_end(engine: Engine, db_url: str) -> None:
    runner = CliRunner()
    base = ["--db", db_url, "accounts"]
    assert runner.invoke(cli, [*base, "create", "--email", "a@x.com", "--role", "staff",
                               "--password-stdin"], input="long enough pw\n").exit_code == 0
    client = TestClient(app_for(engine))
    assert sign_in(client, "a@x.com", "long enough pw").status_code == 303
    done = runner.invoke(cli, [*base, "password", "A@x.com"],
                         input="velvet harbour ninety\nvelvet harbour ninety\n")
    assert done.exit_code == 0 and "a@x.com set" in done.output
    assert client.get("/company", follow_redirects=False).status_code == 303
    assert sign_in(TestClient(app_for(engine)), "a@x.com", "long enough pw").status_code == 401
    assert sign_in(TestClient(app_for(engine)), "a@x.com",
                   "velvet harbour ninety").status_code == 303
    with transaction(engine) as s:
        assert [r.target for r in audit.recent(s, action="password.set")] == ["a@x.com"]
