"""Share links: each member's personal code for ``/join/<code>``, the QR code of the link, and
what a code means for attribution (:mod:`patronage.shop.core.attribution`).

A code is 10 characters from an alphabet without look-alikes (``0/O``, ``1/l/I``): about 50
bits from :mod:`secrets`, so codes cannot be guessed or enumerated; it is made once per member
and never changes. The house account (ref :data:`HOUSE_REF`) is the distributor a sign-up
falls back to when there is no usable link; it is made on first need.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import segno
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patronage.clock import require_aware
from patronage.db.shop import ShareCode, ShareLinkSide
from patronage.db.tables import Member
from patronage.errors import N_, NotFound, PatronageError
from patronage.facts import SIDE_CODES
from patronage.network.members import NewMember, enroll_member
from patronage.network.placement import SIDE_NAMES
from patronage.shop.core.attribution import Credit, LinkHolder, credit_for

ALPHABET = "23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 10
#: The member ref of the company's house account.
HOUSE_REF = "house"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def looks_like_code(text: str) -> bool:
    return len(text) == CODE_LENGTH and all(c in ALPHABET for c in text)


def share_code(session: Session, member_id: int, *, now: datetime) -> str:
    """The member's share code, made on first use (a distributor or a customer)."""
    found = session.scalar(select(ShareCode.code).where(ShareCode.member_id == member_id))
    if found is not None:
        return found
    member = session.get(Member, member_id)
    if member is None or member.status == "erased":
        raise NotFound(N_("member %(member_id)s does not exist"), values={"member_id": member_id})
    for _ in range(5):
        code = new_code()
        try:
            with session.begin_nested():
                session.add(ShareCode(member_id=member_id, code=code,
                                      created_at=require_aware(now)))
                session.flush()
        except IntegrityError:
            found = session.scalar(select(ShareCode.code).where(
                ShareCode.member_id == member_id))
            if found is not None:  # made meanwhile by another request
                return found
            continue
        return code
    raise RuntimeError("could not make a unique share code")  # pragma: no cover


def set_link_side(session: Session, member_id: int, side: str | None, *,
                  now: datetime) -> None:
    """The side of the placement tree (``left``, ``right``) that distributors joining through
    ``member_id``'s share link are placed on (spillover on that side); ``None``: the plan's
    placement rule again."""
    member = session.get(Member, member_id)
    if member is None or member.status == "erased":
        raise NotFound(N_("member %(member_id)s does not exist"), values={"member_id": member_id})
    if member.kind != "distributor":
        raise PatronageError(f"member {member_id}: only a distributor's link places "
                             "distributors")
    if side is not None and side not in SIDE_CODES:
        raise PatronageError(f"side: give left or right (or none), not {side!r}")
    found = session.get(ShareLinkSide, member_id)
    if side is None:
        if found is not None:
            session.delete(found)
    elif found is None:
        session.add(ShareLinkSide(member_id=member_id, side=SIDE_CODES[side],
                                  set_at=require_aware(now)))
    else:
        found.side, found.set_at = SIDE_CODES[side], require_aware(now)
    session.flush()


def link_side(session: Session, member_id: int) -> str | None:
    """The side ``member_id``'s share link places distributors on (None: the plan's rule)."""
    side = session.scalar(select(ShareLinkSide.side).where(ShareLinkSide.member_id == member_id))
    return None if side is None else SIDE_NAMES[int(side)]


def share_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/join/{code}"


def qr_svg(url: str) -> str:
    """The QR code of ``url`` as an inline SVG element (no XML declaration), scalable."""
    svg: str = segno.make(url, error="m").svg_inline(scale=4, omitsize=True,
                                                     title="QR code", dark="#1d2320")
    return svg


def holder_of(session: Session, code: str) -> LinkHolder | None:
    """The member a code belongs to, or ``None`` when no member has it."""
    if not looks_like_code(code):
        return None
    row = session.execute(select(Member.id, Member.kind, Member.status, Member.owner_id)
                          .join(ShareCode, ShareCode.member_id == Member.id)
                          .where(ShareCode.code == code)).first()
    if row is None:
        return None
    owner_status = None
    if row.owner_id is not None:
        owner_status = session.scalar(select(Member.status).where(Member.id == row.owner_id))
    return LinkHolder(row.id, row.kind, row.status, row.owner_id, owner_status)


def holder_first_name(session: Session, code: str) -> str | None:
    """The first name of the member a code belongs to (one query), or ``None`` when no member
    has it."""
    if not looks_like_code(code):
        return None
    return session.scalar(select(Member.first_name).join(
        ShareCode, ShareCode.member_id == Member.id).where(ShareCode.code == code))


def house_account(session: Session, *, now: datetime, company: str = "House") -> int:
    """The house account's member id, made (a distributor without sponsor) if missing."""
    found = session.scalar(select(Member.id).where(Member.ref == HOUSE_REF))
    if found is not None:
        return found
    try:
        with session.begin_nested():
            member = enroll_member(session, NewMember(
                kind="distributor", first_name=company, last_name="(house account)",
                joined_at=require_aware(now), ref=HOUSE_REF, channel="house"), now=now)
            return member.id
    except IntegrityError:
        again = session.scalar(select(Member.id).where(Member.ref == HOUSE_REF))
        assert again is not None
        return again


def credit_of(session: Session, code: str | None, *, now: datetime,
              company: str = "House") -> Credit:
    """Who a sign-up through ``code`` is credited to (see
    :func:`patronage.shop.core.attribution.credit_for`)."""
    holder = holder_of(session, code) if code else None
    if holder is not None and holder.status not in ("terminated", "erased") and (
            holder.kind == "distributor" or holder.owner_status not in ("terminated", "erased")):
        return credit_for(holder, house_id=0)
    return credit_for(holder, house_account(session, now=now, company=company))
