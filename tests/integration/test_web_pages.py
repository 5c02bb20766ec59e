"""What distributors and customers do on their pages, and what it leaves in the records."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage import audit
from patronage.db.autoship import AutoshipEvent, Subscription
from patronage.db.care import MemberNote, SurveyResponse, Touch
from patronage.db.care import Testimonial as StoredTestimonial
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.network.members import consents_in_force
from tests.e2e.world import EMAILS, World, app_for, csrf_of, seed, sign_in

pytestmark = pytest.mark.storage


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def signed_in(engine: Engine, role: str) -> tuple[TestClient, str]:
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS[role]).status_code == 303
    return client, csrf_of(client.get("/account").text)


def test_today_lists_the_task_and_birthdays_are_a_filter(engine: Engine, world: World) -> None:
    ann, _ = signed_in(engine, "distributor")
    page = ann.get("/today").text
    assert f'/tasks/{world.ann_task}/done' in page
    assert f'/tasks/{world.zed_task}/done' not in page
    assert "Cory" in page and "Why: </span>thank you" in page
    birthdays = ann.get("/customers?show=birthday").text  # Cory's birthday is on 10/20
    assert ">Cory</a>" in birthdays and ">Cleo</a>" not in birthdays


def test_marking_a_task_done_records_it_and_audits(engine: Engine, world: World) -> None:
    ann, csrf = signed_in(engine, "distributor")
    r = ann.post(f"/tasks/{world.ann_task}/done", data={"csrf_token": csrf},
                 headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert r.status_code == 200 and "Done" in r.text
    with transaction(engine) as s:
        touch = s.get(Touch, world.ann_task)
        assert touch is not None and touch.status == "done" and touch.done_at is not None
        rows = audit.recent(s, action="task.done")
    assert [r.target for r in rows] == [f"touch {world.ann_task}"]
    again = ann.post(f"/tasks/{world.ann_task}/done", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert f'/tasks/{world.ann_task}/done' not in ann.get("/today").text


def test_customer_list_and_page_with_history_and_a_note(engine: Engine, world: World) -> None:
    ann, csrf = signed_in(engine, "distributor")
    listing = ann.get("/customers").text
    assert "Cory" in listing and "Cleo" in listing
    assert "Zoe" not in listing and "Bea" not in listing
    assert "next Nov 10" in listing  # Cory's autoship
    assert "Cleo" not in ann.get("/customers?q=cor").text
    page = ann.get(f"/customers/{world.cory}").text
    assert "History" in page and "one_time" in page and "1× Daily shake" in page
    assert "Next touch" in page and "Consistency" not in page  # no value run yet
    r = ann.post(f"/customers/{world.cory}/notes",
                 data={"csrf_token": csrf, "body": "Prefers calls after 6pm"})
    assert r.status_code == 200 and "Prefers calls after 6pm" in r.text
    empty = ann.post(f"/customers/{world.cory}/notes", data={"csrf_token": csrf, "body": " "})
    assert empty.status_code == 400 and "write something first" in empty.text
    with transaction(engine) as s:
        notes = s.scalars(select(MemberNote)).all()
    assert [(n.member_id, n.body) for n in notes] == [(world.cory, "Prefers calls after 6pm")]


def test_a_customers_values_from_the_prior_say_so(engine: Engine, world: World) -> None:
    from patronage.value.service import fit_values
    from tests.e2e.world import NOW

    fit_values(engine, NOW)  # a handful of customers: no model can be fitted yet
    ann, _ = signed_in(engine, "distributor")
    page = " ".join(ann.get(f"/customers/{world.cory}").text.split())
    assert "Lifetime value" in page
    assert "Estimated from a starting assumption" in page


def test_business_page_shows_customers_against_the_target(engine: Engine,
                                                          world: World) -> None:
    ann, _ = signed_in(engine, "distributor")
    page = ann.get("/business").text
    assert "2</strong> customers of a target of 50" in page
    assert "<svg" in page and "Consumption and promotional volume" in page


def test_team_lists_the_downline_by_level_and_exports_csv(engine: Engine,
                                                          world: World) -> None:
    ann, _ = signed_in(engine, "distributor")
    page = ann.get("/team").text
    assert "Ben" in page and "Zed" not in page
    assert "Nobody at this level" in ann.get("/team?level=2").text
    r = ann.get("/team.csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["level"], row["member"], row["customers"]) for row in rows] == [
        ("1", str(world.ben), "1")]
    bad = ann.get("/team?period=2026-13")
    assert bad.status_code == 400 and "YYYY-MM" in bad.text


def test_customer_skips_pauses_and_cancels_in_one_step(engine: Engine, world: World) -> None:
    cory, csrf = signed_in(engine, "customer")
    assert "November 10, 2026" in cory.get("/me").text
    r = cory.post(f"/me/autoship/{world.cory_sub}/skip", data={"csrf_token": csrf})
    assert r.status_code == 200 and "Skipped" in r.text and "December 10, 2026" in r.text
    bad = cory.post(f"/me/autoship/{world.cory_sub}/pause",
                    data={"csrf_token": csrf, "until": "2020-01-01"})
    assert bad.status_code == 400 and "not in the future" in bad.text
    r = cory.post(f"/me/autoship/{world.cory_sub}/cancel",
                  data={"csrf_token": csrf, "reason": "moving abroad"})
    assert r.status_code == 200 and "cancelled" in r.text
    with transaction(engine) as s:
        sub = s.get(Subscription, world.cory_sub)
        assert sub is not None and sub.status == "cancelled" and sub.next_run == date(2026, 12,
                                                                                       10)
        kinds = [e.kind for e in s.scalars(select(AutoshipEvent).where(
            AutoshipEvent.subscription_id == world.cory_sub).order_by(AutoshipEvent.id))]
    assert kinds == ["created", "skipped", "cancelled"]


def test_customer_changes_consent_and_unsubscribes(engine: Engine, world: World) -> None:
    cory, csrf = signed_in(engine, "customer")
    r = cory.post("/me/consent", data={"csrf_token": csrf, "channel": "sms", "granted": "yes"})
    assert r.status_code == 200 and "preferences are saved" in r.text
    r = cory.post("/me/unsubscribe", data={"csrf_token": csrf})
    assert r.status_code == 200 and "unsubscribed" in r.text
    with transaction(engine) as s:
        given = consents_in_force(s, world.cory)
        rows = audit.recent(s, action="consent.change")
    assert given["email"] is False and given["sms"] is True
    assert len(rows) == 2 and all(r.target == f"member {world.cory}" for r in rows)
    bad = cory.post("/me/consent", data={"csrf_token": csrf, "channel": "pigeon",
                                         "granted": "yes"})
    assert bad.status_code == 400 and "pigeon" in bad.text


def test_profile_is_checked_whole_before_saving(engine: Engine, world: World) -> None:
    cory, csrf = signed_in(engine, "customer")
    bad = cory.post("/me/profile", data={"csrf_token": csrf, "birth_month": "2",
                                         "birth_day": "30", "city": "Lyon"})
    assert bad.status_code == 400
    with transaction(engine) as s:
        member = s.get(Member, world.cory)
        assert member is not None and member.city is None and member.birth_month == 10
    ok = cory.post("/me/profile", data={"csrf_token": csrf, "birth_month": "2",
                                        "birth_day": "29", "city": "Lyon", "country": "fr"})
    assert ok.status_code == 200 and "saved" in ok.text
    with transaction(engine) as s:
        member = s.get(Member, world.cory)
        assert member is not None and (member.birth_month, member.birth_day, member.city,
                                       member.country) == (2, 29, "Lyon", "FR")


def test_testimonial_from_the_portal_waits_for_moderation(engine: Engine, world: World) -> None:
    cory, csrf = signed_in(engine, "customer")
    r = cory.post("/me/testimonial", data={"csrf_token": csrf, "consent": "yes",
                                           "text": "The shakes got me through winter."})
    assert r.status_code == 200
    with transaction(engine) as s:
        t = s.scalars(select(StoredTestimonial)).one()
    assert (t.member_id, t.status, t.consent_to_publish) == (world.cory, "submitted", True)


def test_one_click_unsubscribe_needs_no_sign_in_nor_csrf(engine: Engine, world: World) -> None:
    client = TestClient(app_for(engine))
    token = world.token("unsubscribe")
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and "Unsubscribe from our emails?" in page.text
    r = client.post(f"/u/{token}")  # RFC 8058 one-click: a bare POST
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    with transaction(engine) as s:
        assert consents_in_force(s, world.cory)["email"] is False
    forged = client.post(f"/u/{token[:-3]}abc")
    assert forged.status_code == 404
    wrong_purpose = client.get(f"/u/{world.token('survey')}")
    assert wrong_purpose.status_code == 404


def test_survey_and_preferences_links(engine: Engine, world: World) -> None:
    client = TestClient(app_for(engine))
    token = world.token("survey")
    csrf = csrf_of(client.get(f"/s/{token}").text)
    missing = client.post(f"/s/{token}", data={"csrf_token": csrf, "comment": "x"})
    assert missing.status_code == 400 and "0 to 10" in missing.text
    r = client.post(f"/s/{token}", data={"csrf_token": csrf, "score": "9",
                                         "comment": "Lovely tea"})
    assert r.status_code == 200 and "Thank you" in r.text
    with transaction(engine) as s:
        answer = s.scalars(select(SurveyResponse)).one()
    assert (answer.member_id, answer.score, answer.comment) == (world.cory, 9, "Lovely tea")
    prefs = world.token("preferences")
    csrf = csrf_of(client.get(f"/p/{prefs}").text)
    r = client.post(f"/p/{prefs}", data={"csrf_token": csrf, "post": "yes"})
    assert r.status_code == 200 and "Saved" in r.text
    with transaction(engine) as s:
        given = consents_in_force(s, world.cory)
    assert given["post"] is True and given["email"] is False


def test_business_after_a_commit_explains_lines_and_projects_the_open_period(
        engine: Engine, world: World) -> None:
    from patronage.clock import Period
    from patronage.compensation.runs import commit_period
    from tests.e2e.world import NOW

    ann, _ = signed_in(engine, "distributor")
    early = ann.get("/business/projection")
    assert early.status_code == 200 and "commit 2026-09 first" in early.text
    commit_period(engine, Period.parse("2026-09"), None, now=NOW, actor="test")
    page = ann.get("/business").text
    assert "2026-09" in page and "every line explained" in page
    fragment = ann.get("/business/projection").text
    assert "Projected earnings for 2026-10" in fragment
    assert "Rank report card: paid as" in fragment and "<html" not in fragment
    september = ann.get("/business/projection?period=2026-09").text
    assert "Ann (#" in september  # the explanation's first line names the member
    team = ann.get("/team?period=2026-09").text
    assert "ranks and volumes of 2026-09" in team and "Ben" in team


def test_radar_puts_each_score_on_its_spoke() -> None:
    from patronage.web.charts import radar

    scores = {"consumption": 100.0, "consistency": 50.0, "referral": 0.0, "rainmaker": 25.0,
              "feedback": 0.0, "testimonial": 0.0, "emotional": 75.0}
    svg = str(radar(scores, size=240))
    assert "consumption 100" in svg and "emotional 75" in svg
    # The filled polygon's first point is the top spoke at full length: (120, 120 - r).
    filled = svg.split('fill-opacity="0.35"')[0].rsplit('<polygon points="', 1)[1]
    assert filled.startswith("120.0,30.0 ")
    thumb = str(radar(scores, size=96, labels=False))
    assert "<text" not in thumb and 'viewBox="0 0 96 96"' in thumb
    assert str(radar({"a": 1.0, "b": 2.0})) == ""


def test_portal_links_to_the_customers_own_survey(engine: Engine, world: World) -> None:
    cory, _ = signed_in(engine, "customer")
    link = cory.get("/me").text.split('href="/s/')[1].split('"')[0]
    form = cory.get(f"/s/{link}")
    r = cory.post(f"/s/{link}", data={"csrf_token": csrf_of(form.text), "score": "10"})
    assert r.status_code == 200 and "Thank you" in r.text
    with transaction(engine) as s:
        assert s.scalars(select(SurveyResponse.member_id)).all() == [world.cory]


def test_team_as_of_a_period_undoes_later_moves(engine: Engine, world: World) -> None:
    from datetime import UTC, datetime

    from patronage.network.members import move_sponsor

    with transaction(engine) as s:
        move_sponsor(s, world.ben, world.zed, effective_at=datetime(2026, 10, 5, tzinfo=UTC),
                     recorded_at=datetime(2026, 10, 5, tzinfo=UTC), actor="test",
                     reason="asked to move")
    ann, _ = signed_in(engine, "distributor")
    assert "Nobody at this level" in ann.get("/team").text  # today Ben is under Zed
    september = ann.get("/team?period=2026-09").text
    assert "Ben" in september and "1</strong> distributor(s)" in september
    rows = list(csv.DictReader(io.StringIO(ann.get("/team.csv?period=2026-09").text)))
    assert [row["member"] for row in rows] == [str(world.ben)]
    assert list(csv.DictReader(io.StringIO(ann.get("/team.csv").text))) == []
    zed = TestClient(app_for(engine))
    sign_in(zed, EMAILS["other_distributor"])
    assert "Ben" in zed.get("/team").text
    # The printout by level is as of the period (the tree and who needs help are as of today)
    assert "Ben" not in zed.get("/team?period=2026-09").text.split("By level")[1]


def test_the_server_gathers_statistics_a_bulk_writer_left_out(engine: Engine,
                                                              world: World) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps its own planner statistics")
    from patronage.db.bulk import refresh_statistics
    from patronage.web import refresh_planner_statistics

    with engine.begin() as conn:
        assert refresh_statistics(conn, "customer_values", 1)  # none known: analysed
        assert not refresh_statistics(conn, "customer_values", 0)
    with engine.connect() as conn:
        analysed = {r[0] for r in conn.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}
    assert "members" not in analysed
    refresh_planner_statistics(engine)
    with engine.connect() as conn:
        analysed = {r[0] for r in conn.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}
    assert {"members", "orders"} <= analysed
