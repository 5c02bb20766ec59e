"""Member integrity rules: each refusal is clear and leaves nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from patronage.db.engine import transaction
from patronage.db.tables import GenealogyChange, Member, Order, Suppression
from patronage.errors import IntegrityViolation, PatronageError
from patronage.network.members import (
    NewMember,
    consents_in_force,
    deactivate,
    enroll_member,
    erase_member,
    is_suppressed,
    move_owner,
    move_sponsor,
    record_consent,
)
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import T0, catalog, customer, distributor

LATER = T0 + timedelta(days=30)


def _members(engine: Engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(Member)) or 0


def test_sponsor_cycle_is_refused(engine: Engine) -> None:
    with transaction(engine) as s:
        a = distributor(s, "Ann")
        b = distributor(s, "Ben", sponsor=a)
        c = distributor(s, "Cat", sponsor=b)
    with pytest.raises(IntegrityViolation, match=f"would make a cycle: {c} is in {a}'s downline"), \
            transaction(engine) as s:
        move_sponsor(s, a, c, effective_at=LATER, recorded_at=LATER, actor="staff",
                     reason="test")
    with transaction(engine) as s:
        assert s.get(Member, a).sponsor_id is None  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(GenealogyChange)) == 0


def test_sponsor_must_be_a_distributor(engine: Engine) -> None:
    with transaction(engine) as s:
        d = distributor(s)
        c = customer(s, d)
    with pytest.raises(IntegrityViolation, match=f"sponsor {c} is a retail customer"), \
            transaction(engine) as s:
        distributor(s, "New", sponsor=c)
    assert _members(engine) == 2


def test_customer_must_have_an_owner_who_is_a_distributor(engine: Engine) -> None:
    with pytest.raises(IntegrityViolation, match="a customer must have an owner"), \
            transaction(engine) as s:
        enroll_member(s, NewMember(kind="retail", first_name="Sal", joined_at=T0))
    with transaction(engine) as s:
        d = distributor(s)
        c = customer(s, d)
    with pytest.raises(IntegrityViolation, match=r"is a retail customer; an owner must be"), \
            transaction(engine) as s:
        customer(s, c, "Other")
    with pytest.raises(IntegrityViolation, match="owner 999 does not exist"), \
            transaction(engine) as s:
        move_owner(s, c, 999, effective_at=LATER, recorded_at=LATER, actor="x", reason="y")
    assert _members(engine) == 2


def test_unknown_member_and_bad_values_are_refused(engine: Engine) -> None:
    with transaction(engine) as s:
        catalog(s)
        d = distributor(s)
    with pytest.raises(IntegrityViolation, match="buyer 4242 does not exist"), \
            transaction(engine) as s:
        place_order(s, NewOrder(4242, T0, [LineRequest("TEA")]), now=T0)
    with pytest.raises(PatronageError, match="line 1: unit price must not be negative"), \
            transaction(engine) as s:
        place_order(s, NewOrder(d, T0, [LineRequest("TEA", 1, -5)]), now=T0)
    with pytest.raises(PatronageError, match="birthday: 2-30 is not a calendar day"), \
            transaction(engine) as s:
        distributor(s, "Feb", birth_month=2, birth_day=30)
    with pytest.raises(PatronageError, match="'Moon/Base' is not an IANA time zone"), \
            transaction(engine) as s:
        distributor(s, "Tz", timezone="Moon/Base")
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0
    assert _members(engine) == 1


def test_members_with_history_are_deactivated_not_deleted(engine: Engine) -> None:
    with transaction(engine) as s:
        catalog(s)
        d = distributor(s)
        c = customer(s, d)
        place_order(s, NewOrder(c, T0, [LineRequest("TEA")]), now=T0)
    with transaction(engine) as s:
        deactivate(s, c, at=LATER)
    with transaction(engine) as s:
        member = s.get(Member, c)
        assert member is not None and member.status == "inactive"
        assert s.scalar(select(func.count()).select_from(Order)) == 1


def test_erasure_keeps_the_ledger_and_a_suppression_entry(engine: Engine) -> None:
    with transaction(engine) as s:
        catalog(s)
        d = distributor(s)
        c = customer(s, d, email="Sally@Example.com", phone="+12125550001", birth_month=3,
                     birth_day=4)
        place_order(s, NewOrder(c, T0, [LineRequest("SHAKE")]), now=T0)
    with transaction(engine) as s:
        erase_member(s, c, at=LATER, actor="privacy officer")
    with transaction(engine) as s:
        member = s.get(Member, c)
        assert member is not None
        assert (member.first_name, member.email, member.phone, member.birth_month) == (
            "(erased)", None, None, None)
        assert member.status == "erased"
        assert s.scalar(select(func.count()).select_from(Order)) == 1
        assert s.scalar(select(func.count()).select_from(Suppression)) == 3
        assert is_suppressed(s, "email", "sally@example.com")


def test_withdrawn_consent_is_in_force_and_suppresses_the_address(engine: Engine) -> None:
    with transaction(engine) as s:
        d = distributor(s, email="dana@example.com", consents={"email": True, "post": True})
    with transaction(engine) as s:
        record_consent(s, d, "email", False, at=LATER, method="unsubscribe link")
    with transaction(engine) as s:
        assert consents_in_force(s, d) == {"email": False, "post": True}
        assert is_suppressed(s, "email", "DANA@example.com")
    with pytest.raises(PatronageError, match="channel: 'fax' is not one of"), \
            transaction(engine) as s:
        record_consent(s, d, "fax", True, at=LATER, method="form")


@pytest.mark.parametrize(("address", "reason"), [
    ("sally@example.com\r\nBcc: all@victim.example", "invalid characters"),
    ('"evil"@x.com, other@victim.example', "Quoting the part before the @-sign"),
    ("no-at-sign.example.com", "must have an @-sign"),
])
def test_an_email_address_is_validated_at_the_door(engine: Engine, address: str,
                                                   reason: str) -> None:
    with transaction(engine) as s:
        dana = distributor(s, "Dana")
    with pytest.raises(PatronageError, match=r"^email: .* is not a valid email address: .*"
                       + reason), transaction(engine) as s:
        enroll_member(s, NewMember(kind="retail", first_name="Sal", owner_id=dana, joined_at=T0,
                                   email=address), now=LATER)
    assert _members(engine) == 1


def test_an_email_address_is_stored_normalised(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s, "Dana")
        sal = enroll_member(s, NewMember(kind="retail", first_name="Sal", owner_id=dana,
                                         joined_at=T0, email="  Sal@Example.COM "), now=LATER)
        blank = enroll_member(s, NewMember(kind="retail", first_name="Bo", owner_id=dana,
                                           joined_at=T0, email=" "), now=LATER)
        assert (sal.email, blank.email) == ("Sal@example.com", None)


@pytest.mark.parametrize(("fields", "message"), [
    ({"joined_at": datetime(1, 1, 1, tzinfo=UTC)},
     r"joined_at: 0001-01-01T00:00:00\+00:00 is before 1970-01-01"),
    ({"joined_at": LATER + timedelta(days=2)}, "joined_at: .* is more than 1 day after now"),
    ({"birth_year": 1899, "birth_month": 1, "birth_day": 2}, "birth_year: 1899 is before 1900"),
    ({"birth_year": LATER.year + 1, "birth_month": 1, "birth_day": 2},
     rf"birth_year: {LATER.year + 1} is after the current year \({LATER.year}\)"),
])
def test_dates_out_of_bounds_are_refused(engine: Engine, fields: dict[str, object],
                                         message: str) -> None:
    with transaction(engine) as s:
        dana = distributor(s, "Dana")
    values: dict[str, object] = {"joined_at": T0, **fields}
    with pytest.raises(PatronageError, match=message), transaction(engine) as s:
        enroll_member(s, NewMember(kind="retail", first_name="Sal", owner_id=dana,
                                   **values), now=LATER)  # type: ignore[arg-type]
    assert _members(engine) == 1
