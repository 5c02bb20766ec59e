"""Members: enrol, move in the tree, upgrade, deactivate, erase. Each a verb in one transaction.

Integrity rules (each refused with a clear message, nothing written):
- a distributor's sponsor must be an existing distributor, and no sponsor cycles;
- a customer (retail or preferred) must have an owner, who is a distributor;
- a referrer must be an existing member;
- birthdays must be real calendar days (February 29 allowed), time zones IANA names;
- an email address must be one valid address (stored normalised), join dates and birth years
  within sane bounds (:mod:`patronage.network.intake`);
- members with history are deactivated, never deleted; erasure is separate and explicit.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import pycountry
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from patronage.autoship.subscriptions import cancel_for_erasure
from patronage.clock import require_aware, zone
from patronage.config import get_settings
from patronage.db.accounts import Account, PasswordReset, WebSessionRecord
from patronage.db.care import Contact, MemberNote, SurveyResponse, Testimonial, Touch
from patronage.db.markets import Market
from patronage.db.payout_methods import PayoutMethod
from patronage.db.tables import (
    CONSENT_CHANNELS,
    MEMBER_KINDS,
    Consent,
    GenealogyChange,
    Member,
    Order,
    Suppression,
)
from patronage.db.value import CustomerValue
from patronage.errors import Conflict, IntegrityViolation, NotFound, PatronageError
from patronage.markets.core.contacts import check_address, normalise_phone
from patronage.markets.markets import default_market, market_by_code
from patronage.network.intake import check_birth_year, check_joined_at, normalise_email


@dataclass
class NewMember:
    """What is needed to enrol someone: ``sponsor_id`` for a distributor, ``owner_id`` for a
    customer."""

    kind: str
    first_name: str
    joined_at: datetime
    last_name: str = ""
    email: str | None = None
    phone: str | None = None
    sponsor_id: int | None = None
    owner_id: int | None = None
    referrer_id: int | None = None
    timezone: str = "UTC"
    locale: str = "en-US"
    birth_month: int | None = None
    birth_day: int | None = None
    birth_year: int | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    channel: str | None = None
    ref: str | None = None
    #: The market's code (``None``: the default market).
    market: str | None = None
    consents: dict[str, bool] = field(default_factory=dict)
    consent_method: str = "enrolment form"


def market_country(code: str) -> str | None:
    """The country of a market's code (``None`` for a group such as EU)."""
    return code if pycountry.countries.get(alpha_2=code) is not None else None


def member_country(session: Session, member: Member) -> str | None:
    """The country a member's phone and address are read in: their own, else their market's."""
    if member.country:
        return member.country
    market = (default_market(session) if member.market_id is None
              else session.get(Market, member.market_id))
    return market_country(market.code) if market is not None else None


def viewer_country(session: Session, member_id: int | None) -> str | None:
    """The country of whoever looks at a page: a member's (:func:`member_country`); staff
    without a member: the default market's."""
    if member_id is None:
        return market_country(default_market(session).code)
    member = session.get(Member, member_id)
    return None if member is None else member_country(session, member)


def _country_code(code: str | None) -> str | None:
    """An ISO 3166 alpha-2 code upper-cased; refused when it is not one (``None`` stays)."""
    if code is None or not code.strip():
        return None
    if pycountry.countries.get(alpha_2=code.strip().upper()) is None:
        raise PatronageError(f"country: {code!r} is not a two-letter ISO 3166 country code "
                             "(like US, CA, GB, MX)")
    return code.strip().upper()


def get_member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"member {member_id} does not exist")
    return member


def require_not_erased(member: Member, action: str) -> Member:
    """Refuse ``action`` on an erased record: it takes no new personal data and no moves."""
    if member.status == "erased":
        raise Conflict(f"{action}: member {member.id} is erased")
    return member


def check_birthday(month: int | None, day: int | None, year: int | None, place: str) -> None:
    if month is None and day is None:
        if year is not None:
            raise PatronageError(f"{place}: a birth year without month and day")
        return
    if month is None or day is None:
        raise PatronageError(f"{place}: give both birth month and birth day")
    try:
        date(year if year is not None else 2000, month, day)  # 2000 is a leap year
    except ValueError as exc:
        raise PatronageError(f"{place}: {month}-{day} is not a calendar day ({exc})") from exc


