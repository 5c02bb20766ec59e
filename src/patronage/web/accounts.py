"""Sign-in accounts: create, authenticate (with rate limiting), change password, disable.

Passwords are hashed with Argon2 (argon2-cffi defaults). When the email is unknown a dummy hash is
still verified, so a guess at an email takes as long as a guess at a password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from patronage import audit
from patronage.db.accounts import ACCOUNT_ROLES, Account, LoginAttempt
from patronage.db.tables import Member
from patronage.errors import Conflict, NotFound, PatronageError
from patronage.languages import N_
from patronage.network.intake import normalise_email as valid_email
from patronage.signin.sessions import end_sessions

HASHER = PasswordHasher()
_DUMMY_HASH = HASHER.hash("not a password anyone has")
#: Failures allowed per email and client address inside the window before sign-in is refused.
MAX_FAILURES = 5
#: Failures allowed from one client address, whatever the emails, inside the window (spraying
#: one password over many emails).
MAX_ADDRESS_FAILURES = 20
#: Failures of everyone together inside the window; past it, any email or address that failed
#: inside the window is refused until the window has passed (guessing spread over many places).
GLOBAL_FAILURES = 300
WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 8
#: Longer passwords are refused (pass phrases fit easily; hashing megabytes does not).
MAX_PASSWORD = 128
#: The least zxcvbn score (0-4) a new password needs: 3 is "safely unguessable" for a site
#: that limits sign-in attempts.
MIN_SCORE = 3


class RateLimited(PatronageError):
    code = "rate_limited"

    def __init__(self, message: str, pattern: str | None = None,
                 values: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        #: The message as a pattern marked for translation, and its values.
        self.pattern, self.values = pattern, values or {}


class BadCredentials(PatronageError):
    code = "bad_credentials"


@dataclass(frozen=True)
class AccountView:
    id: int
    email: str
    role: str
    member_id: int | None
    created_at: datetime
    disabled_at: datetime | None


def _view(a: Account) -> AccountView:
    return AccountView(a.id, a.email, a.role, a.member_id, a.created_at, a.disabled_at)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _personal_words(email: str | None) -> list[str]:
    """The email and its pieces (``dana.fairweather@x.com`` -> ``dana``, ``fairweather``...),
    which a password must not lean on."""
    if not email:
        return []
    email = normalise_email(email)
    local = email.split("@", 1)[0]
    pieces = [p for p in re.split(r"[^a-z]+", email) if len(p) >= 3]
    return [email, local, *pieces]


def check_password(password: str, *, email: str | None = None) -> None:
    """Refuse a password shorter than :data:`MIN_PASSWORD` or longer than :data:`MAX_PASSWORD`
    characters, or one the zxcvbn estimator scores below :data:`MIN_SCORE` (common passwords,
    keyboard runs, repeats, dates, the account's own email...), with its advice as the reason."""
    if len(password) < MIN_PASSWORD:
        raise PatronageError(N_("password: at least %(MIN_PASSWORD)s characters, please"),
                             values={"MIN_PASSWORD": MIN_PASSWORD})
    if len(password) > MAX_PASSWORD:
        raise PatronageError(N_("password: at most %(MAX_PASSWORD)s characters, please"),
                             values={"MAX_PASSWORD": MAX_PASSWORD})
    estimate = zxcvbn(password, user_inputs=_personal_words(email), max_length=MAX_PASSWORD)
    if int(estimate["score"]) < MIN_SCORE:
        feedback = estimate.get("feedback") or {}
        advice = [str(feedback.get("warning") or ""), *map(str, feedback.get("suggestions", []))]
        reason = " ".join(a for a in advice if a) or "Add another word or two."
        raise PatronageError(N_("password: too easy to guess. %(reason)s"),
                             values={"reason": reason})


def create_account(session: Session, *, email: str, password: str, role: str,
                   member_id: int | None, now: datetime, actor: str = "system") -> AccountView:
    """A new account. Distributors and customers are tied to a member of the matching kind."""
    checked = valid_email(email, place="email")
    if checked is None:
        raise PatronageError(N_("email: give the account's email address"), values={})
    email = normalise_email(checked)
    if role not in ACCOUNT_ROLES:
        raise PatronageError(N_("role: %(role)r is not one of %(join)s"),
                             values={"role": role, "join": ', '.join(ACCOUNT_ROLES)})
    check_password(password, email=email)
    if role == "staff":
        if member_id is not None:
            raise PatronageError(N_("member: a staff account is not tied to a member"), values={})
    else:
        if member_id is None:
            raise PatronageError(N_("member: a %(role)s account needs --member"),
                                 values={"role": role})
        member = session.get(Member, member_id)
        if member is None:
            raise NotFound(N_("member: %(member_id)s does not exist"),
                           values={"member_id": member_id})
        if (member.kind == "distributor") != (role == "distributor"):
            raise PatronageError(N_("member: %(member_id)s is a %(kind)s, not a %(role)s"),
                                 values={"member_id": member_id,
                                         "kind": member.kind,
                                         "role": role})
    if session.scalar(select(Account.id).where(Account.email == email)) is not None:
        raise Conflict(N_("email: an account for %(email)s already exists"),
                       values={"email": email})
    account = Account(email=email, password_hash=HASHER.hash(password), role=role,
                      member_id=member_id, created_at=now)
    session.add(account)
    session.flush()
    audit.record(session, actor=actor, action="account.create", target=email,
                 detail=f"role {role}" + (f", member {member_id}" if member_id else ""), at=now)
    return _view(account)


def list_accounts(session: Session) -> list[AccountView]:
    return [_view(a) for a in session.scalars(select(Account).order_by(Account.id))]


def get_account(session: Session, account_id: int) -> AccountView | None:
    account = session.get(Account, account_id)
    return None if account is None else _view(account)


def disable_account(session: Session, email: str, *, now: datetime, actor: str) -> AccountView:
    account = session.scalar(select(Account).where(Account.email == normalise_email(email)))
    if account is None:
        raise NotFound(N_("email: no account for %(email)s"), values={"email": email})
    if account.disabled_at is None:
        account.disabled_at = now
        audit.record(session, actor=actor, action="account.disable", target=account.email,
                     detail="", at=now)
    end_sessions(session, account.id, now=now, reason="account disabled")
    return _view(account)


def failures(session: Session, email: str, ip: str, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == email, LoginAttempt.ip == ip,
        LoginAttempt.at > now - WINDOW)) or 0


