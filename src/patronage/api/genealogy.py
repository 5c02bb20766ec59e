"""The sponsor tree around a member: upline (sponsors above) and downline (below), each to a
depth limit. A distributor sees the upline only as far as themselves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Select, literal, select

from patronage.access import can_see_member, require_member
from patronage.api.deps import PrincipalDep, SessionDep, scope
from patronage.api.pagination import Page, PageParams, next_link, page_params
from patronage.api.schemas import TreeMemberOut
from patronage.api.types import Id
from patronage.db.tables import Member

router = APIRouter(prefix="/members", tags=["genealogy"])
PageDep = Annotated[PageParams, Depends(page_params)]
MAX_DEPTH = 50
DepthQuery = Annotated[int, Query(ge=1, le=MAX_DEPTH, description="Levels to go.")]

_COLUMNS = (Member.id, Member.kind, Member.status, Member.first_name, Member.last_name,
            Member.sponsor_id, Member.owner_id)


def _tree_row(row: Any) -> TreeMemberOut:
    return TreeMemberOut(id=row.id, kind=row.kind, status=row.status, first_name=row.first_name,
                         last_name=row.last_name, sponsor_id=row.sponsor_id,
                         owner_id=row.owner_id, level=row.level)


@router.get("/{member_id}/upline", dependencies=[scope("members:read")])
def upline(member_id: Id, session: SessionDep, principal: PrincipalDep,
           depth: DepthQuery = 10) -> list[TreeMemberOut]:
    """The sponsors above the member (a customer's chain starts at their owner), nearest
    first, up to ``depth`` levels."""
    member = require_member(session, principal, member_id)
    out: list[TreeMemberOut] = []
    current = member.sponsor_id if member.kind == "distributor" else member.owner_id
    seen = {member_id}
    while current is not None and len(out) < depth and current not in seen:
        if not can_see_member(session, principal, current):
            break
        seen.add(current)
        row = session.execute(select(*_COLUMNS, literal(len(out) + 1).label("level"))
                              .where(Member.id == current)).one()
        out.append(_tree_row(row))
        current = row.sponsor_id
    return out


def _downline(member_id: int, depth: int) -> Select[Any]:
    tree = select(*_COLUMNS, literal(0).label("level")).where(Member.id == member_id).cte(
        recursive=True)
    below = select(*_COLUMNS, (tree.c.level + 1).label("level")).where(
        Member.sponsor_id == tree.c.id, tree.c.level < depth)
    tree = tree.union_all(below)
    return select(tree).where(tree.c.level > 0).order_by(tree.c.level, tree.c.id)


@router.get("/{member_id}/downline", dependencies=[scope("members:read")])
def downline(request: Request, member_id: Id, session: SessionDep, principal: PrincipalDep,
             page: PageDep, depth: DepthQuery = 3) -> Page[TreeMemberOut]:
    """The distributors below the member in the sponsor tree, level by level, to ``depth``
    levels (level 1 is the front line)."""
    require_member(session, principal, member_id)
    rows = session.execute(_downline(member_id, depth).limit(page.limit + 1)
                           .offset(page.offset)).all()
    return Page[TreeMemberOut](items=[_tree_row(r) for r in rows[: page.limit]],
                               limit=page.limit, offset=page.offset,
                               next=next_link(request, page, len(rows) > page.limit))