def _require_distributor(session: Session, member_id: int, role: str) -> Member:
    other = session.get(Member, member_id)
    if other is None:
        raise IntegrityViolation(f"{role} {member_id} does not exist")
    if other.kind != "distributor":
        raise IntegrityViolation(
            f"{role} {member_id} is a {other.kind} customer; "
            f"{'an' if role[0] in 'aeiou' else 'a'} {role} must be a distributor"
        )
    if other.status in ("terminated", "erased"):
        raise IntegrityViolation(f"{role} {member_id} is {other.status}")
    return other


def enroll_member(session: Session, new: NewMember, *, now: datetime | None = None,
                  in_market: Market | None = None) -> Member:
    """Add a member after checking every integrity rule; adds consent records given.

    ``now`` bounds the join date and the birth year from above (without it, only the earliest
    bounds are checked: for loading history). ``in_market``: the market the member buys in,
    already read (they are placed in it, the default market too); else ``new.market``'s, else
    the default market (not recorded on the member)."""
    require_aware(new.joined_at, place="joined_at")
    check_joined_at(new.joined_at, now)
    check_birth_year(new.birth_year, now)
    email = normalise_email(new.email)
    if new.kind not in MEMBER_KINDS:
        raise PatronageError(f"kind: {new.kind!r} is not one of {', '.join(MEMBER_KINDS)}")
    if not new.first_name.strip():
        raise PatronageError("first_name: must not be empty")
    zone(new.timezone, place="timezone")
    check_birthday(new.birth_month, new.birth_day, new.birth_year, "birthday")
    if new.kind == "distributor":
        if new.owner_id is not None:
            raise IntegrityViolation("a distributor has a sponsor, not an owner")
        if new.sponsor_id is not None:
            _require_distributor(session, new.sponsor_id, "sponsor")
    else:
        if new.sponsor_id is not None:
            raise IntegrityViolation("a customer has an owner, not a sponsor")
        if new.owner_id is None:
            raise IntegrityViolation("a customer must have an owner (the distributor serving them)")
        _require_distributor(session, new.owner_id, "owner")
    if new.referrer_id is not None and session.get(Member, new.referrer_id) is None:
        raise IntegrityViolation(f"referrer {new.referrer_id} does not exist")
    if new.ref is not None and session.scalar(select(Member.id).where(Member.ref == new.ref)):
        raise IntegrityViolation(f"ref {new.ref!r} is already taken by another member")
    market = in_market if in_market is not None else (
        default_market(session) if new.market is None else market_by_code(session, new.market))
    country = _country_code(new.country)
    place = country or market_country(market.code)
    phone = normalise_phone(new.phone, place)
    region, postal = check_address(place, new.region, new.postal_code)
    member = Member(
        ref=new.ref, kind=new.kind, status="active", first_name=new.first_name.strip(),
        last_name=new.last_name.strip(), email=email, phone=phone,
        sponsor_id=new.sponsor_id, owner_id=new.owner_id, referrer_id=new.referrer_id,
        timezone=new.timezone, locale=new.locale, birth_month=new.birth_month,
        birth_day=new.birth_day, birth_year=new.birth_year, joined_at=new.joined_at,
        address_line1=new.address_line1, address_line2=new.address_line2, city=new.city,
        region=region, postal_code=postal, country=country, channel=new.channel,
        market_id=market.id if in_market is not None or not market.is_default else None,
    )
    session.add(member)
    session.flush()
    for channel, granted in new.consents.items():
        record_consent(session, member.id, channel, granted, at=new.joined_at,
                       method=new.consent_method)
    return member


_METHOD_LENGTH: int = Consent.__table__.c.method.type.length  # type: ignore[attr-defined]
_REASON_LENGTH: int = Suppression.__table__.c.reason.type.length  # type: ignore[attr-defined]


