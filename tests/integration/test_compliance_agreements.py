"""Agreement versions, on both databases: the company publishes a version; a distributor is
asked at their next sign-in and accepts it (version, time, address, browser kept in the one
acceptance record the shop writes too); staff see who accepted which version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage.clock import FixedClock
from patronage.compliance.agreements import (
    accept,
    agreement_summary,
    current_version,
    needs_acceptance,
    publish_version,
)
from patronage.db.engine import transaction
from patronage.db.shop import AgreementAcceptance
from patronage.errors import Conflict, NotFound
from patronage.web.accounts import create_account
from tests.e2e.world import PASSWORD, app_for, csrf_of, sign_in
from tests.factories import distributor

pytestmark = pytest.mark.storage

NOW = datetime(2026, 11, 5, 9, tzinfo=UTC)
TEXT = "You are paid on what your customers buy.\n\nYou may return what you bought."


def test_versions_are_published_once_and_accepted_once(engine: Engine) -> None:
    with transaction(engine) as s:
        ann = distributor(s, "Ann")
        assert current_version(s, "2026-1") == "2026-1"
        assert needs_acceptance(s, ann, "2026-1") is None  # nothing published here yet
        s.add(AgreementAcceptance(member_id=ann, version="2026-1", accepted_at=NOW,
                                  ip="10.0.0.1", user_agent="shop"))
        publish_version(s, "2027-1", "Agreement 2027", TEXT, now=NOW)
        publish_version(s, "2027-1", "Agreement 2027", TEXT, now=NOW)  # the same: nothing
        with pytest.raises(Conflict, match="publish a new version instead"):
            publish_version(s, "2027-1", "Agreement 2027", TEXT + " Changed.", now=NOW)
        assert current_version(s, "2026-1") == "2027-1"
        assert needs_acceptance(s, ann, "2026-1") == "2027-1"
        with pytest.raises(NotFound, match="'2099' has not been published"):
            accept(s, ann, "2099", now=NOW, ip="1.2.3.4", user_agent="ua")
        first = accept(s, ann, "2027-1", now=NOW, ip="1.2.3.4", user_agent="ua")
        assert accept(s, ann, "2027-1", now=NOW + timedelta(days=1), ip="x",
                      user_agent="y").id == first.id
        assert needs_acceptance(s, ann, "2026-1") is None
        summary = agreement_summary(s, "2026-1")
        assert (summary.current, summary.distributors, summary.accepted_current,
                summary.pending) == ("2027-1", 1, 1, 0)
        assert [(v.version, v.accepted) for v in summary.versions] == [("2027-1", 1),
                                                                       ("2026-1", 1)]


def test_a_new_version_is_asked_for_at_sign_in(engine: Engine) -> None:
    with transaction(engine) as s:
        ann = distributor(s, "Ann")
        distributor(s, "Bob")
        create_account(s, email="ann@example.com", password=PASSWORD, role="distributor",
                       member_id=ann, now=NOW)
        create_account(s, email="staff@example.com", password=PASSWORD, role="staff",
                       member_id=None, now=NOW)
        publish_version(s, "2027-1", "Agreement 2027", TEXT, now=NOW)
    app = app_for(engine, FixedClock(NOW))
    with TestClient(app) as browser:
        signed = sign_in(browser, "ann@example.com")
        assert signed.headers["location"] == "/agreement?next=/today"
        page = browser.get("/agreement?next=/today")
        assert "Agreement 2027" in page.text and "You may return what you bought." in page.text
        assert "I have read and accept version 2027-1" in page.text
        done = browser.post("/agreement", data={"csrf_token": csrf_of(page.text),
                                                "version": "2027-1", "next": "/today"},
                            headers={"user-agent": "PhoneBrowser/1"}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/today"
    with transaction(engine) as s:
        row = s.scalars(select(AgreementAcceptance).where(AgreementAcceptance.member_id == ann))
        kept = [(r.version, r.accepted_at, r.user_agent) for r in row]
    assert kept == [("2027-1", NOW, "PhoneBrowser/1")]
    with TestClient(app) as browser:
        assert sign_in(browser, "ann@example.com").headers["location"] == "/today"
        assert "I have read and accept" not in browser.get("/agreement").text
    with TestClient(app) as staff:
        sign_in(staff, "staff@example.com")
        from tests.integration.test_compliance_loading import _loading_company

        _loading_company(engine)
        page = staff.get("/company/compliance").text
        assert "Version 2027-1 is current: 1 of 5 distributors accepted it; 4 will be asked" \
            in page
