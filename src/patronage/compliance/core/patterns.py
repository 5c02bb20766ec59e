"""Three more inventory-loading patterns, each judged over arrays (one row per member) with a
plain one-member-at-a-time reference beside it that a property test keeps equal:

- **returns after a rank** (:func:`rank_returns`): a distributor whose paid-as rank rose in
  the judged month, and whose orders credited to that month were refunded (volume taken back)
  within the company's days after the month closed;
- **shared accounts** (:func:`shared_accounts`): distributors in a group of at least
  ``least`` accounts sharing one normalised shipping address (:func:`normal_address`) or one
  saved card (the provider's fingerprint of the card number);
- **volume without customers** (:func:`no_customer_volume`): a distributor whose own purchases
  in the month came to more than a threshold while no customer of theirs ordered.

Volumes are integer hundredths of a point and times whole seconds; nothing is rounded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from patronage.arrays import I64

Bools = np.ndarray

#: Refunds this many days after the month closed still count as returns after a rank.
DEFAULT_REFUND_DAYS = 30
#: Accounts sharing an address or a card that make a group worth a look.
DEFAULT_SHARED_ACCOUNTS = 2
#: Own purchases (hundredths of a point) above which a distributor without an ordering customer
#: is flagged: 100.00 points, about two months of one person's consumption.
DEFAULT_NO_CUSTOMER_CV = 10_000
DAY = 86_400


@dataclass(frozen=True)
class RankReturns:
    """By flagged distributor (row of the input): the refunds counted and their volume."""

    index: I64
    refunds: I64
    cv: I64

    @property
    def size(self) -> int:
        return int(self.index.shape[0])


def rank_returns(rank_before: I64, rank_now: I64, refund_row: I64, refund_cv: I64,
                 refund_after: I64, days: int = DEFAULT_REFUND_DAYS) -> RankReturns:
    """Distributors (rows) whose paid-as rank rose (``rank_now > rank_before``; ``-1``: no rank)
    and who had refunds of volume (``refund_cv > 0``) of the judged month's orders within
    ``days`` after it closed (``0 <= refund_after < days`` days, in seconds). One entry of
    ``refund_row``/``refund_cv``/``refund_after`` per refund of such an order."""
    if days < 1:
        raise ValueError(f"refund days {days}: at least 1")
    n = rank_now.shape[0]
    counted = (refund_after >= 0) & (refund_after < days * DAY) & (refund_cv > 0)
    rows = refund_row[counted]
    refunds = np.bincount(rows, minlength=n).astype(np.int64)
    cv = np.bincount(rows, weights=refund_cv[counted], minlength=n).astype(np.int64) \
        if rows.shape[0] else np.zeros(n, dtype=np.int64)
    flagged = (rank_now > rank_before) & (refunds > 0)
    index = np.flatnonzero(flagged).astype(np.int64)
    return RankReturns(index=index, refunds=refunds[index], cv=cv[index])


def rank_returns_reference(rank_before: list[int], rank_now: list[int],
                           refunds: list[tuple[int, int, int]],
                           days: int = DEFAULT_REFUND_DAYS) -> list[tuple[int, int, int]]:
    """:func:`rank_returns` one distributor at a time: ``(row, refunds, cv)`` per flag from
    ``(row, cv, seconds after the month)`` per refund."""
    out = []
    for row, (before, now) in enumerate(zip(rank_before, rank_now, strict=True)):
        mine = [cv for r, cv, after in refunds if r == row and cv > 0 and 0 <= after < days * DAY]
        if now > before and mine:
            out.append((row, len(mine), sum(mine)))
    return out


@dataclass(frozen=True)
class SharedAccounts:
    """By flagged account (row of the input): its group (the key) and how many share it."""

    index: I64
    group: I64
    accounts: I64

    @property
    def size(self) -> int:
        return int(self.index.shape[0])


def shared_accounts(key: I64, distributor: Bools,
                    least: int = DEFAULT_SHARED_ACCOUNTS) -> SharedAccounts:
    """Distributors (rows with ``distributor`` set) whose ``key`` (a number per address or card;
    ``-1``: none) is shared by at least ``least`` accounts (any kind of member)."""
    if least < 2:
        raise ValueError(f"shared accounts {least}: at least 2")
    known = key >= 0
    counts = np.zeros(key.shape[0], dtype=np.int64)
    if known.any():
        _, inverse, sizes = np.unique(key[known], return_inverse=True, return_counts=True)
        counts[known] = sizes[inverse]
    flagged = known & distributor & (counts >= least)
    index = np.flatnonzero(flagged).astype(np.int64)
    return SharedAccounts(index=index, group=key[index].copy(), accounts=counts[index])


def shared_accounts_reference(key: list[int], distributor: list[bool],
                              least: int = DEFAULT_SHARED_ACCOUNTS) -> list[tuple[int, int, int]]:
    """:func:`shared_accounts` one account at a time: ``(row, key, accounts)`` per flag."""
    out = []
    for row, (k, d) in enumerate(zip(key, distributor, strict=True)):
        if k < 0 or not d:
            continue
        accounts = sum(1 for other in key if other == k)
        if accounts >= least:
            out.append((row, k, accounts))
    return out


@dataclass(frozen=True)
class NoCustomerVolume:
    index: I64
    own: I64

    @property
    def size(self) -> int:
        return int(self.index.shape[0])


def no_customer_volume(own: I64, customers: I64,
                       above: int = DEFAULT_NO_CUSTOMER_CV) -> NoCustomerVolume:
    """Distributors (rows) whose own purchases in the month exceed ``above`` while none of
    their customers ordered (``customers == 0``)."""
    if above < 0:
        raise ValueError(f"no-customer threshold {above}: must not be negative")
    flagged = (own > above) & (customers == 0)
    index = np.flatnonzero(flagged).astype(np.int64)
    return NoCustomerVolume(index=index, own=own[index].copy())


def no_customer_volume_reference(own: list[int], customers: list[int],
                                 above: int = DEFAULT_NO_CUSTOMER_CV) -> list[tuple[int, int]]:
    """:func:`no_customer_volume` one distributor at a time: ``(row, own)`` per flag."""
    return [(row, o) for row, (o, c) in enumerate(zip(own, customers, strict=True))
            if o > above and c == 0]


_WORDS = {"street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd",
          "boulevard": "blvd", "drive": "dr", "lane": "ln", "apartment": "apt", "suite": "ste",
          "unit": "apt", "no": "", "number": "", "calle": "c", "avenida": "av"}
_SHORTENED = frozenset(_WORDS)
#: Every ASCII character that is not a letter or a digit, as a space.
_SPACES = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
_NOT_WORD = re.compile(r"[^0-9a-z]+")
#: Every ASCII character but the digits, deleted.
_DIGITS_ONLY = str.maketrans({chr(c): None for c in range(128) if not chr(c).isdigit()})


def normal_address(line1: str | None, line2: str | None, postal_code: str | None,
                   country: str | None) -> str | None:
    """The shipping address as a key two spellings of one place share: accents dropped,
    case folded, punctuation and spacing ignored, common words shortened ("Street" → "st",
    "Apartment" → "apt"), the postal code without spaces; the city is left out (the postal
    code and the street name it). ``None`` without a first line."""
    if not line1:
        return None
    text = f"{line1} {line2}" if line2 else line1
    if text.isascii():
        words = text.lower().translate(_SPACES).split()
    else:
        folded = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore")
        words = _NOT_WORD.split(folded.decode())
    if not _SHORTENED.isdisjoint(words):
        words = [_WORDS.get(w, w) for w in words]
    kept = " ".join([w for w in words if w]) if "" in words else " ".join(words)
    if not kept:
        return None
    return f"{kept}|{_postal(postal_code)}|{(country or '').upper()}"


@lru_cache(maxsize=1 << 16)
def _postal(postal_code: str | None) -> str:
    """The postal code without case, spaces or punctuation (kept: postal codes repeat)."""
    if not postal_code:
        return ""
    postal = postal_code.lower().translate(_SPACES).replace(" ", "")
    return postal if postal.isascii() else _NOT_WORD.sub("", postal)


def address_sieve(line1: str | None, line2: str | None, postal_code: str | None,
                  country: str | None) -> str | None:
    """A coarse key, cheap to make, that two addresses with one :func:`normal_address` always
    share: the digits of the address (house and flat numbers), the postal code and the country.
    Only addresses whose sieve is shared need the full key."""
    if not line1:
        return None
    text = f"{line1} {line2}" if line2 else line1
    if text.isascii():
        digits = text.translate(_DIGITS_ONLY)
    else:
        key = normal_address(line1, line2, postal_code, country)
        if key is None:
            return None
        digits = key.split("|", 1)[0].translate(_DIGITS_ONLY)
    return f"{digits}|{_postal(postal_code)}|{(country or '').upper()}"
