"""Erasure ends everything personal in one transaction, and an erased record takes no new
personal data or moves; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.subscriptions import Item, subscribe
from patronage.care.links import make_token, unsubscribe
from patronage.care.surveys import answer_survey
from patronage.db.accounts import Account, WebSessionRecord
from patronage.db.autoship import AutoshipEvent, Subscription
from patronage.db.care import Contact, MemberNote, SurveyResponse, Testimonial, Touch
from patronage.db.engine import transaction
from patronage.errors import Conflict, NotFound
from patronage.network.members import (
    add_note,
    erase_member,
    move_owner,
    move_sponsor,
    record_consent,
    upgrade_to_distributor,
)
from patronage.signin.sessions import session_account, start_session
from patronage.web.accounts import create_account
from tests.integration.test_api_support import NOW, care_records, company

LATER = NOW + timedelta(days=1)
SECRET = "a-test-secret-of-some-length"


def _erase_mid_customer(engine: Engine) -> tuple[int, int, str]:
    c = company(engine, plan=False)
    with transaction(engine) as s:
        account = create_account(s, email="mia@example.com", password="correct horse battery 9",
                                 role="customer", member_id=c.mid_customer, now=NOW)
        key = start_session(s, account.id, now=NOW)
        paused = subscribe(s, c.mid_customer, [Item("TEA")], Frequency("monthly", 5),
                           start=NOW.date() + timedelta(days=2), now=NOW, actor="test")
        paused.status = "paused"
    with transaction(engine) as s:
        erase_member(s, c.mid_customer, at=LATER, actor="privacy officer")
    return c.mid_customer, account.id, key


def test_erasure_cancels_every_open_subscription_with_an_event(engine: Engine) -> None:
    member, _, _ = _erase_mid_customer(engine)
    with transaction(engine) as s:
        subs = s.scalars(select(Subscription).where(Subscription.member_id == member)).all()
        assert len(subs) == 2
        assert {sub.status for sub in subs} == {"cancelled"}
        assert {sub.cancelled_at for sub in subs} == {LATER}
        events = s.scalars(select(AutoshipEvent).where(
            AutoshipEvent.member_id == member, AutoshipEvent.kind == "cancelled")).all()
        assert sorted(e.subscription_id for e in events) == sorted(sub.id for sub in subs)
        assert {e.actor for e in events} == {"erasure"}


def test_erasure_disables_the_account_and_ends_its_sessions(engine: Engine) -> None:
    _, account_id, key = _erase_mid_customer(engine)
    with transaction(engine) as s:
        account = s.get(Account, account_id)
        assert account is not None and account.disabled_at == LATER
        assert "mia" not in account.email
        assert session_account(s, key, account_id, now=LATER) is None
        record = s.scalar(select(WebSessionRecord).where(
            WebSessionRecord.account_id == account_id))
        assert record is not None and record.ended_reason == "member erased"


def test_erasure_removes_notes_and_blanks_care_text(engine: Engine) -> None:
    member, _, _ = _erase_mid_customer(engine)
    with transaction(engine) as s:
        assert s.scalars(select(MemberNote).where(MemberNote.member_id == member)).all() == []
        stories = s.scalars(select(Testimonial).where(Testimonial.member_id == member)).all()
        assert stories and all(t.text == "" and t.status == "withdrawn" for t in stories)
        touches = s.scalars(select(Touch).where(Touch.member_id == member)).all()
        assert touches and all(t.summary == "" for t in touches)
        assert all(t.status == "dropped" and t.drop_reason == "erased" for t in touches)
        answers = s.scalars(select(SurveyResponse).where(
            SurveyResponse.member_id == member)).all()
        assert answers and all(a.comment == "" for a in answers)


def test_erasure_leaves_other_members_untouched(engine: Engine) -> None:
    c = company(engine, plan=False)
    with transaction(engine) as s:
        erase_member(s, c.mid_customer, at=LATER, actor="privacy officer")
    with transaction(engine) as s:
        other = s.get(Subscription, c.other_customer_sub)
        assert other is not None and other.status == "active"
        notes = s.scalars(select(MemberNote).where(MemberNote.member_id == c.other_customer))
        assert [n.body for n in notes] == ["likes tea"]
        story = s.get(Testimonial, c.other_customer_testimonial)
        assert story is not None and story.text == "I love it"


def test_an_erased_member_takes_no_note_upgrade_or_move(engine: Engine) -> None:
    c = company(engine, plan=False)
    with transaction(engine) as s:
        erase_member(s, c.mid_customer, at=LATER, actor="privacy officer")
        erase_member(s, c.mid, at=LATER, actor="privacy officer")
    with pytest.raises(Conflict, match=f"member {c.mid_customer} is erased"), \
            transaction(engine) as s:
        add_note(s, c.mid_customer, "called", author="sam", now=LATER)
    with pytest.raises(Conflict, match=f"member {c.mid_customer} is erased"), \
            transaction(engine) as s:
        upgrade_to_distributor(s, c.mid_customer, effective_at=LATER, recorded_at=LATER,
                               actor="sam", reason="asked")
    with pytest.raises(Conflict, match=f"member {c.mid_customer} is erased"), \
            transaction(engine) as s:
        move_owner(s, c.mid_customer, c.top, effective_at=LATER, recorded_at=LATER,
                   actor="sam", reason="asked")
    with pytest.raises(Conflict, match=f"member {c.mid} is erased"), transaction(engine) as s:
        move_sponsor(s, c.mid, c.other, effective_at=LATER, recorded_at=LATER,
                     actor="sam", reason="asked")
    with transaction(engine) as s:
        assert s.scalars(select(MemberNote).where(
            MemberNote.member_id == c.mid_customer)).all() == []


def test_an_old_preferences_link_cannot_grant_consent_after_erasure(engine: Engine) -> None:
    c = company(engine, plan=False)
    with transaction(engine) as s:
        erase_member(s, c.mid_customer, at=LATER, actor="privacy officer")
    with pytest.raises(Conflict, match=f"member {c.mid_customer} is erased"), \
            transaction(engine) as s:
        record_consent(s, c.mid_customer, "email", True, at=LATER, method="preferences link")
    with transaction(engine) as s:  # nothing to withdraw: the addresses are suppressed
        assert unsubscribe(s, c.mid_customer, LATER, "link") is False


def test_a_survey_link_is_refused_after_erasure(engine: Engine) -> None:
    c = company(engine, plan=False)
    token = make_token("survey", c.mid_customer, NOW, secret=SECRET)
    with transaction(engine) as s:
        erase_member(s, c.mid_customer, at=LATER, actor="privacy officer")
    with pytest.raises(NotFound, match="no longer with us"), transaction(engine) as s:
        answer_survey(s, token, 10, "lovely", False, LATER, secret=SECRET)


def test_erasure_twice_is_harmless(engine: Engine) -> None:
    c = company(engine, plan=False)
    with transaction(engine) as s:
        care_records(s, c.top_customer, c.top)
        erase_member(s, c.top_customer, at=LATER, actor="privacy officer")
        erase_member(s, c.top_customer, at=LATER, actor="privacy officer")
    with transaction(engine) as s:
        assert s.scalars(select(MemberNote).where(
            MemberNote.member_id == c.top_customer)).all() == []


def test_erasure_blanks_address_book_entries_linked_to_the_member(engine: Engine) -> None:
    c = company(engine, plan=False)
    with transaction(engine) as s:
        s.add(Contact(owner_id=c.mid, member_id=c.mid_customer, first_name="Mia",
                      last_name="Lopez", email="mia@example.com", phone="+12125550002",
                      address="1 Main St", birth_month=5, birth_day=6, source="member",
                      created_at=NOW))
        s.add(Contact(owner_id=c.mid, member_id=None, first_name="Nia", source="met",
                      created_at=NOW))
    with transaction(engine) as s:
        erase_member(s, c.mid_customer, at=LATER, actor="privacy officer")
    with transaction(engine) as s:
        rows = {r.first_name: r for r in s.scalars(select(Contact))}
        assert set(rows) == {"(erased)", "Nia"}
        gone = rows["(erased)"]
        assert (gone.last_name, gone.email, gone.phone, gone.address, gone.birth_month) == (
            "", None, None, None, None)
