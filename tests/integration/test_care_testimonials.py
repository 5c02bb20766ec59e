"""Testimonials: submission, moderation, publication with consent, withdrawal, disclosure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from patronage.care import testimonials as t
from patronage.care.links import make_token
from patronage.db.engine import transaction
from patronage.errors import Conflict, PatronageError
from tests.fixtures.care_data import customer, distributor

NOW = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
pytestmark = pytest.mark.storage


def test_a_distributors_testimonial_discloses_the_connection(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        mine = t.submit(s, dana, "These shakes changed my mornings.", consent_to_publish=True,
                        now=NOW, media_url="https://video.example.org/v/123")
        hers = t.submit(s, sally, "Lovely tea.", consent_to_publish=True, now=NOW)
        assert (mine.discloses_connection, hers.discloses_connection) == (True, False)
        assert (mine.status, mine.media_url) == ("submitted", "https://video.example.org/v/123")


def test_only_approved_and_consented_testimonials_are_published(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        ok = t.submit(s, sally, "Great service", consent_to_publish=True, now=NOW).id
        private = t.submit(s, sally, "Just for Dana", consent_to_publish=False, now=NOW).id
        rejected = t.submit(s, sally, "meh", consent_to_publish=True, now=NOW).id
        with pytest.raises(Conflict, match="is submitted; only an approved"):
            t.publish(s, ok, now=NOW)
        t.moderate(s, ok, approve=True, by="Mia (staff)", now=NOW)
        t.moderate(s, private, approve=True, by="Mia (staff)", now=NOW)
        row = t.moderate(s, rejected, approve=False, by="Mia (staff)",
                         now=NOW + timedelta(minutes=1))
        assert (row.status, row.moderated_by, row.moderated_at) == (
            "rejected", "Mia (staff)", NOW + timedelta(minutes=1))
        published = t.publish(s, ok, now=NOW + timedelta(hours=1))
        assert (published.status, published.published_at) == ("published",
                                                               NOW + timedelta(hours=1))
        with pytest.raises(Conflict, match="did not consent to publication"):
            t.publish(s, private, now=NOW)
        with pytest.raises(Conflict, match="is rejected; only an approved"):
            t.publish(s, rejected, now=NOW)
        assert [x.id for x in t.published(s)] == [ok]
        with pytest.raises(Conflict, match="can no longer be moderated"):
            t.moderate(s, ok, approve=False, by="Mia", now=NOW)


def test_withdrawal_unpublishes_and_withdraws_consent(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        tid = t.submit(s, sally, "Great", consent_to_publish=True, now=NOW).id
        t.moderate(s, tid, approve=True, by="Mia", now=NOW)
        t.publish(s, tid, now=NOW)
        row = t.withdraw(s, tid, now=NOW + timedelta(days=3))
        assert (row.status, row.consent_to_publish) == ("withdrawn", False)
        assert t.published(s) == []
        with pytest.raises(Conflict):
            t.publish(s, tid, now=NOW + timedelta(days=4))


@pytest.mark.parametrize(("url", "reason"), [
    ("javascript:alert(1)", "must start with http:// or https://"),
    ("ftp://files.example.org/a.mp4", "must start with http:// or https://"),
    ("https://localhost", "is not a web address"),
    ("https://exa mple.org/x", "is not a web address"),
])
def test_bad_media_links_and_empty_text_are_refused(engine: Engine, url: str,
                                                    reason: str) -> None:
    with transaction(engine) as s:
        sally = customer(s, distributor(s))
        with pytest.raises(PatronageError, match=reason):
            t.submit(s, sally, "Nice", consent_to_publish=True, now=NOW, media_url=url)
        with pytest.raises(PatronageError, match="needs a few words"):
            t.submit(s, sally, "   ", consent_to_publish=True, now=NOW)


def test_submit_through_a_signed_testimonial_link(engine: Engine) -> None:
    with transaction(engine) as s:
        sally = customer(s, distributor(s))
    token = make_token("testimonial", sally, NOW, secret="k")
    with transaction(engine) as s:
        row = t.submit_from_link(s, token, "From the link", consent_to_publish=True,
                                 now=NOW + timedelta(days=1), secret="k")
        assert row.member_id == sally and [x.id for x in t.waiting_for_moderation(s)] == [row.id]
