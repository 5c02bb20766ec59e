"""Autoship actions and care records through the API; on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, select

from patronage.db.autoship import AutoshipEvent
from patronage.db.engine import transaction
from tests.integration.test_api_support import API, acting_as, app_for, bearer, company, token_for


def test_customer_skips_pauses_swaps_and_cancels_in_one_step(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.customer(c.mid_customer))
    sub = f"{API}/subscriptions/{c.mid_customer_sub}"
    assert client.get(sub).json()["next_run"] == "2026-10-20"
    assert client.post(f"{sub}/skip").json()["next_run"] == "2026-11-20"
    assert client.post(f"{sub}/change-date", json={"day_of_month": 3}).json()[
        "next_run"] == "2026-11-03"
    swapped = client.post(f"{sub}/items", json={"items": [{"sku": "TEA", "quantity": 2},
                                                         {"sku": "SHAKE"}]}).json()
    assert swapped["items"] == [{"sku": "SHAKE", "quantity": 1}, {"sku": "TEA", "quantity": 2}]
    assert len(client.get(f"{sub}/save-offers").json()) == 4
    paused = client.post(f"{sub}/pause", json={"until": "2026-12-01"}).json()
    assert paused["status"] == "paused"
    assert client.post(f"{sub}/cancel", json={"reason": "moving abroad"}).json()[
        "status"] == "cancelled"
    again = client.post(f"{sub}/skip")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    with transaction(engine) as s:
        events = list(s.scalars(select(AutoshipEvent.kind).where(
            AutoshipEvent.subscription_id == c.mid_customer_sub).order_by(AutoshipEvent.id)))
        actors = set(s.scalars(select(AutoshipEvent.actor).where(
            AutoshipEvent.subscription_id == c.mid_customer_sub, AutoshipEvent.kind != "created")))
    assert events == ["created", "skipped", "date_changed", "items_changed", "paused",
                      "cancelled"]
    assert actors == {f"customer {c.mid_customer}:c{c.mid_customer}@example.com"}


def test_pause_in_the_past_and_an_enrollment_pack_on_autoship_are_refused(
        engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.customer(c.mid_customer))
    sub = f"{API}/subscriptions/{c.mid_customer_sub}"
    r = client.post(f"{sub}/pause", json={"until": "2026-01-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["pause until"]
    pack = client.post(f"{sub}/items", json={"items": [{"sku": "PACK"}]})
    assert pack.status_code == 422 and "enrollment pack" in pack.json()["detail"]


def test_token_subscribes_a_member_and_lists_by_status(engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    auth = bearer(token_for(engine, "autoship:write", "autoship:read"))
    r = client.post(f"{API}/subscriptions", headers=auth, json={
        "member_id": c.top_customer, "items": [{"sku": "TEA"}], "day_of_month": 28})
    assert r.status_code == 201, r.text
    assert r.json()["next_run"] == "2026-10-28"
    active = client.get(f"{API}/subscriptions?status=active", headers=auth).json()["items"]
    assert {s["member_id"] for s in active} == {c.top_customer, c.mid_customer,
                                                c.other_customer}
    mine = client.get(f"{API}/subscriptions?member_id={c.top_customer}", headers=auth).json()
    assert [s["id"] for s in mine["items"]] == [r.json()["id"]]


def test_distributor_reads_care_records_of_own_customers_and_adds_notes(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.distributor(c.mid))
    touches = client.get(f"{API}/care/touches?status=planned").json()["items"]
    assert [(t["member_id"], t["channel"]) for t in touches] == [(c.mid_customer, "task")]
    assert [s["score"] for s in client.get(f"{API}/care/surveys").json()["items"]] == [9]
    assert [t["member_id"] for t in client.get(f"{API}/care/testimonials").json()[
        "items"]] == [c.mid_customer]
    note = client.post(f"{API}/care/members/{c.mid_customer}/notes",
                       json={"body": "prefers calls after 6pm"})
    assert note.status_code == 201
    notes = client.get(f"{API}/care/members/{c.mid_customer}/notes").json()["items"]
    assert [n["body"] for n in notes] == ["prefers calls after 6pm", "likes tea"]
    empty = client.post(f"{API}/care/members/{c.mid_customer}/notes", json={"body": ""})
    assert empty.status_code == 422 and empty.json()["errors"][0]["loc"] == ["body", "body"]


def test_staff_sees_every_touch_and_filters_by_owner(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    assert len(client.get(f"{API}/care/touches").json()["items"]) == 2
    owned = client.get(f"{API}/care/touches?owner_id={c.other}").json()["items"]
    assert [t["member_id"] for t in owned] == [c.other_customer]


def test_distributor_sees_own_tasks_and_marks_one_done_once(engine: Engine) -> None:
    from patronage.db.accounts import AuditEntry

    c = company(engine)
    client = acting_as(app_for(engine), c.distributor(c.mid))
    tasks = client.get(f"{API}/care/tasks").json()
    assert [(t["touch_id"], t["member_id"]) for t in tasks] == [(c.mid_customer_task,
                                                                 c.mid_customer)]
    done = client.post(f"{API}/care/tasks/{c.mid_customer_task}/done")
    assert done.status_code == 200 and done.json()["status"] == "done"
    again = client.post(f"{API}/care/tasks/{c.mid_customer_task}/done")
    assert again.json()["done_at"] == done.json()["done_at"]
    assert client.get(f"{API}/care/tasks").json() == []
    assert client.post(f"{API}/care/tasks/{c.other_customer_task}/done").status_code == 404
    assert client.get(f"{API}/care/tasks?owner_id={c.other}").status_code == 404
    with transaction(engine) as s:
        assert list(s.scalars(select(AuditEntry.action))) == ["care.task_done"] * 2


def test_testimonial_from_submission_to_publication_and_withdrawal(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.customer(c.top_customer))
    r = client.post(f"{API}/care/testimonials", json={
        "member_id": c.top_customer, "text": "Best tea I ever had", "consent_to_publish": True,
        "media_url": "https://example.com/v.mp4"})
    assert r.status_code == 201, r.text
    story = r.json()["id"]
    assert r.json()["status"] == "submitted"
    bad = client.post(f"{API}/care/testimonials", json={
        "member_id": c.top_customer, "text": "x", "consent_to_publish": True,
        "media_url": "ftp://example.com"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["media link"]
    assert client.post(f"{API}/care/testimonials/{story}/publish").status_code == 403
    acting_as(client, c.staff())
    early = client.post(f"{API}/care/testimonials/{story}/publish")
    assert early.status_code == 409 and "only an approved" in early.json()["detail"]
    assert client.post(f"{API}/care/testimonials/{story}/moderate",
                       json={"approve": True}).json()["status"] == "approved"
    assert client.post(f"{API}/care/testimonials/{story}/publish").json()[
        "status"] == "published"
    acting_as(client, c.customer(c.top_customer))
    gone = client.post(f"{API}/care/testimonials/{story}/withdraw").json()
    assert (gone["status"], gone["consent_to_publish"]) == ("withdrawn", False)


def test_staff_reads_the_care_rules_and_the_holdout_report(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    rules = client.get(f"{API}/care/rules").json()
    assert rules["rules"] and {"key", "occasion", "channel"} <= set(rules["rules"][0])
    report = client.get(f"{API}/care/holdout?window_days=30")
    assert report.status_code == 200, report.text
    assert set(report.json()) >= {"treated", "holdout", "lift", "z"}
    assert client.get(f"{API}/care/holdout?window_days=1").status_code == 422
