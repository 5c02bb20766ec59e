"""Autoship actions through every face: the ``patronage autoship`` CLI, the REST API and the
customer portal; on SQLite and PostgreSQL. (The rules themselves: test_autoship_actions.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.subscriptions import Item, subscribe
from patronage.cli.main import app
from patronage.db.autoship import AutoshipEvent, AutoshipRun, Subscription, SubscriptionItem
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.orders.catalog import NewProduct, add_product
from tests.e2e.world import EMAILS, World, csrf_of, seed, sign_in
from tests.e2e.world import app_for as web_app_for
from tests.factories import catalog, customer, distributor
from tests.integration.test_api_support import API, acting_as, app_for, company

pytestmark = pytest.mark.storage
runner = CliRunner()
CREATED = datetime(2026, 11, 30, 15, tzinfo=UTC)


def _serum(engine: Engine) -> None:
    with transaction(engine) as s:
        add_product(s, NewProduct("SERUM", "Night serum", 4000, 3000, 2500, 2000))


def _lines(engine: Engine, sub: int) -> list[tuple[str, int]]:
    with transaction(engine) as s:
        return [(i.sku, i.quantity) for i in s.scalars(select(SubscriptionItem).where(
            SubscriptionItem.subscription_id == sub).order_by(SubscriptionItem.sku))]


def _kinds(engine: Engine, sub: int) -> list[str]:
    with transaction(engine) as s:
        return list(s.scalars(select(AutoshipEvent.kind).where(
            AutoshipEvent.subscription_id == sub).order_by(AutoshipEvent.id)))


# The command line.

def _cli_sub(engine: Engine) -> int:
    with transaction(engine) as s:
        catalog(s)
        c = customer(s, distributor(s), "Cara", kind="preferred", country="US")
        sub = subscribe(s, c, [Item("TEA"), Item("SHAKE", 2)], Frequency("monthly", 2),
                        start=date(2026, 12, 1), now=CREATED, actor="customer").id
    _serum(engine)
    return sub


def _cli(db_url: str, *args: str, now: str = "2026-12-05T15:00:00+00:00") -> str:
    done = runner.invoke(app, ["--db", db_url, "autoship", *args, "--now", now])
    assert done.exit_code == 0, done.output
    return done.output


def test_cli_swaps_adds_and_removes_one_product(engine: Engine, db_url: str) -> None:
    sub = _cli_sub(engine)
    _cli(db_url, "swap", str(sub), "--sku", "TEA", "--to", "SERUM")
    assert _lines(engine, sub) == [("SERUM", 1), ("SHAKE", 2)]
    _cli(db_url, "add", str(sub), "--sku", "TEA", "--quantity", "3")
    _cli(db_url, "remove", str(sub), "--sku", "SHAKE")
    _cli(db_url, "remove", str(sub), "--sku", "TEA")
    assert _lines(engine, sub) == [("SERUM", 1)]
    last = runner.invoke(app, ["--db", db_url, "autoship", "remove", str(sub), "--sku", "SERUM",
                               "--now", "2026-12-05T15:00:00+00:00"])
    assert last.exit_code == 1 and "pause or cancel" in str(last.exception)
    assert _lines(engine, sub) == [("SERUM", 1)]


def test_cli_skip_then_change_date_then_undo_resume_restart(engine: Engine,
                                                            db_url: str) -> None:
    sub = _cli_sub(engine)  # next run 2026-12-02
    assert "next run 2027-01-02" in _cli(db_url, "skip", str(sub))
    assert "next run 2027-01-15" in _cli(db_url, "change-date", str(sub), "--day", "15")
    assert "next run 2027-02-15" in _cli(db_url, "skip", str(sub))
    assert "next run 2027-01-15" in _cli(db_url, "undo-skip", str(sub))
    _cli(db_url, "pause", str(sub), "--until", "2027-03-01")
    with transaction(engine) as s:
        member = s.get(Subscription, sub).member_id  # type: ignore[union-attr]
    shown = runner.invoke(app, ["--db", db_url, "autoship", "show", "--member", str(member)])
    assert f"subscription {sub}: paused until 2027-03-01, next run 2027-01-15" in shown.output
    assert "next run 2027-01-15" in _cli(db_url, "resume", str(sub))
    _cli(db_url, "cancel", str(sub), "--reason", "budget")
    assert "next run 2027-03-15" in _cli(db_url, "restart", str(sub),
                                         now="2027-03-01T15:00:00+00:00")
    assert _kinds(engine, sub)[1:] == ["skipped", "date_changed", "skipped", "skip_undone",
                                       "paused", "resumed", "cancelled", "restarted"]


def _patronage(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "patronage", "--db", db_url, *args],
                          capture_output=True, text=True, env=dict(os.environ), timeout=120)


def test_cli_refuses_a_start_in_the_past(engine: Engine, db_url: str) -> None:
    with transaction(engine) as s:
        catalog(s)
        c = customer(s, distributor(s), "Cara")
    done = _patronage(db_url, "autoship", "subscribe", "--member", str(c), "--sku", "TEA",
                      "--start", "1900-01-01", "--now", CREATED.isoformat())
    assert done.returncode == 1
    assert "start: 1900-01-01 is before today (2026-11-30)" in done.stderr
    with transaction(engine) as s:
        assert s.scalars(select(Subscription)).all() == []


def test_cli_run_while_another_run_of_the_day_holds_it(engine: Engine, db_url: str) -> None:
    _cli_sub(engine)
    with transaction(engine) as s:  # a run of the day is at work
        s.add(AutoshipRun(day=date(2026, 12, 2), holder="other",
                          started_at=datetime(2026, 12, 2, 13, tzinfo=UTC)))
    done = _patronage(db_url, "autoship", "run", "--date", "2026-12-02", "--decline-rate", "0",
                      "--now", "2026-12-02T13:05:00+00:00")
    assert done.returncode == 1, done.stdout
    assert "another run of this day is in progress" in done.stderr
    assert "IntegrityError" not in done.stderr and "Traceback" not in done.stderr
    with transaction(engine) as s:
        s.execute(AutoshipRun.__table__.update().values(holder=None))
    ran = _patronage(db_url, "autoship", "run", "--date", "2026-12-02", "--decline-rate", "0",
                     "--now", "2026-12-02T13:10:00+00:00")
    assert ran.returncode == 0 and "1 ordered" in ran.stdout
    again = _patronage(db_url, "autoship", "run", "--date", "2026-12-02", "--decline-rate",
                       "0", "--now", "2026-12-02T13:15:00+00:00")
    assert again.returncode == 0 and "2026-12-02 already ran" in again.stdout
    assert "0 ordered" in again.stdout


# The REST API.

def test_api_swaps_adds_and_removes_one_product(engine: Engine) -> None:
    c = company(engine)
    _serum(engine)
    client = acting_as(app_for(engine), c.customer(c.mid_customer))
    sub = f"{API}/subscriptions/{c.mid_customer_sub}"
    added = client.post(f"{sub}/items/add", json={"sku": "TEA", "quantity": 2})
    assert added.status_code == 200, added.text
    swapped = client.post(f"{sub}/items/swap", json={"sku": "TEA", "new_sku": "SERUM"}).json()
    assert swapped["items"] == [{"sku": "SERUM", "quantity": 2}, {"sku": "SHAKE", "quantity": 1}]
    removed = client.delete(f"{sub}/items/SHAKE").json()
    assert removed["items"] == [{"sku": "SERUM", "quantity": 2}]
    last = client.delete(f"{sub}/items/SERUM")
    assert last.status_code == 409 and "pause or cancel" in last.json()["detail"]
    unknown = client.post(f"{sub}/items/swap", json={"sku": "TEA", "new_sku": "SHAKE"})
    assert unknown.status_code == 422 and "'TEA' is not on autoship" in unknown.json()["detail"]
    assert _kinds(engine, c.mid_customer_sub)[1:] == ["item_added", "item_swapped",
                                                      "item_removed"]


def test_api_keeps_a_skip_through_a_date_change_and_refuses_a_past_start(
        engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.customer(c.mid_customer))
    sub = f"{API}/subscriptions/{c.mid_customer_sub}"
    assert client.post(f"{sub}/skip").json()["next_run"] == "2026-11-20"
    assert client.post(f"{sub}/change-date", json={"day_of_month": 25}).json()[
        "next_run"] == "2026-11-25"
    past = client.post(f"{API}/subscriptions", json={
        "member_id": c.mid_customer, "items": [{"sku": "TEA"}], "start": "1900-01-01"})
    assert past.status_code == 422 and past.json()["errors"][0]["loc"] == ["start"]
    with transaction(engine) as s:
        assert len(s.scalars(select(Subscription).where(
            Subscription.member_id == c.mid_customer)).all()) == 1


def test_api_undo_skip_resume_and_restart_are_dated_events_with_the_actor(
        engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.customer(c.mid_customer))
    sub = f"{API}/subscriptions/{c.mid_customer_sub}"
    client.post(f"{sub}/skip")
    assert client.post(f"{sub}/undo-skip").json()["next_run"] == "2026-10-20"
    again = client.post(f"{sub}/undo-skip")
    assert again.status_code == 409 and "no skip to undo" in again.json()["detail"]
    client.post(f"{sub}/pause", json={"until": "2026-12-01"})
    resumed = client.post(f"{sub}/resume").json()
    assert (resumed["status"], resumed["next_run"]) == ("active", "2026-10-20")
    client.post(f"{sub}/cancel", json={"reason": "budget"})
    restarted = client.post(f"{sub}/restart").json()
    assert (restarted["status"], restarted["next_run"]) == ("active", "2026-10-20")
    other = acting_as(app_for(engine), c.customer(c.other_customer))
    assert other.post(f"{sub}/restart").status_code == 404
    with transaction(engine) as s:
        events = [(e.kind, e.actor, e.at) for e in s.scalars(select(AutoshipEvent).where(
            AutoshipEvent.subscription_id == c.mid_customer_sub,
            AutoshipEvent.kind.in_(("skip_undone", "resumed", "restarted"))))]
    actor = f"customer {c.mid_customer}:c{c.mid_customer}@example.com"
    assert events == [(k, actor, datetime(2026, 10, 15, 12, tzinfo=UTC))
                      for k in ("skip_undone", "resumed", "restarted")]


# The customer portal.

@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def _cory(engine: Engine) -> tuple[TestClient, str]:
    client = TestClient(web_app_for(engine))
    assert sign_in(client, EMAILS["customer"]).status_code == 303
    return client, csrf_of(client.get("/account").text)


def test_portal_swap_changes_one_line_and_add_remove_are_their_own_forms(
        engine: Engine, world: World) -> None:
    _serum(engine)
    cory, csrf = _cory(engine)
    url = f"/me/autoship/{world.cory_sub}"
    r = cory.post(f"{url}/add", data={"csrf_token": csrf, "sku": "TEA", "quantity": "1"})
    assert r.status_code == 200 and "The product is added" in r.text
    assert f'action="/me/autoship/{world.cory_sub}/remove"' in r.text
    r = cory.post(f"{url}/swap", data={"csrf_token": csrf, "sku": "TEA", "new_sku": "SERUM"})
    assert r.status_code == 200 and "now has the new product" in r.text
    assert _lines(engine, world.cory_sub) == [("SERUM", 1), ("SHAKE", 1)]
    r = cory.post(f"{url}/remove", data={"csrf_token": csrf, "sku": "SHAKE"})
    assert r.status_code == 200 and _lines(engine, world.cory_sub) == [("SERUM", 1)]
    last = cory.post(f"{url}/remove", data={"csrf_token": csrf, "sku": "SERUM"})
    assert last.status_code == 409 and "pause or cancel" in last.text
    assert _lines(engine, world.cory_sub) == [("SERUM", 1)]


def test_portal_keeps_a_skip_through_a_date_change(engine: Engine, world: World) -> None:
    cory, csrf = _cory(engine)
    url = f"/me/autoship/{world.cory_sub}"
    r = cory.post(f"{url}/skip", data={"csrf_token": csrf})
    assert "December 10, 2026" in r.text
    r = cory.post(f"{url}/date", data={"csrf_token": csrf, "day": "20"})
    assert r.status_code == 200 and "December 20, 2026" in r.text


def test_portal_undo_skip_resume_and_restart(engine: Engine, world: World) -> None:
    cory, csrf = _cory(engine)
    url = f"/me/autoship/{world.cory_sub}"
    r = cory.post(f"{url}/skip", data={"csrf_token": csrf})
    assert f'action="{url}/undo-skip"' in r.text
    r = cory.post(f"{url}/undo-skip", data={"csrf_token": csrf})
    assert r.status_code == 200 and "The skipped delivery is back" in r.text
    assert "November 10, 2026" in r.text
    r = cory.post(f"{url}/pause", data={"csrf_token": csrf, "until": "2027-01-01"})
    assert f'action="{url}/resume"' in r.text
    r = cory.post(f"{url}/resume", data={"csrf_token": csrf})
    assert r.status_code == 200 and "November 10, 2026" in r.text
    r = cory.post(f"{url}/cancel", data={"csrf_token": csrf, "reason": ""})
    assert f'action="{url}/restart"' in r.text
    r = cory.post(f"{url}/restart", data={"csrf_token": csrf})
    assert r.status_code == 200 and "Welcome back" in r.text
    with transaction(engine) as s:
        row = s.get(Subscription, world.cory_sub)
        assert row is not None and (row.status, row.next_run) == ("active", date(2026, 11, 10))
    assert _kinds(engine, world.cory_sub)[1:] == ["skipped", "skip_undone", "paused", "resumed",
                                                  "cancelled", "restarted"]
    with transaction(engine) as s:  # a skip whose date has passed can no longer be undone
        s.execute(update(Subscription).where(Subscription.id == world.cory_sub)
                  .values(skipped_run=date(2026, 10, 10)))
    assert f'action="{url}/undo-skip"' not in cory.get("/me").text


def test_portal_shows_product_names_and_the_customers_prices_on_the_autoship_lines(
        engine: Engine, world: World) -> None:
    cory, csrf = _cory(engine)  # a retail customer: retail prices
    page = cory.post(f"/me/autoship/{world.cory_sub}/add",
                     data={"csrf_token": csrf, "sku": "TEA", "quantity": "2"}).text
    lines = page.split('id="autoship"')[1].split("</section>")[0]
    assert "1 × Daily shake" in lines and ">$60.00<" in lines
    assert "2 × Herbal tea" in lines and ">$25.00<" in lines and ">$50.00<" in lines
    assert "Total each delivery (USD)" in lines and 'next-total">$110.00<' in lines
    assert "× SHAKE" not in lines and "× TEA" not in lines
    assert "Remove Herbal tea" in lines and '<option value="TEA">Herbal tea</option>' in lines
    with transaction(engine) as s:  # a preferred customer pays the wholesale price
        s.execute(update(Member).where(Member.id == world.cory).values(kind="preferred"))
    preferred = cory.get("/me").text
    assert ">$45.00<" in preferred and 'next-total">$85.00<' in preferred
