"""Care actions: a distributor's tasks and marking them done, testimonials (submit, moderate,
publish, withdraw), the care rules in force and the holdout report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from patronage import audit
from patronage.access import Principal, require_company, require_member, require_record
from patronage.api.care import TestimonialOut
from patronage.api.deps import EngineDep, NowDep, PrincipalDep, SessionDep, SettingsDep, scope
from patronage.api.types import Id, In, StrictBool, length_of
from patronage.care import tasks, testimonials
from patronage.care.core.rules import load_rules
from patronage.care.holdout import holdout_report
from patronage.db.care import Testimonial, Touch
from patronage.errors import NotFound

router = APIRouter(prefix="/care", tags=["care"])


class TaskOut(BaseModel):
    touch_id: int
    member_id: int
    member_name: str
    owner_id: int | None
    occasion: str
    due_at: datetime
    priority: int
    status: str
    line: str
    overdue: bool


class TestimonialIn(In):
    member_id: Id
    text: str = Field(min_length=1, max_length=testimonials.MAX_TEXT)
    consent_to_publish: StrictBool
    media_url: str | None = Field(default=None, max_length=length_of(Testimonial.media_url))


class ModerationIn(In):
    approve: StrictBool


def _owner_for(principal: Principal, owner_id: int | None) -> int | None:
    """Whose tasks: a distributor's own; the company names one (none: customer service)."""
    if principal.kind == "distributor":
        if owner_id is not None and owner_id != principal.member_id:
            raise NotFound(f"member {owner_id} does not exist")
        return principal.member_id
    require_company(principal, "another distributor's tasks")
    return owner_id


@router.get("/tasks", dependencies=[scope("care:read")])
def open_tasks(session: SessionDep, principal: PrincipalDep, now: NowDep, settings: SettingsDep,
               owner_id: Id | None = None,
               days: Annotated[int, Query(ge=0, le=60)] = 7) -> list[TaskOut]:
    """Open tasks due within ``days`` (overdue first). Without ``owner_id`` the company sees
    customer service's tasks."""
    owner = _owner_for(principal, owner_id)
    return [TaskOut(touch_id=t.touch_id, member_id=t.member_id, member_name=t.member_name,
                    owner_id=t.owner_id, occasion=t.occasion, due_at=t.due_at,
                    priority=t.priority, status=t.status, line=t.line, overdue=t.overdue)
            for t in tasks.tasks_for(session, owner, now, days=days, settings=settings)]


@router.post("/tasks/{touch_id}/done", dependencies=[scope("care:write")])
def task_done(touch_id: Id, session: SessionDep, principal: PrincipalDep,
              now: NowDep) -> dict[str, Any]:
    """Mark a task made (again: no change). A distributor marks only their own tasks; tasks are
    internal, so to a customer (even the one the task is about) none exists."""
    touch = session.get(Touch, touch_id)
    if touch is None or principal.kind == "customer" or (
            principal.kind == "distributor" and touch.owner_id != principal.member_id):
        raise NotFound(f"task {touch_id} does not exist")
    require_member(session, principal, touch.member_id)
    by: int | str = principal.member_id if principal.kind == "distributor" and \
        principal.member_id is not None else principal.actor
    done = tasks.mark_done(session, touch_id, by=by, now=now)
    audit.record(session, actor=principal.actor, action="care.task_done",
                 target=f"touch {touch_id}", detail=f"member {done.member_id}", at=now)
    return {"touch_id": done.id, "status": done.status, "done_at": done.done_at,
            "done_by": done.done_by}


def _testimonial(session: Session, principal: Principal, testimonial_id: int) -> Testimonial:
    return require_record(session, principal, Testimonial, testimonial_id, "testimonial")


@router.post("/testimonials", status_code=status.HTTP_201_CREATED,
             dependencies=[scope("care:write")])
def submit_testimonial(body: TestimonialIn, session: SessionDep, principal: PrincipalDep,
                       now: NowDep) -> TestimonialOut:
    """A member's own story (or the company recording one for them), waiting for moderation."""
    require_member(session, principal, body.member_id)
    if not principal.is_company and principal.member_id != body.member_id:
        raise NotFound(f"member {body.member_id} does not exist")
    row = testimonials.submit(session, body.member_id, body.text,
                              consent_to_publish=body.consent_to_publish, now=now,
                              media_url=body.media_url)
    return TestimonialOut.model_validate(row)


@router.post("/testimonials/{testimonial_id}/moderate", dependencies=[scope("care:write")])
def moderate_testimonial(testimonial_id: Id, body: ModerationIn, session: SessionDep,
                         principal: PrincipalDep, now: NowDep) -> TestimonialOut:
    require_company(principal, "moderating testimonials")
    _testimonial(session, principal, testimonial_id)
    return TestimonialOut.model_validate(testimonials.moderate(
        session, testimonial_id, approve=body.approve, by=principal.actor, now=now))


@router.post("/testimonials/{testimonial_id}/publish", dependencies=[scope("care:write")])
def publish_testimonial(testimonial_id: Id, session: SessionDep, principal: PrincipalDep,
                        now: NowDep) -> TestimonialOut:
    """Publish an approved testimonial whose author consented (409 otherwise)."""
    require_company(principal, "publishing testimonials")
    _testimonial(session, principal, testimonial_id)
    return TestimonialOut.model_validate(testimonials.publish(session, testimonial_id, now=now))


@router.post("/testimonials/{testimonial_id}/withdraw", dependencies=[scope("care:write")])
def withdraw_testimonial(testimonial_id: Id, session: SessionDep, principal: PrincipalDep,
                         now: NowDep) -> TestimonialOut:
    """The author (or the company on their behalf) takes it back; consent is withdrawn too."""
    row = _testimonial(session, principal, testimonial_id)
    if not principal.is_company and principal.member_id != row.member_id:
        raise NotFound(f"testimonial {testimonial_id} does not exist")
    return TestimonialOut.model_validate(testimonials.withdraw(session, testimonial_id,
                                                               now=now))


@router.get("/rules", dependencies=[scope("care:read")])
def rules(principal: PrincipalDep) -> dict[str, Any]:
    """The care rules in force: settings, holidays and each rule."""
    require_company(principal, "the care rules")
    loaded = load_rules()
    return {"settings": loaded.settings.model_dump(mode="json"),
            "holidays": sorted(loaded.holidays),
            "rules": [r.model_dump(mode="json") for r in loaded.rules]}


@router.get("/holdout", dependencies=[scope("care:read")])
def holdout(engine: EngineDep, principal: PrincipalDep, now: NowDep,
            window_days: Annotated[int, Query(ge=7, le=730)] = 90) -> dict[str, object]:
    """Does appreciation keep customers? Retention of the treated against the holdout."""
    require_company(principal, "the holdout report")
    return holdout_report(engine, now, window_days=window_days).as_dict()
