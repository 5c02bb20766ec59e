"""My playbook: the care rules a distributor follows for the people they serve; adopt one a
leader shared in a tap, turn its rules on or off (their copy), share their own with their
team, take or leave a leader's update; word the playbook's own emails, cards and tasks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.bounds import Id
from patronage.care import playbook_templates as pt
from patronage.care import playbooks as pb
from patronage.care.core.rules import Rules, load_rules
from patronage.compliance.claims import company_claims
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.languages import N_
from patronage.web.deps import Csrf, Distributor, PageError, engine_of, now_of, page_errors
from patronage.web.templating import render

router = APIRouter()


def _company() -> Rules:
    return load_rules()


def _context(session: Session, member_id: int, company: Rules) -> dict[str, Any]:
    mine = pb.adopted(session, member_id)
    rules = pb.decode(company, mine) if mine else company.rules
    offered = [b for b in pb.offered(session, member_id) if not mine or (
        b.id != mine.based_on_id and b.id != mine.id)]
    authors = {b.author_id for b in offered if b.author_id}
    names = dict(session.execute(select(Member.id, Member.first_name + " " + Member.last_name)
                                 .where(Member.id.in_(authors))).all()) if authors else {}
    update = pb.update_offered(session, member_id)
    own = {(t.occasion, t.channel): t for t in pt.templates_of(session, mine.id)} if mine else {}
    wordable = list(dict.fromkeys((r.occasion, r.channel) for r in rules
                                  if r.enabled and r.channel in pt.TEMPLATE_CHANNELS))
    return {"mine": mine, "rules": rules, "offered": offered, "own": own, "wordable": wordable,
            "errors": {}, "typed": {},
            "authors": {k: str(v).strip() for k, v in names.items()},
            "update": update, "source": session.get(type(mine), mine.based_on_id)
            if mine and mine.based_on_id else None}


@router.get("/playbook", response_class=HTMLResponse)
def playbook(request: Request, me: Distributor, done: str = "") -> Response:
    assert me.member_id is not None
    with transaction(engine_of(request)) as session:
        context = _context(session, me.member_id, _company())
    return render(request, "playbook.html", me, title=N_("My playbook"), done=done, **context)


def _back(done: str) -> Response:
    return RedirectResponse(f"/playbook?done={done}", status_code=303)


@router.post("/playbook/adopt", dependencies=[Csrf])
def adopt(request: Request, me: Distributor, playbook_id: Annotated[Id, Form()]) -> Response:
    """Adopt a playbook a leader (or the company) shared: the distributor gets their copy."""
    assert me.member_id is not None
    with transaction(engine_of(request)) as session, page_errors():
        pb.adopt(session, me.member_id, playbook_id, now_of(request))
    return _back("adopted")


@router.post("/playbook/save", dependencies=[Csrf])
def save(request: Request, me: Distributor, name: Annotated[str, Form()] = "",
         rule: Annotated[list[str] | None, Form()] = None) -> Response:
    """Turn rules on or off: in the distributor's own playbook (made from the company's rules
    the first time), which they then follow."""
    assert me.member_id is not None
    company, on = _company(), set(rule or [])
    now = now_of(request)
    with transaction(engine_of(request)) as session, page_errors():
        mine = pb.adopted(session, me.member_id)
        rules = pb.decode(company, mine) if mine else company.rules
        tweaked = [r.model_copy(update={"enabled": r.key in on}) for r in rules]
        if mine is None:
            member = session.get(Member, me.member_id)
            assert member is not None
            book = pb.write_playbook(session, company, me.member_id,
                                     name or f"{member.first_name}'s playbook", tweaked, now)
            pb.adopt(session, me.member_id, book.id, now)
        else:
            pb.write_playbook(session, company, me.member_id, name or mine.name, tweaked, now,
                              playbook_id=mine.id)
    return _back("saved")


@router.post("/playbook/share", dependencies=[Csrf])
def share(request: Request, me: Distributor, shared: Annotated[bool, Form()] = True
          ) -> Response:
    """Share the playbook the distributor follows (their own) with their team, or stop."""
    assert me.member_id is not None
    with transaction(engine_of(request)) as session, page_errors():
        mine = pb.adopted(session, me.member_id)
        if mine is None:
            raise PageError(400, "save your playbook before sharing it")
        pb.share(session, me.member_id, mine.id, shared)
    return _back("shared" if shared else "unshared")


@router.post("/playbook/update", dependencies=[Csrf])
def update(request: Request, me: Distributor, take: Annotated[bool, Form()]) -> Response:
    """Take a leader's update of the playbook one's copy came from, or keep one's own."""
    assert me.member_id is not None
    with transaction(engine_of(request)) as session, page_errors():
        pb.answer_update(session, me.member_id, take, now_of(request))
    return _back("updated" if take else "kept")


@router.post("/playbook/template", dependencies=[Csrf])
def template(request: Request, me: Distributor, occasion: Annotated[str, Form(max_length=40)],
             channel: Annotated[str, Form(max_length=10)],
             body: Annotated[str, Form(max_length=pt.BODY_MAX * 2)] = "",
             title: Annotated[str, Form(max_length=pt.TITLE_MAX * 2)] = "") -> Response:
    """Word the playbook's email, card or task for an occasion: its own template, checked like
    the company's and against the company's forbidden phrases; a refusal is shown next to the
    field, and nothing is written."""
    assert me.member_id is not None
    now = now_of(request)
    with transaction(engine_of(request)) as session, page_errors():
        mine = pb.adopted(session, me.member_id)
        if mine is None:
            raise PageError(400, "save your playbook before wording it")
        try:
            pt.set_template(session, me.member_id, mine.id, occasion, channel, title, body,
                            now, claims=company_claims(session))
        except pt.WordingRefused as exc:
            # nothing was written: the page again, the reasons next to the fields
            context = _context(session, me.member_id, _company())
            fields: dict[str, list[str]] = {}
            for p in exc.problems:
                fields.setdefault(p.place.split(",")[0], []).append(
                    f"{p.place}: {p.reason}" if "," in p.place else p.reason)
            context["errors"] = {(occasion, channel): fields}
            context["typed"] = {(occasion, channel): {"title": title, "body": body}}
            return render(request, "playbook.html", me, title=N_("My playbook"), done="",
                          status=422, **context)
    return RedirectResponse(f"/playbook?done=worded#wording-{occasion}-{channel}",
                            status_code=303)


@router.post("/playbook/template/remove", dependencies=[Csrf])
def template_remove(request: Request, me: Distributor,
                    occasion: Annotated[str, Form(max_length=40)],
                    channel: Annotated[str, Form(max_length=10)]) -> Response:
    """Go back to the company's wording for an occasion."""
    assert me.member_id is not None
    with transaction(engine_of(request)) as session, page_errors():
        mine = pb.adopted(session, me.member_id)
        if mine is None:
            raise PageError(400, "save your playbook before wording it")
        pt.remove_template(session, me.member_id, mine.id, occasion, channel, now_of(request))
    return _back("unworded")


@router.post("/playbook/leave", dependencies=[Csrf])
def leave(request: Request, me: Distributor) -> Response:
    """Follow the company's rules again."""
    assert me.member_id is not None
    with transaction(engine_of(request)) as session:
        pb.leave(session, me.member_id)
    return _back("left")