def record_consent(
    session: Session, member_id: int, channel: str, granted: bool, *, at: datetime, method: str
) -> Consent:
    """Append a consent given or withdrawn. Withdrawing email or SMS also suppresses the address.

    ``method`` says how the consent was given (with who recorded it); it is a label, kept to its
    first 64 characters."""
    if channel not in CONSENT_CHANNELS:
        raise PatronageError(f"channel: {channel!r} is not one of {', '.join(CONSENT_CHANNELS)}")
    member = require_not_erased(get_member(session, member_id), f"consent ({channel})")
    method = method[:_METHOD_LENGTH]
    consent = Consent(member_id=member_id, channel=channel, granted=granted,
                      at=require_aware(at), method=method)
    session.add(consent)
    if not granted:
        address = member.email if channel == "email" else member.phone
        if channel in ("email", "sms", "phone") and address:
            suppress(session, channel, address, reason=f"withdrawn: {method}"[:_REASON_LENGTH],
                     at=at)
    session.flush()
    return consent


def consents_in_force(session: Session, member_id: int) -> dict[str, bool]:
    """The latest consent per channel (channels never asked are absent)."""
    rows = session.execute(
        select(Consent.channel, Consent.granted)
        .where(Consent.member_id == member_id)
        .order_by(Consent.at, Consent.id)
    ).all()
    return {channel: granted for channel, granted in rows}


def suppression_key() -> bytes:
    """The one place the suppression key is read: ``PATRONAGE_SUPPRESSION_KEY``, else the
    secret key (see :meth:`patronage.config.Settings.suppression_secret`)."""
    return get_settings().suppression_secret()


def _canonical(address: str) -> bytes:
    return address.strip().lower().encode()


def address_hash(address: str, key: bytes | None = None) -> str:
    """The keyed digest kept for a suppressed address: HMAC-SHA256 with the suppression key, so
    a stolen table cannot be reversed by hashing every phone number or a list of emails."""
    secret = suppression_key() if key is None else key
    return hmac.digest(secret, _canonical(address), "sha256").hex()


def address_hasher(key: bytes | None = None) -> Callable[[str], str]:
    """:func:`address_hash` for many addresses under one key: the key's HMAC state is made
    once and copied per address (half the work of hashing each one from the key; the one-shot
    ``hmac.digest`` starts from the key each time and takes longer). The state copied is
    OpenSSL's own where :mod:`hmac` keeps one (its wrapper adds a Python call or two per use)."""
    keyed = hmac.new(suppression_key() if key is None else key, digestmod=hashlib.sha256)
    start = (getattr(keyed, "_hmac", None) or keyed).copy

    def digest(address: str) -> str:
        state = start()
        state.update(address.strip().lower().encode())  # _canonical(address)
        return str(state.hexdigest())

    return digest


def legacy_address_hash(address: str) -> str:
    """The unkeyed SHA-256 digest older versions stored; such rows are still honoured."""
    return hashlib.sha256(_canonical(address)).hexdigest()


def address_digests(address: str, key: bytes | None = None) -> tuple[str, str]:
    """Every digest an existing suppression of ``address`` may carry: keyed, then legacy."""
    return address_hash(address, key), legacy_address_hash(address)


def suppress(session: Session, channel: str, address: str, *, reason: str, at: datetime,
             key: bytes | None = None) -> None:
    if is_suppressed(session, channel, address, key=key):
        return
    session.add(Suppression(channel=channel, address_hash=address_hash(address, key),
                            reason=reason, at=at))


def is_suppressed(session: Session, channel: str, address: str | None, *,
                  key: bytes | None = None) -> bool:
    """Whether the address is suppressed on the channel (a keyed or a legacy unkeyed row)."""
    if not address:
        return False
    return (
        session.scalar(
            select(Suppression.id).where(
                Suppression.channel == channel,
                Suppression.address_hash.in_(address_digests(address, key)),
            ).limit(1)
        )
        is not None
    )


def _ancestors(session: Session, member_id: int) -> list[int]:
    chain: list[int] = []
    current: int | None = member_id
    seen: set[int] = set()
    while current is not None and current not in seen:
        seen.add(current)
        chain.append(current)
        current = session.scalar(select(Member.sponsor_id).where(Member.id == current))
    return chain


