"""What a member record may hold, checked at the door: email addresses and dates.

An email address is checked with the maintained ``email-validator`` library (syntax only, no
network lookup) and stored normalised (the domain in lower case, Unicode in NFC). A quoted or
folded address, a list of several addresses, or one with a line break is refused: it could make
a care email go to someone else, or stop a delivery run.

Dates are kept within sane bounds, so that no record can break a company-wide job:

- ``joined_at`` from :data:`EARLIEST_JOINED` (1970-01-01 UTC) to ``now`` + :data:`JOINED_AHEAD`
  (one day, for an enrolment made in a time zone ahead);
- a birth year from :data:`EARLIEST_BIRTH_YEAR` (1900) to the current year.

Records stored before these checks existed are met by the care jobs with
:func:`joined_problem` and :func:`email_problem`: such a member is skipped with the reason, the
job goes on with everyone else.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from patronage.clock import require_aware
from patronage.errors import PatronageError

#: The earliest join date a member record may hold.
EARLIEST_JOINED = datetime(1970, 1, 1, tzinfo=UTC)
#: How far after ``now`` a join date may be (an enrolment made in a zone ahead of ours).
JOINED_AHEAD = timedelta(days=1)
#: The earliest birth year a member record may hold (the latest is the current year).
EARLIEST_BIRTH_YEAR = 1900


#: A local part of plain ASCII words joined by dots (RFC 5322 dot-atom): the library leaves it
#: as it is, so only the domain needs the library's checks (made once per domain).
_ATEXT = r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]"
_PLAIN_LOCAL = re.compile(f"{_ATEXT}+(?:\\.{_ATEXT}+)*")
_MAX_ADDRESS = 254
_MAX_LOCAL = 64


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str | None:
    """The normalised domain, or ``None`` when the library refuses it (or is unsure)."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def _quick(address: str) -> str | None:
    """The normalised address when it is a plain one (ASCII local part, a domain the library
    accepts), the library's own result for the domain reused; ``None``: ask the library."""
    local, at, domain = address.partition("@")
    if not at or len(local) > _MAX_LOCAL:
        return None
    if not (local.isascii() and local.isalnum()) and not _PLAIN_LOCAL.fullmatch(local):
        return None  # (ASCII letters and digits alone are a plain local part: no pattern)
    normalised = _domain(domain)
    if normalised is None:
        return None
    result = f"{local}@{normalised}"
    return result if len(result) <= _MAX_ADDRESS else None


def email_problem(address: str) -> str | None:
    """Why ``address`` is not one valid email address, or ``None`` if it is."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def normalise_email(address: str | None, *, place: str = "email") -> str | None:
    """The address normalised (``None`` and blank stay ``None``); refused with the reason if
    it is not one valid email address."""
    if address is None or not (stripped := address.strip()):
        return None
    quick = _quick(stripped)
    if quick is not None:
        return quick
    try:
        return validate_email(stripped, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise PatronageError(f"{place}: {address!r} is not a valid email address: {exc}") from exc


def joined_problem(joined_at: datetime, now: datetime | None = None) -> str | None:
    """Why a join date is out of bounds, or ``None``; without ``now`` only the earliest bound
    is checked."""
    moment = require_aware(joined_at, place="joined_at")
    if moment < EARLIEST_JOINED:
        return f"joined_at {moment.isoformat()} is before {EARLIEST_JOINED.date().isoformat()}"
    if now is not None and moment > now + JOINED_AHEAD:
        return (f"joined_at {moment.isoformat()} is more than {JOINED_AHEAD.days} day after "
                f"now ({now.isoformat()})")
    return None


def check_joined_at(joined_at: datetime, now: datetime | None = None, *,
                    place: str = "joined_at") -> None:
    """Refuse a join date out of bounds (see the module's description)."""
    problem = joined_problem(joined_at, now)
    if problem is not None:
        raise PatronageError(f"{place}: {problem.removeprefix('joined_at ')}")


def check_birth_year(year: int | None, now: datetime | None = None, *,
                     place: str = "birth_year") -> None:
    """Refuse a birth year before 1900 or after the current year (the year of ``now``; without
    ``now``, only the earliest bound)."""
    if year is None:
        return
    if year < EARLIEST_BIRTH_YEAR:
        raise PatronageError(f"{place}: {year} is before {EARLIEST_BIRTH_YEAR}")
    if now is not None and year > now.year:
        raise PatronageError(f"{place}: {year} is after the current year ({now.year})")
