"""Short surveys answered through a signed link, without login.

Two questions: "How can I better serve you?" (a comment) and a 0–10 score. What follows an
answer:

- a low score (6 or less) gives the owner distributor a follow-up task, due at once; when the
  member marks the problem *serious*, the company's customer service gets a task too (a task
  with no owner), because a serious problem is the company's to solve;
- a high score (9 or 10) plans an invitation to share a testimonial (an email, due at once);
- the survey touch that carried the link is marked replied.

The same link answered twice records one answer and plans nothing more: the second answer
returns the first. Links that carry no touch (the one on the customer's account page, made anew on
every visit) count as one survey per customer and month, so answering several of them is one
answer too. The planned touches are keyed by the link (the touch that carried it), so
even two answers racing each other cannot plan a follow-up twice: the touches' unique key
refuses the second, and its whole transaction rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.care.links import make_link, read_token
from patronage.clock import require_aware
from patronage.db.care import SurveyResponse, Touch
from patronage.db.tables import Member
from patronage.errors import N_, NotFound, PatronageError

LOW_SCORE = 6
HIGH_SCORE = 9
MAX_COMMENT = 4000
SURVEY_KEY = "serve_better"


@dataclass
class SurveyOutcome:
    """The recorded answer and the touches it planned (none when the link was used before)."""

    response: SurveyResponse
    first_answer: bool
    planned: list[Touch] = field(default_factory=list)


def survey_link(member_id: int, now: datetime, *, touch_id: int | None = None, base_url: str,
                secret: str) -> str:
    """The signed link to the survey page (``/s/{token}``)."""
    return make_link("survey", member_id, now, touch_id=touch_id, base_url=base_url,
                     secret=secret)


def _response_key(touch_id: int | None, issued_at: datetime) -> str:
    """One answer per survey touch; links without a touch (the customer's account page makes a
    new one on every visit) share one answer per calendar month (UTC) of issue."""
    if touch_id is not None:
        return f"touch:{touch_id}"
    return f"account:{issued_at.astimezone(UTC):%Y-%m}"


def _plan(session: Session, member: Member, now: datetime, *, rule_key: str, occasion_key: str,
          channel: str, template: str, owner_id: int | None, summary: str,
          priority: int) -> Touch:
    touch = Touch(
        member_id=member.id, owner_id=owner_id, rule_key=rule_key, occasion="survey_answer",
        occasion_key=occasion_key, channel=channel, template=template, priority=priority,
        status="planned", due_at=now, created_at=now, summary=summary[:2000],
    )
    session.add(touch)
    return touch


def answer_survey(session: Session, token: str, score: int, comment: str, serious: bool,
                  now: datetime, *, secret: str) -> SurveyOutcome:
    """Record an answer given through a survey link (see the module docstring)."""
    require_aware(now, place="now")
    link = read_token(token, "survey", now, secret=secret)
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise PatronageError(N_("score: %(score)r must be a whole number from 0 to 10"),
                             values={"score": score})
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise PatronageError(N_("comment: %(len)s characters; at most %(MAX_COMMENT)s"),
                             values={"len": len(comment), "MAX_COMMENT": MAX_COMMENT})
    member = session.get(Member, link.member_id)
    if member is None or member.status == "erased":
        raise NotFound(N_("this survey link is for a member who is no longer with us"), values={})
    key = _response_key(link.touch_id, link.issued_at)
    existing = session.scalar(
        select(SurveyResponse).where(SurveyResponse.member_id == member.id,
                                     SurveyResponse.survey_key == f"{SURVEY_KEY}/{key}")
    )
    if existing is not None:
        return SurveyOutcome(existing, first_answer=False)
    touch = session.get(Touch, link.touch_id) if link.touch_id is not None else None
    if touch is not None and touch.member_id != member.id:
        touch = None
    response = SurveyResponse(
        member_id=member.id, touch_id=touch.id if touch is not None else None,
        survey_key=f"{SURVEY_KEY}/{key}", score=score, comment=comment,
        serious=bool(serious), answered_at=now,
    )
    session.add(response)
    session.flush()
    if touch is not None and touch.replied_at is None:
        touch.replied_at = now
    outcome = SurveyOutcome(response, first_answer=True)
    said = f"score {score}/10" + (f": \u201c{comment[:300]}\u201d" if comment else "")
    owner_id = member.owner_id if member.owner_id is not None else member.sponsor_id
    if score <= LOW_SCORE:
        outcome.planned.append(_plan(
            session, member, now, rule_key="survey_followup", occasion_key=key,
            channel="task", template="survey_followup", owner_id=owner_id, priority=8,
            summary=said + ("; marked serious" if serious else ""),
        ))
        if serious:
            outcome.planned.append(_plan(
                session, member, now, rule_key="survey_service",
                occasion_key=key, channel="task",
                template="service_followup", owner_id=None, priority=9,
                summary=f"company customer service: {said}",
            ))
    elif score >= HIGH_SCORE:
        outcome.planned.append(_plan(
            session, member, now, rule_key="testimonial_invite",
            occasion_key=key, channel="email", template="testimonial_invite",
            owner_id=owner_id, priority=3, summary=said,
        ))
    session.flush()
    return outcome