def _record_change(
    session: Session, member: Member, field_name: str, old: object, new: object,
    *, effective_at: datetime, recorded_at: datetime, actor: str, reason: str,
) -> None:
    if not reason.strip():
        raise PatronageError("reason: a genealogy change needs a reason")
    session.add(GenealogyChange(
        member_id=member.id, field=field_name,
        old_value=None if old is None else str(old), new_value=None if new is None else str(new),
        effective_at=require_aware(effective_at, place="effective_at"),
        recorded_at=require_aware(recorded_at, place="recorded_at"), actor=actor, reason=reason,
    ))


def move_sponsor(
    session: Session, member_id: int, new_sponsor_id: int, *, effective_at: datetime,
    recorded_at: datetime, actor: str, reason: str,
) -> None:
    """Place a distributor under another sponsor; refuses cycles."""
    member = require_not_erased(get_member(session, member_id), "move sponsor")
    if member.kind != "distributor":
        raise IntegrityViolation(f"member {member_id} is a customer: move their owner instead")
    _require_distributor(session, new_sponsor_id, "sponsor")
    if member_id in _ancestors(session, new_sponsor_id):
        raise IntegrityViolation(
            f"moving {member_id} under {new_sponsor_id} would make a cycle: "
            f"{new_sponsor_id} is in {member_id}'s downline"
        )
    _record_change(session, member, "sponsor", member.sponsor_id, new_sponsor_id,
                   effective_at=effective_at, recorded_at=recorded_at, actor=actor, reason=reason)
    member.sponsor_id = new_sponsor_id
    session.flush()


def move_owner(
    session: Session, member_id: int, new_owner_id: int, *, effective_at: datetime,
    recorded_at: datetime, actor: str, reason: str,
) -> None:
    """Hand a customer to another distributor."""
    member = require_not_erased(get_member(session, member_id), "move owner")
    if member.kind == "distributor":
        raise IntegrityViolation(f"member {member_id} is a distributor: move their sponsor instead")
    _require_distributor(session, new_owner_id, "owner")
    _record_change(session, member, "owner", member.owner_id, new_owner_id,
                   effective_at=effective_at, recorded_at=recorded_at, actor=actor, reason=reason)
    member.owner_id = new_owner_id
    _values_follow_owner(session, member_id, new_owner_id)
    session.flush()


def _values_follow_owner(session: Session, member_id: int, owner_id: int | None) -> None:
    """The member's customer values are listed under their owner (``customer_values.owner_id``
    follows ``members.owner_id``), so the new owner's lists and sums hold them at once."""
    session.execute(update(CustomerValue).where(CustomerValue.member_id == member_id)
                    .values(owner_id=owner_id))


def upgrade_to_distributor(
    session: Session, member_id: int, *, effective_at: datetime, recorded_at: datetime,
    actor: str, reason: str, sponsor_id: int | None = None,
) -> None:
    """A customer becomes a distributor; their sponsor is their owner unless another is named."""
    member = require_not_erased(get_member(session, member_id), "upgrade")
    if member.kind == "distributor":
        raise IntegrityViolation(f"member {member_id} is already a distributor")
    new_sponsor = sponsor_id if sponsor_id is not None else member.owner_id
    if new_sponsor is not None:
        _require_distributor(session, new_sponsor, "sponsor")
    _record_change(session, member, "kind", member.kind, "distributor",
                   effective_at=effective_at, recorded_at=recorded_at, actor=actor, reason=reason)
    _record_change(session, member, "owner", member.owner_id, None,
                   effective_at=effective_at, recorded_at=recorded_at, actor=actor, reason=reason)
    _record_change(session, member, "sponsor", None, new_sponsor,
                   effective_at=effective_at, recorded_at=recorded_at, actor=actor, reason=reason)
    member.kind = "distributor"
    member.owner_id = None
    member.sponsor_id = new_sponsor
    _values_follow_owner(session, member_id, None)
    session.flush()


def has_history(session: Session, member_id: int) -> bool:
    orders = session.scalar(select(func.count()).where(Order.buyer_id == member_id)) or 0
    downline = session.scalar(
        select(func.count()).where(
            (Member.sponsor_id == member_id) | (Member.owner_id == member_id)
        )
    ) or 0
    return orders > 0 or downline > 0


