"""Returns after a rank, shared accounts and volume without customers: each pattern is flagged
and a normal case is not, and each fast rule equals its one-member-at-a-time reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from patronage.compliance.core.patterns import (
    DAY,
    address_sieve,
    no_customer_volume,
    no_customer_volume_reference,
    normal_address,
    rank_returns,
    rank_returns_reference,
    shared_accounts,
    shared_accounts_reference,
)


def _i(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _returns(before: list[int], now: list[int], refunds: list[tuple[int, int, int]],
             days: int = 30) -> list[tuple[int, int, int]]:
    rows = _i([r for r, _, _ in refunds])
    cv = _i([c for _, c, _ in refunds])
    after = _i([a for _, _, a in refunds])
    f = rank_returns(_i(before), _i(now), rows, cv, after, days)
    return [(int(i), int(n), int(c)) for i, n, c in zip(f.index, f.refunds, f.cv, strict=True)]


def test_returns_right_after_a_rank_are_flagged_and_normal_ones_are_not() -> None:
    before = [0, 0, 2, -1, 1]
    now = [2, 2, 2, 0, 2]
    refunds = [
        (0, 30000, 3 * DAY),    # rose 0 -> 2, refunded 3 days after the month: flagged
        (0, 10000, 10 * DAY),
        (1, 30000, 45 * DAY),   # rose, but refunded 45 days after: outside 30 days
        (2, 30000, 2 * DAY),    # no rise (2 -> 2): a return, not after a rank
        (3, 0, 1 * DAY),        # rose, but the refund took no volume back
        (4, 5000, -DAY),        # rose, but refunded before the month closed (netted by the run)
    ]
    assert _returns(before, now, refunds) == [(0, 2, 40000)]
    # A company watching 60 days catches the second one too.
    assert _returns(before, now, refunds, 60) == [(0, 2, 40000), (1, 1, 30000)]
    with pytest.raises(ValueError, match="at least 1"):
        _returns(before, now, refunds, 0)


def test_accounts_sharing_an_address_or_card_are_flagged_and_alone_ones_are_not() -> None:
    key = _i([7, 7, 3, -1, -1, 9, 9, 9])
    distributor = np.array([True, False, True, True, True, True, True, False])
    f = shared_accounts(key, distributor)
    # Row 1 is a customer (not flagged, but counted), row 2 is alone, rows 3-4 have no key.
    assert list(zip(f.index.tolist(), f.group.tolist(), f.accounts.tolist(), strict=True)) == [
        (0, 7, 2), (5, 9, 3), (6, 9, 3)]
    assert shared_accounts(key, distributor, 3).index.tolist() == [5, 6]
    with pytest.raises(ValueError, match="at least 2"):
        shared_accounts(key, distributor, 1)


def test_volume_without_customers_is_flagged_and_a_consumer_is_not() -> None:
    f = no_customer_volume(_i([40000, 4000, 40000, 10000]), _i([0, 0, 3, 0]))
    assert (f.index.tolist(), f.own.tolist()) == ([0], [40000])  # 10,000 is not above 10,000
    with pytest.raises(ValueError, match="must not be negative"):
        no_customer_volume(_i([1]), _i([0]), -1)


def test_two_spellings_of_one_address_share_a_key() -> None:
    a = normal_address("12 Elm Street, Apt. 4", None, "10 115", "de")
    assert a == normal_address("12  elm st", "apartment 4", "10115", "DE")
    assert a == "12 elm st apt 4|10115|DE"
    assert normal_address("Calle Mayor 5", None, "28013", "ES") == normal_address(
        "calle mayor, nº 5", None, "28013", "ES") == "c mayor 5|28013|ES"
    assert normal_address("12 Elm Street", None, "10115", "DE") != a
    assert normal_address("12 Elm Street", None, "10115", "AT") != normal_address(
        "12 Elm Street", None, "10115", "DE")
    assert normal_address("Élan Straße 1", None, None, None) == "elan strasse 1||"
    assert normal_address(None, "Apt 4", "10115", "DE") is None
    assert normal_address(" , ", None, "10115", "DE") is None


@given(st.lists(st.tuples(st.integers(-1, 4), st.integers(-1, 4)), min_size=1, max_size=12),
       st.lists(st.tuples(st.integers(0, 11), st.integers(0, 40_000),
                          st.integers(-5 * DAY, 70 * DAY)), max_size=20),
       st.integers(1, 60))
def test_the_fast_returns_rule_equals_the_reference(
        ranks: list[tuple[int, int]], refunds: list[tuple[int, int, int]], days: int) -> None:
    before = [b for b, _ in ranks]
    now = [n for _, n in ranks]
    refunds = [(r % len(ranks), cv, after) for r, cv, after in refunds]
    assert _returns(before, now, refunds, days) == rank_returns_reference(before, now, refunds,
                                                                          days)


@given(st.lists(st.tuples(st.integers(-1, 6), st.booleans()), max_size=30), st.integers(2, 5))
def test_the_fast_shared_rule_equals_the_reference(accounts: list[tuple[int, bool]],
                                                   least: int) -> None:
    key = [k for k, _ in accounts]
    distributor = [d for _, d in accounts]
    f = shared_accounts(_i(key), np.array(distributor, dtype=bool), least)
    assert list(zip(f.index.tolist(), f.group.tolist(), f.accounts.tolist(), strict=True)) == \
        shared_accounts_reference(key, distributor, least)


@given(st.lists(st.tuples(st.integers(0, 50_000), st.integers(0, 3)), max_size=30),
       st.integers(0, 50_000))
def test_the_fast_no_customer_rule_equals_the_reference(rows: list[tuple[int, int]],
                                                        above: int) -> None:
    own = [o for o, _ in rows]
    customers = [c for _, c in rows]
    f = no_customer_volume(_i(own), _i(customers), above)
    assert list(zip(f.index.tolist(), f.own.tolist(), strict=True)) == \
        no_customer_volume_reference(own, customers, above)


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=30),
       st.text(alphabet=st.characters(codec="ascii"), max_size=10))
def test_plain_addresses_are_normalised_as_any_other(line: str, postal: str) -> None:
    """The fast path for plain ASCII text gives what the general one gives: the same text
    with an accent added (and taken off again) has the same key."""
    spelled = normal_address(line + " é", None, postal, "de")
    plain = normal_address(line + " e", None, postal, "de")
    assert spelled == plain


@given(st.text(max_size=25), st.one_of(st.none(), st.text(max_size=10)),
       st.one_of(st.none(), st.text(max_size=8)), st.sampled_from([None, "de", "ES"]))
def test_addresses_with_one_key_share_the_sieve(line1: str, line2: str | None,
                                                postal: str | None, country: str | None) -> None:
    """The sieve is made of the full key's digits, postal code and country: so two addresses
    with one full key never differ in the sieve (the sieve may only pass too many)."""
    key = normal_address(line1, line2, postal, country)
    sieve = address_sieve(line1, line2, postal, country)
    if key is None:
        return
    street, rest = key.split("|", 1)
    assert sieve == "".join(c for c in street if c.isdigit()) + "|" + rest


def test_the_sieve_keeps_numbers_and_place() -> None:
    assert address_sieve("12 Elm Street", "Apt. 4", "10115", "de") == "124|10115|DE"
    assert address_sieve("Élan Straße 3", None, None, None) == "3||"
    assert address_sieve(None, "x", "1", "DE") is None