def _count(session: Session, now: datetime, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.at > now - WINDOW, *where)) or 0


def _blocked(session: Session, email: str, ip: str, now: datetime) -> str | None:
    """Why a sign-in from ``ip`` for ``email`` is refused before its password is checked, or
    ``None``."""
    refusal = _refusal(session, email, ip, now)
    return None if refusal is None else refusal[0] % refusal[1]


#: Why a sign-in is refused before its password is checked (patterns, translated on the page).
TOO_MANY_FOR_EMAIL = N_("Too many failed sign-ins for %(email)s from your address. "
                        "Try again in %(minutes)s minutes.")
TOO_MANY_FROM_ADDRESS = N_("Too many failed sign-ins from your address. "
                           "Try again in %(minutes)s minutes.")
GUESSED_AT = N_("Sign-in is being guessed at from many places, so an email or address that "
                "has failed recently must wait. Try again in %(minutes)s minutes.")


def _refusal(session: Session, email: str, ip: str, now: datetime
             ) -> tuple[str, dict[str, Any]] | None:
    """:func:`_blocked` as a message pattern and its values."""
    values: dict[str, Any] = {"email": email, "minutes": int(WINDOW.total_seconds() // 60)}
    if failures(session, email, ip, now) >= MAX_FAILURES:
        return TOO_MANY_FOR_EMAIL, values
    from_address = _count(session, now, LoginAttempt.ip == ip)
    if from_address >= MAX_ADDRESS_FAILURES:
        return TOO_MANY_FROM_ADDRESS, values
    if _count(session, now) >= GLOBAL_FAILURES and (
            from_address > 0 or _count(session, now, LoginAttempt.email == email) > 0):
        return GUESSED_AT, values
    return None


def authenticate(session: Session, *, email: str, password: str, ip: str,
                 now: datetime) -> AccountView:
    """The account for a correct email and password. Refused with :class:`RateLimited` (see
    :func:`_blocked`) after too many recent failures for this email from this address, from
    this address for any emails, or, once the failures of everyone together spend the global
    budget, after any recent failure of this email or this address. A failure is recorded (and
    audited) in the caller's transaction, which must commit even when this raises."""
    email = normalise_email(email)
    # Failures older than the window no longer count: forget them.
    session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - WINDOW))
    refusal = _refusal(session, email, ip, now)
    if refusal is not None:
        message = refusal[0] % refusal[1]
        audit.record(session, actor=f"anonymous:{email}", action="login.blocked", target=email,
                     detail=message, at=now, ip=ip)
        raise RateLimited(message, *refusal)
    account = session.scalar(select(Account).where(Account.email == email))
    ok = False
    try:
        # An unknown email still costs one hash verification, so timing reveals nothing.
        ok = HASHER.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or account is None or account.disabled_at is not None:
        session.add(LoginAttempt(email=email, ip=ip, at=now))
        reason = "disabled" if account is not None and ok else "bad email or password"
        audit.record(session, actor=f"anonymous:{email}", action="login.failed", target=email,
                     detail=reason, at=now, ip=ip)
        raise BadCredentials(N_("That email and password do not match an active account."))
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email,
                                               LoginAttempt.ip == ip))
    if HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = HASHER.hash(password)
    audit.record(session, actor=f"{account.role}:{email}", action="login.ok", target=email,
                 detail="", at=now, ip=ip)
    return _view(account)


def change_password(session: Session, account_id: int, *, current: str, new: str,
                    now: datetime, ip: str | None = None) -> None:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(N_("account %(account_id)s does not exist"),
                       values={"account_id": account_id})
    try:
        HASHER.verify(account.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise BadCredentials(N_("current password: that is not your current password")) from exc
    check_password(new, email=account.email)
    account.password_hash = HASHER.hash(new)
    end_sessions(session, account.id, now=now, reason="password changed")
    audit.record(session, actor=f"{account.role}:{account.email}", action="password.change",
                 target=account.email, detail="", at=now, ip=ip)


def set_password(session: Session, email: str, *, new: str, now: datetime,
                 actor: str) -> AccountView:
    """Staff set a new password for an account (the person forgot theirs, or it leaked):
    the same rules apply, and every session of the account ends."""
    account = session.scalar(select(Account).where(Account.email == normalise_email(email)))
    if account is None:
        raise NotFound(N_("email: no account for %(normalise_email)s"),
                       values={"normalise_email": normalise_email(email)})
    check_password(new, email=account.email)
    account.password_hash = HASHER.hash(new)
    end_sessions(session, account.id, now=now, reason="password set")
    audit.record(session, actor=actor, action="password.set", target=account.email, detail="",
                 at=now)
    return _view(account)
