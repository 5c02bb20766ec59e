"""Staff pages: member and order search, commission preview and commit (audited), plan
comparison, imports with a dry run first, care rules and holdout, the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from patronage import audit
from patronage.compensation.core.plan import default_plan_path
from patronage.db.compensation import CommissionRun
from patronage.db.engine import transaction
from patronage.db.tables import Member
from tests.e2e.world import EMAILS, NOW, World, app_for, csrf_of, seed, sign_in
from tests.web_jobs import finished

pytestmark = pytest.mark.storage


@pytest.fixture
def staff(engine: Engine) -> tuple[TestClient, str, World]:
    world = seed(engine)
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    return client, csrf_of(client.get("/company").text), world


def test_member_search_by_id_email_and_name(staff: tuple[TestClient, str, World]) -> None:
    client, _, w = staff
    assert f"#{w.zoe}" in client.get(f"/company/members?q={w.zoe}").text
    by_email = client.get("/company/members?q=ZOE@example.com").text
    assert "Zoe" in by_email and "Cory" not in by_email
    by_name = client.get("/company/members?q=co").text
    assert "Cory" in by_name and "Cleo" not in by_name
    assert "No member found" in client.get("/company/members?q=C%25").text  # % is literal
    distributors = client.get("/company/members?kind=distributor").text
    assert "Ann" in distributors and "Cory" not in distributors


def test_order_search_by_buyer_and_bad_dates(staff: tuple[TestClient, str, World]) -> None:
    client, _, w = staff
    page = client.get(f"/company/orders?buyer={w.zoe}").text
    assert f'/company/members/{w.zoe}"' in page and f'/company/members/{w.cory}"' not in page
    bad = client.get("/company/orders?since=yesterday")
    assert bad.status_code == 400 and "from: &#39;yesterday&#39; is not a date" in bad.text


def test_preview_then_commit_a_period_is_audited(staff: tuple[TestClient, str, World],
                                                 engine: Engine) -> None:
    client, csrf, _ = staff
    preview = client.get("/company/runs/preview?period=2026-09")
    assert preview.status_code == 200 and "Commit 2026-09" in preview.text
    r = client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-09",
                                                  "confirm": "yes"})
    assert r.status_code == 200 and "Period 2026-09 is committed" in r.text
    with transaction(engine) as s:
        runs = s.scalars(select(CommissionRun)).all()
        rows = audit.recent(s, action="commission.commit")
    assert [run.period for run in runs] == ["2026-09"]
    assert [(a.target, a.actor) for a in rows] == [("period 2026-09",
                                                    f"staff:{EMAILS['staff']}")]
    again = client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-09",
                                                      "confirm": "yes"})
    assert again.status_code == 409 and "already committed" in again.text
    locked = client.get("/company/runs/preview?period=2026-09").text
    assert "This period is committed" in locked


def test_the_open_period_cannot_be_committed(staff: tuple[TestClient, str, World],
                                             engine: Engine) -> None:
    client, csrf, _ = staff
    r = client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-10"})
    assert r.status_code == 409 and "still open" in r.text
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(CommissionRun)) == 0


CONFIRM = "I understand this locks 2026-09: payments can no longer change"


def test_the_runs_page_offers_only_the_next_period_to_commit_with_a_confirmation(
        staff: tuple[TestClient, str, World], engine: Engine) -> None:
    client, csrf, _ = staff
    page = client.get("/company/runs").text
    assert "Commit 2026-09" in page and CONFIRM in page
    assert 'name="confirm"' in page and "required" in page.split('name="confirm"')[1][:80]
    assert "Commit 2026-10" not in page

    unconfirmed = client.post("/company/runs/commit", data={"csrf_token": csrf,
                                                            "period": "2026-09"})
    assert unconfirmed.status_code == 400
    assert "commit 2026-09: not confirmed" in unconfirmed.text and CONFIRM in unconfirmed.text
    wrong = client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-09",
                                                      "confirm": "maybe"})
    assert wrong.status_code == 400
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(CommissionRun)) == 0

    done = client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-09",
                                                     "confirm": "yes"})
    assert done.status_code == 200 and "Period 2026-09 is committed" in done.text
    assert "Commit 2026-" not in done.text  # October has not ended: nothing is offered
    assert "period 2026-10 has not ended yet" in done.text


def test_a_period_that_has_not_ended_shows_why_instead_of_a_commit_button(
        staff: tuple[TestClient, str, World]) -> None:
    client, csrf, _ = staff
    client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-09",
                                              "confirm": "yes"})
    preview = client.get("/company/runs/preview?period=2026-10")
    assert preview.status_code == 200
    assert "Commit 2026-10" not in preview.text and 'name="confirm"' not in preview.text
    assert "period 2026-10 has not ended yet" in preview.text
    # Asking for the commit anyway names the reason, not the missing confirmation.
    r = client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-10"})
    assert r.status_code == 409 and "has not ended yet" in r.text


def test_a_later_period_says_which_must_be_committed_first(engine: Engine) -> None:
    from patronage.clock import FixedClock

    seed(engine)
    client = TestClient(app_for(engine, FixedClock(NOW + timedelta(days=40))))  # late November
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    page = client.get("/company/runs").text
    assert "Commit 2026-09" in page and "Commit 2026-10" not in page
    csrf = csrf_of(page)
    r = client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-10",
                                                  "confirm": "yes"})
    assert r.status_code == 409 and "commit 2026-09 first" in r.text


def test_compare_plans(staff: tuple[TestClient, str, World]) -> None:
    client, csrf, _ = staff
    plan_b = default_plan_path().read_text(encoding="utf-8")
    r = client.post("/company/runs/compare", data={"csrf_token": csrf, "period": "2026-09",
                                                   "plan_text": plan_b})
    assert r.status_code == 200 and "Total paid" in r.text
    bad = client.post("/company/runs/compare", data={"csrf_token": csrf, "period": "2026-09",
                                                     "plan_text": "name = ["})
    assert bad.status_code == 400 and "plan B" in bad.text


MEMBERS_OK = ("ref,kind,first_name,joined_at,owner_ref\n"
              "N1,distributor,Nia,2026-03-01T00:00:00Z,\n"
              "N2,retail,Noe,2026-03-02T00:00:00Z,N1\n")
MEMBERS_BAD = ("ref,kind,first_name,joined_at\n"
               "N1,wizard,Nia,2026-03-01T00:00:00Z\n"
               "N2,retail,,yesterday\n")


def _members(engine: Engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(Member)) or 0


def test_import_checks_first_then_writes(staff: tuple[TestClient, str, World],
                                         engine: Engine) -> None:
    client, csrf, _ = staff
    before = _members(engine)
    r = finished(client, client.post("/company/imports", data={"csrf_token": csrf,
                                                               "kind": "members"},
                                     files={"file": ("members.csv", MEMBERS_OK, "text/csv")}))
    assert r.status_code == 200 and "Checked: 2 row(s) of members" in r.text
    assert _members(engine) == before
    upload = r.text.split('name="upload" value="')[1].split('"')[0]
    r = finished(client, client.post("/company/imports", data={"csrf_token": csrf,
                                                               "kind": "members",
                                                               "upload": upload}))
    assert r.status_code == 200 and "Imported: 2 members" in r.text
    assert _members(engine) == before + 2
    gone = client.post("/company/imports", data={"csrf_token": csrf, "kind": "members",
                                                 "upload": upload})
    assert gone.status_code == 404
    assert client.post("/company/imports", data={"csrf_token": csrf, "kind": "members",
                                                 "upload": "../../etc/passwd"}
                       ).status_code == 400


def test_import_with_bad_rows_lists_every_problem(staff: tuple[TestClient, str, World],
                                                  engine: Engine) -> None:
    client, csrf, _ = staff
    before = _members(engine)
    r = finished(client, client.post("/company/imports", data={"csrf_token": csrf,
                                                               "kind": "members"},
                                     files={"file": ("members.csv", MEMBERS_BAD, "text/csv")}))
    assert "line 2, column (row)" in r.text and "wizard" in r.text
    assert "line 3, column first_name" in r.text
    assert "line 3, column joined_at" in r.text and "Nothing was written" in r.text
    assert "members.csv: nothing imported" in r.text  # named as uploaded, not where it is kept
    assert _members(engine) == before


def test_import_refuses_a_bad_email_and_a_join_date_ahead_of_the_clock(
        staff: tuple[TestClient, str, World], engine: Engine) -> None:
    client, csrf, _ = staff
    before = _members(engine)
    ahead = (NOW + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = ("ref,kind,first_name,joined_at,email\n"
            'N1,distributor,Nia,2026-03-01T00:00:00Z,"nia@example.com\r\nBcc: x@victim.example"\n'
            f"N2,distributor,Noe,{ahead},noe@example.com\n")
    r = finished(client, client.post("/company/imports", data={"csrf_token": csrf,
                                                               "kind": "members"},
                                     files={"file": ("members.csv", data, "text/csv")}))
    assert "line 3, column email" in r.text and "is not a valid email address" in r.text
    assert "line 4, column joined_at" in r.text and "is more than 1 day after now" in r.text
    assert _members(engine) == before


def test_care_autoship_and_audit_pages(staff: tuple[TestClient, str, World]) -> None:
    client, _, _ = staff
    care = client.get("/company/care").text
    assert "Rules" in care and "Holdout report" in care and "Lift" in care
    assert 'class="chart intervals"' in care and "All customers" in care and 'id="lift"' in care
    assert "Retention by start month" in client.get("/company/autoship").text
    log = client.get("/company/audit?action=login.ok").text
    assert "login.ok" in log and EMAILS["staff"] in log
