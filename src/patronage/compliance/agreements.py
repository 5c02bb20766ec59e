"""The distributor agreement and policies, in versions: the company publishes a version; every
distributor accepts the newest one, at enrollment (the shop's checkout) and again at their next
sign-in after a new version is published. An acceptance records the version, the time, the
address and the browser (``agreement_acceptances``, the one record the shop writes too).

Before the company publishes a version here, the version named in the settings
(``PATRONAGE_AGREEMENT_VERSION``) is the current one, with no text stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patronage.clock import require_aware
from patronage.db.compliance import AgreementVersion
from patronage.db.shop import AgreementAcceptance
from patronage.db.tables import Member
from patronage.errors import Conflict, NotFound, PatronageError


def publish_version(session: Session, version: str, title: str, body: str, *,
                    now: datetime) -> AgreementVersion:
    """Publish a version (the same version again with the same text changes nothing; with
    another text it is refused: a published version never changes)."""
    require_aware(now, place="now")
    version, title, body = version.strip(), title.strip(), body.strip()
    if not version or len(version) > 32:
        raise PatronageError("version: 1 to 32 characters")
    if not title or len(title) > 200:
        raise PatronageError("title: 1 to 200 characters")
    if not body:
        raise PatronageError("body: the agreement's text")
    found = session.get(AgreementVersion, version)
    if found is not None:
        if (found.title, found.body) != (title, body):
            raise Conflict(f"version {version} was published on {found.published_at:%Y-%m-%d} "
                           "with another text; publish a new version instead")
        return found
    latest = current(session)
    if latest is not None and latest.published_at > now:
        raise PatronageError(f"now: before version {latest.version} was published")
    row = AgreementVersion(version=version, title=title, body=body, published_at=now)
    session.add(row)
    session.flush()
    return row


def current(session: Session) -> AgreementVersion | None:
    """The newest published version (``None`` before the first)."""
    return session.scalar(select(AgreementVersion).order_by(
        AgreementVersion.published_at.desc(), AgreementVersion.version.desc()).limit(1))


def current_version(session: Session, default: str) -> str:
    """The version a member accepts now: the newest published, else ``default`` (the
    settings')."""
    found = session.scalar(select(AgreementVersion.version).order_by(
        AgreementVersion.published_at.desc(), AgreementVersion.version.desc()).limit(1))
    return found if found is not None else default


def accepted(session: Session, member_id: int, version: str) -> bool:
    return session.scalar(select(AgreementAcceptance.id).where(
        AgreementAcceptance.member_id == member_id,
        AgreementAcceptance.version == version).limit(1)) is not None


def needs_acceptance(session: Session, member_id: int, default: str) -> str | None:
    """The version a distributor still has to accept (``None``: they have, or are not a
    distributor, or nothing is published yet)."""
    found = current(session)
    member = session.get(Member, member_id)
    if found is None or member is None or member.kind != "distributor":
        return None
    return None if accepted(session, member_id, found.version) else found.version


def accept(session: Session, member_id: int, version: str, *, now: datetime, ip: str,
           user_agent: str) -> AgreementAcceptance:
    """Record that a distributor accepted ``version`` (accepting it again changes nothing)."""
    require_aware(now, place="now")
    if session.get(AgreementVersion, version) is None:
        raise NotFound(f"agreement version {version!r} has not been published")
    member = session.get(Member, member_id)
    if member is None or member.kind != "distributor":
        raise PatronageError(f"member {member_id}: only a distributor accepts the agreement")
    prior = session.scalar(select(AgreementAcceptance).where(
        AgreementAcceptance.member_id == member_id, AgreementAcceptance.version == version))
    if prior is not None:
        return prior
    row = AgreementAcceptance(member_id=member_id, version=version, accepted_at=now,
                              ip=ip[:64], user_agent=user_agent[:500])
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class VersionCount:
    version: str
    title: str
    published_at: datetime | None
    accepted: int


@dataclass(frozen=True)
class AgreementSummary:
    current: str
    distributors: int  # active and inactive
    accepted_current: int
    versions: list[VersionCount]

    @property
    def pending(self) -> int:
        return self.distributors - self.accepted_current


def agreement_summary(session: Session, default: str) -> AgreementSummary:
    """Who accepted which version: distributors (not terminated or erased) per version, newest
    first; versions only accepted (before any was published here) come last."""
    serving = select(Member.id).where(Member.kind == "distributor",
                                      Member.status.in_(("active", "inactive")))
    counts = dict(session.execute(
        select(AgreementAcceptance.version,
               func.count(func.distinct(AgreementAcceptance.member_id)))
        .where(AgreementAcceptance.member_id.in_(serving))
        .group_by(AgreementAcceptance.version)).all())
    published = session.scalars(select(AgreementVersion).order_by(
        AgreementVersion.published_at.desc(), AgreementVersion.version.desc())).all()
    rows = [VersionCount(v.version, v.title, v.published_at, int(counts.pop(v.version, 0)))
            for v in published]
    rows += [VersionCount(v, "", None, int(n)) for v, n in sorted(counts.items())]
    now_version = current_version(session, default)
    distributors = int(session.scalar(select(func.count()).select_from(serving.subquery()))
                       or 0)
    mine = next((r.accepted for r in rows if r.version == now_version), 0)
    return AgreementSummary(now_version, distributors, mine, rows)
