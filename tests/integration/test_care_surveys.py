"""Surveys answered through a signed link: follow-ups, testimonial invitations, idempotence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from patronage.care.links import InvalidLink, make_token
from patronage.care.surveys import answer_survey
from patronage.care.tasks import tasks_for
from patronage.config import Settings
from patronage.db.care import SurveyResponse, Touch
from patronage.db.engine import transaction
from patronage.errors import PatronageError
from tests.fixtures.care_data import customer, distributor, touch

NOW = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
SECRET = "survey-test-secret"
pytestmark = pytest.mark.storage


def _setup(engine: Engine) -> tuple[int, int, int, str]:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        invite = touch(s, sally, dana, channel="email", template="survey_invite",
                       due_at=NOW - timedelta(days=2))
    token = make_token("survey", sally, NOW - timedelta(days=2), touch_id=invite, secret=SECRET)
    return dana, sally, invite, token


def _touches(engine: Engine) -> list[tuple[str, int | None, str, str]]:
    with transaction(engine) as s:
        rows = s.scalars(select(Touch).where(Touch.rule_key != "survey_invite_email")
                         .order_by(Touch.id)).all()
        return [(t.rule_key, t.owner_id, t.channel, t.summary) for t in rows]


def test_low_serious_score_creates_tasks_for_owner_and_customer_service(engine: Engine) -> None:
    dana, sally, invite, token = _setup(engine)
    with transaction(engine) as s:
        outcome = answer_survey(s, token, 3, "  The delivery came broken twice. ", True, NOW,
                                secret=SECRET)
        assert outcome.first_answer and len(outcome.planned) == 2
    assert _touches(engine) == [
        ("survey_followup", dana, "task",
         "score 3/10: \u201cThe delivery came broken twice.\u201d; marked serious"),
        ("survey_service", None, "task",
         "company customer service: score 3/10: \u201cThe delivery came broken twice.\u201d"),
    ]
    with transaction(engine) as s:
        response = s.scalars(select(SurveyResponse)).one()
        assert (response.member_id, response.touch_id, response.score, response.serious) == (
            sally, invite, 3, True)
        carried = s.get(Touch, invite)
        assert carried is not None and carried.replied_at == NOW
        [mine] = tasks_for(s, dana, NOW, settings=Settings())
        assert mine.line.startswith("Call Sally Smith: survey answer needs a follow-up")
        [service] = tasks_for(s, None, NOW, settings=Settings())
        assert service.line.startswith("Company customer service: follow up with Sally Smith")


def test_low_score_not_serious_gives_only_the_owner_a_task(engine: Engine) -> None:
    dana, _, _, token = _setup(engine)
    with transaction(engine) as s:
        answer_survey(s, token, 6, "", False, NOW, secret=SECRET)
    assert _touches(engine) == [("survey_followup", dana, "task", "score 6/10")]


def test_high_score_invites_a_testimonial_and_middle_scores_plan_nothing(
        engine: Engine) -> None:
    dana, sally, _, token = _setup(engine)
    with transaction(engine) as s:
        answer_survey(s, token, 9, "Love it", False, NOW, secret=SECRET)
    assert _touches(engine) == [("testimonial_invite", dana, "email",
                                 "score 9/10: \u201cLove it\u201d")]
    other = make_token("survey", sally, NOW, secret=SECRET)
    with transaction(engine) as s:
        outcome = answer_survey(s, other, 7, "fine", False, NOW, secret=SECRET)
        assert outcome.first_answer and outcome.planned == []


def test_answering_twice_with_the_same_link_is_idempotent(engine: Engine) -> None:
    _, _, _, token = _setup(engine)
    with transaction(engine) as s:
        first = answer_survey(s, token, 2, "slow", True, NOW, secret=SECRET)
        first_id = first.response.id
    with transaction(engine) as s:
        again = answer_survey(s, token, 10, "changed my mind", False,
                              NOW + timedelta(hours=1), secret=SECRET)
        assert not again.first_answer and again.response.id == first_id
        assert again.response.score == 2 and again.planned == []
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 1
    assert len(_touches(engine)) == 2


def test_forged_expired_or_misused_links_and_bad_scores_are_refused(engine: Engine) -> None:
    _, sally, _, token = _setup(engine)
    with transaction(engine) as s:
        with pytest.raises(InvalidLink, match="survey link is not valid"):
            answer_survey(s, token[:-2] + "xx", 5, "", False, NOW, secret=SECRET)
        with pytest.raises(InvalidLink, match="survey link is not valid"):
            answer_survey(s, make_token("unsubscribe", sally, NOW, secret=SECRET), 5, "",
                          False, NOW, secret=SECRET)
        with pytest.raises(InvalidLink, match="expired on 2026-11-17"):
            answer_survey(s, token, 5, "", False, NOW + timedelta(days=40), secret=SECRET)
        with pytest.raises(PatronageError, match="score: 11 must be a whole number from 0"):
            answer_survey(s, token, 11, "", False, NOW, secret=SECRET)
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_account_page_links_give_one_open_survey_per_month(engine: Engine) -> None:
    """The account page makes a new link on every visit; answering three of them counts once."""
    _, sally, _, _ = _setup(engine)
    visits = [NOW - timedelta(days=5), NOW - timedelta(hours=3), NOW - timedelta(minutes=1)]
    tokens = [make_token("survey", sally, at, secret=SECRET) for at in visits]
    with transaction(engine) as s:
        outcomes = [answer_survey(s, t, 2, "late again", True, NOW, secret=SECRET)
                    for t in tokens]
    assert [o.first_answer for o in outcomes] == [True, False, False]
    assert [len(o.planned) for o in outcomes] == [2, 0, 0]
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 1
    next_month = make_token("survey", sally, datetime(2026, 11, 2, tzinfo=UTC), secret=SECRET)
    with transaction(engine) as s:
        later = answer_survey(s, next_month, 9, "", False, datetime(2026, 11, 2, 1, tzinfo=UTC),
                              secret=SECRET)
    assert later.first_answer
