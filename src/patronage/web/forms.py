"""What every submitted field of every page must be, checked in one place before any page code
runs: no NUL character (PostgreSQL cannot store one, SQLite would keep it silently) and no more
characters than the place it is stored in holds, so the same input is refused the same way on
both databases, with a message naming the field, and nothing is written.

:data:`FIELD_LIMITS` names the limit of each field the pages use: the length of the database
column it ends up in, or the service's own limit for free text (stored as text). Any other field,
and every query parameter of a listing, may hold :data:`DEFAULT_LIMIT` characters.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request
from starlette.datastructures import UploadFile

from patronage.bounds import REASON_LENGTH, length_of
from patronage.care.surveys import MAX_COMMENT
from patronage.care.testimonials import MAX_TEXT
from patronage.db.accounts import Account
from patronage.db.tables import Member, Product
from patronage.network.members import MAX_NOTE
from patronage.web.accounts import MAX_PASSWORD
from patronage.web.deps import PageError

DEFAULT_LIMIT = 200
#: A compared compensation plan (TOML) is a document, not a line.
PLAN_TEXT_LIMIT = 100_000
#: A password typed to sign in (or to confirm a change): accounts made before the length cap of
#: new passwords may have a longer one, so it is checked (and refused as wrong) as usual.
SIGN_IN_PASSWORD_LIMIT = 1_024
#: Where to go after signing in: a page address with its query.
NEXT_URL_LIMIT = 2_000

FIELD_LIMITS: dict[str, int] = {
    # the profile form: member columns
    **{name: length_of(getattr(Member, name)) for name in (
        "address_line1", "address_line2", "city", "region", "postal_code", "country")},
    "birth_month": 2, "birth_day": 2, "birth_year": 4,
    # signing in, passwords
    "email": length_of(Account.email),
    "password": SIGN_IN_PASSWORD_LIMIT, "current": SIGN_IN_PASSWORD_LIMIT, "new": MAX_PASSWORD,
    "next": NEXT_URL_LIMIT,
    # notes, stories, survey answers, reasons
    "body": MAX_NOTE, "text": MAX_TEXT, "comment": MAX_COMMENT, "reason": REASON_LENGTH,
    # autoship changes
    "sku": length_of(Product.sku), "new_sku": length_of(Product.sku),
    "quantity": 9, "day": 2, "until": 10,
    # the company's commission runs
    "plan_text": PLAN_TEXT_LIMIT,
}


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def field_problem(name: str, value: str) -> str | None:
    """What is wrong with ``value`` in the field ``name``, in plain words, or ``None``."""
    if "\x00" in value or "\x00" in name:
        return (f"{_label(name.replace(chr(0), ''))}: contains a NUL character, which text may "
                "not hold. Nothing was saved; remove it and try again.")
    limit = FIELD_LIMITS.get(name, DEFAULT_LIMIT)
    if len(value) > limit:
        return (f"{_label(name)}: at most {limit:,} characters (this has {len(value):,}). "
                "Nothing was saved; shorten it and try again.")
    if len(name) > DEFAULT_LIMIT:
        return f"A field name longer than {DEFAULT_LIMIT} characters is not one of this form's."
    return None


def check_fields(items: Iterable[tuple[str, object]]) -> None:
    """Refuse (400) the first field that breaks its limit or holds a NUL character; files are
    the upload's own business."""
    for name, value in items:
        if isinstance(value, UploadFile) or not isinstance(value, str):
            continue
        problem = field_problem(name, value)
        if problem is not None:
            raise PageError(400, problem)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def checked_fields(request: Request) -> None:
    """A dependency of every page: the query parameters, and a submitted form's fields."""
    check_fields(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith(FORM_TYPES):
        form = await request.form()
        check_fields(form.multi_items())
