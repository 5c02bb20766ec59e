"""The company's forbidden claims: the built-in income and health phrases
(:mod:`patronage.compliance.core.claims`) and the phrases the company adds, checked in care
templates when they are loaded and in testimonials before one is approved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.clock import require_aware
from patronage.compliance.core.claims import BUILT_IN, Claim, check_phrase, claim_problems
from patronage.db.care import Testimonial
from patronage.db.compliance import ForbiddenClaim
from patronage.errors import PatronageError, Problem


def company_claims(session: Session) -> list[Claim]:
    """The built-in phrases, then the company's own in the order of their phrase."""
    own = session.scalars(select(ForbiddenClaim).order_by(ForbiddenClaim.phrase))
    return [*BUILT_IN, *(Claim(c.phrase, c.kind, c.reason) for c in own)]


def add_claim(session: Session, phrase: str, kind: str, reason: str, *,
              now: datetime) -> ForbiddenClaim:
    """Forbid a phrase (the same phrase again changes its kind and reason)."""
    require_aware(now, place="now")
    try:
        claim = check_phrase(phrase, kind, reason)
    except ValueError as exc:
        raise PatronageError(str(exc)) from exc
    row = session.get(ForbiddenClaim, claim.phrase)
    if row is None:
        row = ForbiddenClaim(phrase=claim.phrase, kind=claim.kind, reason=claim.reason,
                             added_at=now)
        session.add(row)
    else:
        row.kind, row.reason = claim.kind, claim.reason
    session.flush()
    return row


def remove_claim(session: Session, phrase: str) -> bool:
    row = session.get(ForbiddenClaim, " ".join(phrase.split()).lower())
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def testimonial_problems(session: Session, testimonial: Testimonial,
                         claims: list[Claim] | None = None) -> list[Problem]:
    return claim_problems(f"testimonial {testimonial.id}", testimonial.text,
                          claims if claims is not None else company_claims(session))


@dataclass(frozen=True)
class FlaggedTestimonial:
    id: int
    member_id: int
    status: str
    problems: list[Problem]


def flagged_testimonials(session: Session) -> list[FlaggedTestimonial]:
    """Testimonials waiting, approved or published that make a forbidden claim."""
    claims = company_claims(session)
    rows = session.scalars(select(Testimonial).where(
        Testimonial.status.in_(("submitted", "approved", "published")))
        .order_by(Testimonial.id))
    out = []
    for t in rows:
        found = testimonial_problems(session, t, claims)
        if found:
            out.append(FlaggedTestimonial(t.id, t.member_id, t.status, found))
    return out
