"""Members: list (filters), read, enrol, move, upgrade, consent, erase. Scoped by role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.orm import Session

from patronage import audit
from patronage.access import (
    require_company,
    require_member,
    require_scope,
    visible_members_query,
)
from patronage.api.deps import CompanyZoneDep, NowDep, PrincipalDep, SessionDep, scope
from patronage.api.filters import equal, filtered, starts_with
from patronage.api.pagination import Page, PageParams, page_params, paginate
from patronage.api.schemas import ConsentIn, MemberIn, MemberOut, MoveIn, UpgradeIn
from patronage.api.types import Id, Text
from patronage.compensation.carry import place_on_enrollment
from patronage.db.tables import Member
from patronage.markets.markets import list_markets
from patronage.network import members as service
from patronage.network import privacy

router = APIRouter(prefix="/members", tags=["members"])


def member_out(session: Session) -> Callable[[Member], MemberOut]:
    """Members as the API shows them, each with its market's code (the markets read once)."""
    markets = list_markets(session)
    codes = {m.id: m.code for m in markets}
    default = next((m.code for m in markets if m.is_default), "")
    fields = [name for name in MemberOut.model_fields if name != "market"]

    def convert(member: Member) -> MemberOut:
        found = codes.get(member.market_id) if member.market_id is not None else None
        return MemberOut(market=found or default,
                         **{name: getattr(member, name) for name in fields})

    return convert
PageDep = Annotated[PageParams, Depends(page_params)]


@router.get("", dependencies=[scope("members:read")])
def list_members(
    request: Request, session: SessionDep, principal: PrincipalDep, page: PageDep,
    kind: Literal["retail", "preferred", "distributor"] | None = None,
    member_status: Annotated[Literal["active", "inactive", "terminated", "erased"] | None,
                             Query(alias="status")] = None,
    owner_id: Id | None = None,
    sponsor_id: Id | None = None,
    q: Annotated[Text | None, Query(max_length=100,
                                   description="Name, email or ref starts with.")] = None,
) -> Page[MemberOut]:
    """The members the caller may see, by id; filter by kind, status, owner, sponsor, name."""
    query = filtered(
        visible_members_query(principal), equal(Member.kind, kind),
        equal(Member.status, member_status), equal(Member.owner_id, owner_id),
        equal(Member.sponsor_id, sponsor_id),
        starts_with((Member.first_name, Member.last_name, Member.email, Member.ref), q))
    return paginate(session, request, query.order_by(Member.id), page, member_out(session))


@router.get("/{member_id}", dependencies=[scope("members:read")])
def get_member(member_id: Id, session: SessionDep, principal: PrincipalDep) -> MemberOut:
    return member_out(session)(require_member(session, principal, member_id))


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[scope("members:write")])
def enrol_member(body: MemberIn, session: SessionDep, principal: PrincipalDep,
                 now: NowDep, company_zone: CompanyZoneDep) -> MemberOut:
    """A new member; a distributor is also placed by the plan's rule when it pays a binary
    bonus."""
    require_company(principal, "enrolling members")
    data = body.model_dump()
    data["joined_at"] = body.joined_at or now
    data["consent_method"] = f"api ({principal.actor})"
    member = service.enroll_member(session, service.NewMember(**data), now=now)
    if member.kind == "distributor":
        place_on_enrollment(session, member.id, at=member.joined_at, actor=principal.actor,
                            company_zone=company_zone)
    return member_out(session)(member)


@router.post("/{member_id}/move", dependencies=[scope("members:write")])
def move_member(member_id: Id, body: MoveIn, session: SessionDep, principal: PrincipalDep,
                now: NowDep) -> MemberOut:
    """A distributor to another sponsor, or a customer to another owner (a dated change)."""
    require_company(principal, "moving members")
    member = require_member(session, principal, member_id)
    move = service.move_sponsor if member.kind == "distributor" else service.move_owner
    move(session, member_id, body.to, effective_at=body.effective_at or now, recorded_at=now,
         actor=principal.actor, reason=body.reason)
    return member_out(session)(member)


@router.post("/{member_id}/upgrade", dependencies=[scope("members:write")])
def upgrade_member(member_id: Id, body: UpgradeIn, session: SessionDep,
                   principal: PrincipalDep, now: NowDep) -> MemberOut:
    """A customer becomes a distributor (sponsored by their owner unless another is named)."""
    require_company(principal, "upgrading members")
    member = require_member(session, principal, member_id)
    service.upgrade_to_distributor(session, member_id, effective_at=body.effective_at or now,
                                   recorded_at=now, actor=principal.actor, reason=body.reason,
                                   sponsor_id=body.sponsor_id)
    return member_out(session)(member)


@router.get("/{member_id}/consents", dependencies=[scope("members:read")])
def get_consents(member_id: Id, session: SessionDep,
                 principal: PrincipalDep) -> dict[str, bool]:
    """The consent in force per channel."""
    require_member(session, principal, member_id)
    return service.consents_in_force(session, member_id)


@router.post("/{member_id}/consents", dependencies=[scope("members:read")])
def record_consent(member_id: Id, body: ConsentIn, session: SessionDep,
                   principal: PrincipalDep, now: NowDep) -> dict[str, bool]:
    """Give or withdraw consent on a channel: the company (``members:write``) or the member
    themselves."""
    require_member(session, principal, member_id)
    if principal.member_id != member_id:
        require_company(principal, "recording another member's consent")
        require_scope(principal, "members:write")
    service.record_consent(session, member_id, body.channel, body.granted, at=now,
                           method=f"{body.method} ({principal.actor})")
    audit.record(session, actor=principal.actor, action="consent.change",
                 target=f"member {member_id}",
                 detail=f"{body.channel}: {'granted' if body.granted else 'withdrawn'}", at=now)
    return service.consents_in_force(session, member_id)


@router.post("/{member_id}/erase", dependencies=[scope("members:write")])
def erase_member(member_id: Id, session: SessionDep, principal: PrincipalDep,
                 now: NowDep) -> MemberOut:
    """Erase the person's data on request; the ledger stays, the addresses become suppressions."""
    require_company(principal, "erasing members")
    member = require_member(session, principal, member_id)
    service.erase_member(session, member_id, at=now, actor=principal.actor)
    audit.record(session, actor=principal.actor, action="member.erase",
                 target=f"member {member_id}", detail="personal data erased on request", at=now)
    session.refresh(member)
    return member_out(session)(member)


@router.get("/{member_id}/export", dependencies=[scope("members:read")])
def export_member(member_id: Id, session: SessionDep, principal: PrincipalDep,
                  now: NowDep) -> dict[str, Any]:
    """Everything stored about the member as one JSON document (GDPR art. 15): for the company
    (notes included) and for the member themself (notes left out)."""
    require_member(session, principal, member_id)
    if principal.member_id != member_id:
        require_company(principal, "exporting another member's data")
    document = privacy.export_member_data(session, member_id, now,
                                          include_notes=principal.is_company)
    audit.record(session, actor=principal.actor, action="member.export",
                 target=f"member {member_id}",
                 detail="personal data exported" + (" (with notes)" if principal.is_company
                                                    else ""), at=now)
    return document
