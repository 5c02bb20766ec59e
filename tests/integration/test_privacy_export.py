"""A person's own data (GDPR art. 15) through the service, the REST API, the CLI and the
customer's web account; a customer never gets someone else's; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.db.engine import transaction
from patronage.network.members import record_consent
from patronage.network.privacy import EXPORT_FORMAT, export_member_data
from patronage.web.accounts import create_account
from tests.e2e.world import EMAILS, seed, sign_in
from tests.e2e.world import app_for as web_app_for
from tests.integration.test_api_support import API, NOW, Company, acting_as, app_for, company


def _company_with_consent(engine: Engine) -> Company:
    c = company(engine, plan=False)
    with transaction(engine) as s:
        record_consent(s, c.mid_customer, "post", True, at=NOW, method="form")
        create_account(s, email="mia@example.com", password="correct horse battery 9",
                       role="customer", member_id=c.mid_customer, now=NOW)
    return c


def test_the_export_holds_everything_stored_about_the_member(engine: Engine) -> None:
    c = _company_with_consent(engine)
    with transaction(engine) as s:
        doc = export_member_data(s, c.mid_customer, NOW, include_notes=True)
        without = export_member_data(s, c.mid_customer, NOW, include_notes=False)
    json.dumps(doc)  # machine-readable as it is
    assert doc["format"] == EXPORT_FORMAT and doc["member_id"] == c.mid_customer
    assert doc["profile"]["first_name"] == "Mia" and doc["profile"]["kind"] == "preferred"
    assert [(x["channel"], x["granted"]) for x in doc["consents"]] == [("post", True)]
    assert [a["email"] for a in doc["accounts"]] == ["mia@example.com"]
    assert "password_hash" not in doc["accounts"][0]
    [order] = doc["orders"]
    assert order["id"] == c.mid_customer_order and order["total"] > 0
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("SHAKE", 2)]
    [sub] = doc["subscriptions"]
    assert sub["id"] == c.mid_customer_sub and [i["sku"] for i in sub["items"]] == ["SHAKE"]
    assert [e["kind"] for e in sub["events"]][:1] == ["created"]
    assert [t["summary"] for t in doc["care_touches"]] == ["Call to say thank you"]
    assert [(a["score"], a["comment"]) for a in doc["survey_answers"]] == [(9, "great")]
    assert [t["text"] for t in doc["testimonials"]] == ["I love it"]
    assert doc["customer_values"] == []
    assert "payout_lines" not in doc  # a customer earns nothing
    assert [n["body"] for n in doc["notes"]] == ["likes tea"]
    assert "notes" not in without
    with transaction(engine) as s:
        mine = export_member_data(s, c.mid, NOW, include_notes=False)
    assert mine["payout_lines"] == [] and mine["orders"] == []


def test_api_export_for_staff_and_for_the_member_themself_only(engine: Engine) -> None:
    c = company(engine, plan=False)
    client = app_for(engine)
    staff = acting_as(client, c.staff()).get(f"{API}/members/{c.mid_customer}/export")
    assert staff.status_code == 200
    assert [n["body"] for n in staff.json()["notes"]] == ["likes tea"]
    own = acting_as(client, c.customer(c.mid_customer)).get(
        f"{API}/members/{c.mid_customer}/export")
    assert own.status_code == 200 and own.json()["member_id"] == c.mid_customer
    assert "notes" not in own.json()
    other = acting_as(client, c.customer(c.mid_customer)).get(
        f"{API}/members/{c.other_customer}/export")
    assert other.status_code == 404 and "Oscar" not in other.text
    owner = acting_as(client, c.distributor(c.mid)).get(
        f"{API}/members/{c.mid_customer}/export")
    assert owner.status_code == 403


def test_cli_export_data_writes_the_json_file(engine: Engine, db_url: str,
                                              tmp_path: Path) -> None:
    c = company(engine, plan=False)
    out = tmp_path / "mia.json"
    done = CliRunner().invoke(cli, ["--db", db_url, "members", "export-data",
                                    str(c.mid_customer), "--out", str(out),
                                    "--now", NOW.isoformat()])
    assert done.exit_code == 0, done.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["member_id"] == c.mid_customer and doc["profile"]["first_name"] == "Mia"
    assert [n["body"] for n in doc["notes"]] == ["likes tea"]
    missing = CliRunner().invoke(cli, ["--db", db_url, "members", "export-data", "99999"])
    assert missing.exit_code != 0
    assert "member 99999 does not exist" in str(missing.exception)


def test_cli_erase_ends_the_autoship(engine: Engine, db_url: str) -> None:
    c = company(engine, plan=False)
    done = CliRunner().invoke(cli, ["--db", db_url, "members", "erase", str(c.mid_customer),
                                    "--actor", "privacy officer", "--now", NOW.isoformat()])
    assert done.exit_code == 0, done.output
    with transaction(engine) as s:
        doc = export_member_data(s, c.mid_customer, NOW, include_notes=True)
    assert doc["profile"]["status"] == "erased" and doc["notes"] == []
    assert [sub["status"] for sub in doc["subscriptions"]] == ["cancelled"]


def test_customer_downloads_their_own_data_from_their_account(engine: Engine) -> None:
    world = seed(engine)
    cory = TestClient(web_app_for(engine))
    assert sign_in(cory, EMAILS["customer"]).status_code == 303
    assert 'href="/me/data.json"' in cory.get("/me").text
    r = cory.get("/me/data.json")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc = r.json()
    assert doc["member_id"] == world.cory and doc["profile"]["email"] == "cory@example.com"
    assert "notes" not in doc
    assert cory.get(f"/me/data.json?member_id={world.zoe}").json()["member_id"] == world.cory
    ann = TestClient(web_app_for(engine))
    assert sign_in(ann, EMAILS["distributor"]).status_code == 303
    assert ann.get("/me/data.json", follow_redirects=False).status_code in (403, 404)
