"""Care: the touches planned and made, notes, survey answers and testimonials, scoped like
members (a distributor sees those of the members they may see)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import Field
from sqlalchemy import select

from patronage.access import Forbidden, Principal, require_member, visible_member_ids
from patronage.api.deps import NowDep, PrincipalDep, SessionDep, scope
from patronage.api.filters import among, at_least, before, equal, filtered
from patronage.api.pagination import Page, PageParams, page_params, paginate
from patronage.api.schemas import Out
from patronage.api.types import Id, In, IsoDatetime
from patronage.db.care import MemberNote, SurveyResponse, Testimonial, Touch
from patronage.network import members

router = APIRouter(prefix="/care", tags=["care"])
PageDep = Annotated[PageParams, Depends(page_params)]


class TouchOut(Out):
    id: int
    member_id: int
    owner_id: int | None
    rule_key: str
    occasion: str
    occasion_key: str
    channel: str
    status: str
    due_at: datetime
    sent_at: datetime | None
    done_at: datetime | None
    done_by: str | None
    drop_reason: str | None
    summary: str


class NoteOut(Out):
    id: int
    member_id: int
    author: str
    body: str
    at: datetime


class NoteIn(In):
    body: str = Field(min_length=1, max_length=5000)


class SurveyOut(Out):
    id: int
    member_id: int
    survey_key: str
    score: int | None
    comment: str
    serious: bool
    answered_at: datetime


class TestimonialOut(Out):
    id: int
    member_id: int
    text: str
    media_url: str | None
    consent_to_publish: bool
    discloses_connection: bool
    status: str
    submitted_at: datetime
    published_at: datetime | None


def _note_keeper(principal: Principal) -> None:
    if principal.kind == "customer":
        raise Forbidden("notes about members are kept by their distributor and the company")


@router.get("/touches", dependencies=[scope("care:read")])
def touches(
    request: Request, session: SessionDep, principal: PrincipalDep, page: PageDep,
    member_id: Id | None = None, owner_id: Id | None = None,
    touch_status: Annotated[
        Literal["planned", "sent", "done", "dropped", "failed", "cancelled", "expired"] | None,
        Query(alias="status")] = None,
    channel: Literal["email", "card", "task", "sms"] | None = None,
    due_from: IsoDatetime | None = None, due_to: IsoDatetime | None = None,
) -> Page[TouchOut]:
    """Touches of members the caller may see, by due time (a customer: the messages sent to them,
    without tasks and internal wording)."""
    query = filtered(
        select(Touch), among(Touch.member_id, visible_member_ids(principal)),
        equal(Touch.member_id, member_id), equal(Touch.owner_id, owner_id),
        equal(Touch.status, touch_status), equal(Touch.channel, channel),
        at_least(Touch.due_at, due_from), before(Touch.due_at, due_to))
    if principal.kind == "customer":
        query = query.where(Touch.channel != "task")
        return paginate(session, request, query.order_by(Touch.due_at, Touch.id), page,
                        _as_the_customer_sees_it)
    return paginate(session, request, query.order_by(Touch.due_at, Touch.id), page,
                    TouchOut.model_validate)


def _as_the_customer_sees_it(touch: Touch) -> TouchOut:
    """A touch as its customer sees it: what reached them, without the summary and the reasons
    written for their distributor and the company (tasks are left out altogether)."""
    out = TouchOut.model_validate(touch)
    wording = f"{touch.occasion.replace('_', ' ')} ({touch.channel})"
    return out.model_copy(update={"summary": wording, "drop_reason": None, "done_by": None})


@router.get("/members/{member_id}/notes", dependencies=[scope("care:read")])
def notes(request: Request, member_id: Id, session: SessionDep, principal: PrincipalDep,
          page: PageDep) -> Page[NoteOut]:
    """The notes kept about a member by their distributor and the company."""
    _note_keeper(principal)
    require_member(session, principal, member_id)
    query = select(MemberNote).where(MemberNote.member_id == member_id)
    return paginate(session, request, query.order_by(MemberNote.at.desc(), MemberNote.id.desc()),
                    page, NoteOut.model_validate)


@router.post("/members/{member_id}/notes", status_code=status.HTTP_201_CREATED,
             dependencies=[scope("care:write")])
def add_note(member_id: Id, body: NoteIn, session: SessionDep, principal: PrincipalDep,
             now: NowDep) -> NoteOut:
    """Keep a note about a member (a call, a preference)."""
    _note_keeper(principal)
    require_member(session, principal, member_id)
    note = members.add_note(session, member_id, body.body, author=principal.actor, now=now)
    return NoteOut.model_validate(note)


@router.get("/surveys", dependencies=[scope("care:read")])
def surveys(request: Request, session: SessionDep, principal: PrincipalDep, page: PageDep,
            member_id: Id | None = None, serious: bool | None = None) -> Page[SurveyOut]:
    """Survey answers, newest first."""
    query = filtered(
        select(SurveyResponse), among(SurveyResponse.member_id, visible_member_ids(principal)),
        equal(SurveyResponse.member_id, member_id), equal(SurveyResponse.serious, serious))
    return paginate(session, request, query.order_by(SurveyResponse.answered_at.desc(),
                                                     SurveyResponse.id.desc()),
                    page, SurveyOut.model_validate)


@router.get("/testimonials", dependencies=[scope("care:read")])
def testimonials(
    request: Request, session: SessionDep, principal: PrincipalDep, page: PageDep,
    member_id: Id | None = None,
    testimonial_status: Annotated[
        Literal["submitted", "approved", "rejected", "published", "withdrawn"] | None,
        Query(alias="status")] = None,
) -> Page[TestimonialOut]:
    query = filtered(
        select(Testimonial), among(Testimonial.member_id, visible_member_ids(principal)),
        equal(Testimonial.member_id, member_id), equal(Testimonial.status, testimonial_status))
    return paginate(session, request, query.order_by(Testimonial.submitted_at.desc(),
                                                     Testimonial.id.desc()),
                    page, TestimonialOut.model_validate)