def deactivate(session: Session, member_id: int, *, at: datetime) -> None:
    """Members are never deleted: they become inactive, their history intact."""
    member = get_member(session, member_id)
    member.status = "inactive"
    member.deactivated_at = require_aware(at)
    session.flush()


MAX_NOTE = 5000


def add_note(session: Session, member_id: int, body: str, *, author: str,
             now: datetime) -> MemberNote:
    """Keep a note about a member (a call, a preference); refused for an erased member."""
    require_not_erased(get_member(session, member_id), "note")
    text = (body or "").strip()
    if not text:
        raise PatronageError("note: write something first")
    if len(text) > MAX_NOTE:
        raise PatronageError(f"note: at most {MAX_NOTE} characters ({len(text)} given)")
    note = MemberNote(member_id=member_id, author=author[:100], body=text,
                      at=require_aware(now, place="now"))
    session.add(note)
    session.flush()
    return note


def erase_member(session: Session, member_id: int, *, at: datetime, actor: str) -> None:
    """Erase a person's personal data on request, all in the caller's transaction.

    The ledger (orders, refunds, genealogy, autoship events) stays, pointing at an anonymous
    record; the email and phone are kept only as keyed suppression hashes so that no channel
    ever contacts them again. Everything else personal ends: open autoships are cancelled
    (event by ``erasure``), sign-in accounts are disabled (their email replaced) and their web
    sessions and password-reset links ended, notes about the member are deleted, testimonial
    text is blanked and the testimonial withdrawn, touch summaries and survey comments are
    blanked and planned touches dropped (reason ``erased``), and distributors' address-book
    entries linked to the member lose their personal fields, and the payout method is deleted.
    Safe to repeat.
    """
    member = get_member(session, member_id)
    if member.status == "erased":
        return
    at = require_aware(at)
    for channel, address in (("email", member.email), ("sms", member.phone),
                             ("phone", member.phone)):
        if address:
            suppress(session, channel, address, reason=f"erased by {actor}"[:64], at=at)
    cancel_for_erasure(session, member_id, now=at)
    _close_accounts(session, member_id, at)
    session.execute(delete(MemberNote).where(MemberNote.member_id == member_id))
    # The account paid into goes; the tax id stays (tax records are kept for the years the
    # law asks), encrypted and readable only by tax id readers.
    session.execute(delete(PayoutMethod).where(PayoutMethod.member_id == member_id))
    session.execute(update(Testimonial).where(Testimonial.member_id == member_id).values(
        text="", media_url=None, status="withdrawn", published_at=None))
    session.execute(update(Touch).where(Touch.member_id == member_id, Touch.status == "planned")
                    .values(status="dropped", drop_reason="erased"))
    session.execute(update(Touch).where(Touch.member_id == member_id).values(summary=""))
    session.execute(update(SurveyResponse).where(SurveyResponse.member_id == member_id)
                    .values(comment=""))
    session.execute(update(Contact).where(Contact.member_id == member_id).values(
        first_name="(erased)", last_name="", email=None, phone=None, address=None,
        birth_month=None, birth_day=None, birth_year=None))
    session.execute(
        update(Member).where(Member.id == member_id).values(
            first_name="(erased)", last_name="", email=None, phone=None, address_line1=None,
            address_line2=None, city=None, region=None, postal_code=None,
            birth_month=None, birth_day=None, birth_year=None, ref=None,
            status="erased", erased_at=at,
        )
    )
    session.flush()
    session.expire_all()


def _close_accounts(session: Session, member_id: int, at: datetime) -> None:
    """The member's accounts can no longer sign in: disabled, email replaced by a placeholder,
    every web session and password-reset link ended."""
    accounts = session.scalars(select(Account).where(Account.member_id == member_id)).all()
    for account in accounts:
        account.email = f"erased-account-{account.id}@erased.invalid"
        if account.disabled_at is None:
            account.disabled_at = at
        session.execute(update(WebSessionRecord).where(
            WebSessionRecord.account_id == account.id, WebSessionRecord.ended_at.is_(None),
        ).values(ended_at=at, ended_reason="member erased"))
        session.execute(update(PasswordReset).where(
            PasswordReset.account_id == account.id, PasswordReset.ended_at.is_(None),
        ).values(ended_at=at, ended_reason="member erased"))
    session.flush()
