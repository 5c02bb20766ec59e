"""Testimonials: a member's story, published only with their consent and after moderation.

A testimonial is text with an optional image or video link (http or https). It moves
``submitted`` → ``approved`` or ``rejected`` (by whom, when) → ``published``; the author may
withdraw it at any time, which also withdraws the consent to publish. Only an approved
testimonial with consent is published. A testimonial from a distributor carries
``discloses_connection`` (16 CFR 465: an insider's endorsement must disclose the connection).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.care.links import read_token
from patronage.clock import require_aware
from patronage.compliance.claims import testimonial_problems
from patronage.db.care import Testimonial
from patronage.db.tables import Member
from patronage.errors import N_, Conflict, NotFound, PatronageError, Problems

MAX_TEXT = 5000
MAX_URL = 500


def check_media_url(url: str | None) -> str | None:
    """A cleaned http(s) link to an image or video, or ``None``; refused with the reason."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    if len(url) > MAX_URL:
        raise PatronageError(N_("media link: longer than %(MAX_URL)s characters"),
                             values={"MAX_URL": MAX_URL})
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise PatronageError(N_("media link: %(url)r must start with http:// or https://"),
                             values={"url": url})
    if not parts.hostname or "." not in parts.hostname or any(c.isspace() for c in url):
        raise PatronageError(N_("media link: %(url)r is not a web address"), values={"url": url})
    return url


def submit(session: Session, member_id: int, text: str, *, consent_to_publish: bool,
           now: datetime, media_url: str | None = None) -> Testimonial:
    """Record a member's testimonial, waiting for moderation."""
    require_aware(now, place="now")
    member = session.get(Member, member_id)
    if member is None or member.status == "erased":
        raise NotFound(N_("member %(member_id)s does not exist"), values={"member_id": member_id})
    body = (text or "").strip()
    if not body:
        raise PatronageError(N_("text: a testimonial needs a few words"), values={})
    if len(body) > MAX_TEXT:
        raise PatronageError(N_("text: %(len)s characters; at most %(MAX_TEXT)s"),
                             values={"len": len(body), "MAX_TEXT": MAX_TEXT})
    row = Testimonial(
        member_id=member_id, text=body, media_url=check_media_url(media_url),
        consent_to_publish=bool(consent_to_publish),
        discloses_connection=member.kind == "distributor", status="submitted",
        submitted_at=now,
    )
    session.add(row)
    session.flush()
    return row


def submit_from_link(session: Session, token: str, text: str, *, consent_to_publish: bool,
                     now: datetime, media_url: str | None = None,
                     secret: str) -> Testimonial:
    """Submit through a signed testimonial link (``/t/{token}``), without login."""
    link = read_token(token, "testimonial", now, secret=secret)
    return submit(session, link.member_id, text, consent_to_publish=consent_to_publish,
                  now=now, media_url=media_url)


def _get(session: Session, testimonial_id: int) -> Testimonial:
    row = session.get(Testimonial, testimonial_id)
    if row is None:
        raise NotFound(N_("testimonial %(testimonial_id)s does not exist"),
                       values={"testimonial_id": testimonial_id})
    return row


class ClaimsRefused(Problems):
    """A text that makes an income or health claim the company forbids."""

    code = "forbidden_claim"


def moderate(session: Session, testimonial_id: int, *, approve: bool, by: str,
             now: datetime) -> Testimonial:
    """Approve or reject a submitted testimonial (repeating the same decision changes nothing)."""
    require_aware(now, place="now")
    if not by.strip():
        raise PatronageError(N_("by: say who moderates"), values={})
    row = _get(session, testimonial_id)
    decision = "approved" if approve else "rejected"
    if row.status == decision:
        return row
    if row.status not in ("submitted", "approved", "rejected"):
        raise Conflict(N_("testimonial %(testimonial_id)s is %(status)s; it can no longer be "
                          "moderated"),
                       values={"testimonial_id": testimonial_id, "status": row.status})
    if approve:
        claims = testimonial_problems(session, row)
        if claims:
            raise ClaimsRefused(f"testimonial {testimonial_id} makes a forbidden claim; it "
                                "cannot be approved", claims)
    row.status, row.moderated_by, row.moderated_at = decision, by.strip()[:100], now
    session.flush()
    return row


def publish(session: Session, testimonial_id: int, *, now: datetime) -> Testimonial:
    """Publish an approved testimonial whose author consented to publication."""
    require_aware(now, place="now")
    row = _get(session, testimonial_id)
    if row.status == "published":
        return row
    if row.status != "approved":
        raise Conflict(N_("testimonial %(testimonial_id)s is %(status)s; only an approved "
                          "testimonial is published"),
                       values={"testimonial_id": testimonial_id, "status": row.status})
    if not row.consent_to_publish:
        raise Conflict(N_("testimonial %(testimonial_id)s: the author did not consent to "
                          "publication"),
                       values={"testimonial_id": testimonial_id})
    row.status, row.published_at = "published", now
    session.flush()
    return row


def withdraw(session: Session, testimonial_id: int, *, now: datetime) -> Testimonial:
    """The author takes the testimonial back: unpublished, consent withdrawn."""
    require_aware(now, place="now")
    row = _get(session, testimonial_id)
    row.status, row.consent_to_publish = "withdrawn", False
    session.flush()
    return row


def published(session: Session) -> list[Testimonial]:
    """The testimonials on show, newest first."""
    return list(session.scalars(
        select(Testimonial).where(Testimonial.status == "published",
                                  Testimonial.consent_to_publish.is_(True))
        .order_by(Testimonial.published_at.desc(), Testimonial.id.desc())
    ))


def waiting_for_moderation(session: Session) -> list[Testimonial]:
    return list(session.scalars(
        select(Testimonial).where(Testimonial.status == "submitted")
        .order_by(Testimonial.submitted_at, Testimonial.id)
    ))
