"""Erasure through the REST API and the web: what it ends, and the refusals after it (409 in the
API and on pages); on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage.db.autoship import Subscription
from patronage.db.care import MemberNote
from patronage.db.engine import transaction
from patronage.network.members import consents_in_force, erase_member
from tests.e2e.world import EMAILS, NOW, World, csrf_of, seed, sign_in
from tests.e2e.world import app_for as web_app_for
from tests.integration.test_api_support import API, acting_as, app_for, company


def test_api_erasure_then_note_upgrade_move_and_consent_are_conflicts(engine: Engine) -> None:
    c = company(engine, plan=False)
    staff = acting_as(app_for(engine), c.staff())
    r = staff.post(f"{API}/members/{c.mid_customer}/erase")
    assert r.status_code == 200 and r.json()["status"] == "erased"
    with transaction(engine) as s:
        sub = s.get(Subscription, c.mid_customer_sub)
        assert sub is not None and sub.status == "cancelled"
        assert s.scalars(select(MemberNote).where(
            MemberNote.member_id == c.mid_customer)).all() == []
    note = staff.post(f"{API}/care/members/{c.mid_customer}/notes", json={"body": "called"})
    assert note.status_code == 409, note.text
    assert f"member {c.mid_customer} is erased" in note.json()["detail"]
    upgrade = staff.post(f"{API}/members/{c.mid_customer}/upgrade", json={"reason": "asked"})
    assert upgrade.status_code == 409
    move = staff.post(f"{API}/members/{c.mid_customer}/move",
                      json={"to": c.top, "reason": "asked"})
    assert move.status_code == 409
    consent = staff.post(f"{API}/members/{c.mid_customer}/consents",
                         json={"channel": "email", "granted": True})
    assert consent.status_code == 409
    with transaction(engine) as s:
        assert consents_in_force(s, c.mid_customer).get("email") is not True


def test_web_after_erasure_no_sign_in_no_consent_by_old_link_no_note(engine: Engine) -> None:
    world: World = seed(engine)
    client = TestClient(web_app_for(engine))
    prefs = world.token("preferences")
    csrf = csrf_of(client.get(f"/p/{prefs}").text)
    ann = TestClient(web_app_for(engine))
    assert sign_in(ann, EMAILS["distributor"]).status_code == 303
    ann_csrf = csrf_of(ann.get("/account").text)
    cory = TestClient(web_app_for(engine))
    assert sign_in(cory, EMAILS["customer"]).status_code == 303
    assert cory.get("/me", follow_redirects=False).status_code == 200
    with transaction(engine) as s:
        erase_member(s, world.cory, at=NOW, actor="privacy officer")
    assert cory.get("/me", follow_redirects=False).status_code in (302, 303, 401)
    assert sign_in(TestClient(web_app_for(engine)), EMAILS["customer"]).status_code != 303
    r = client.post(f"/p/{prefs}", data={"csrf_token": csrf, "email": "yes", "post": "yes"})
    assert r.status_code == 409 and "erased" in r.text
    with transaction(engine) as s:
        assert consents_in_force(s, world.cory).get("post") is not True
    note = ann.post(f"/customers/{world.cory}/notes",
                    data={"csrf_token": ann_csrf, "body": "called"}, follow_redirects=False)
    assert note.status_code == 409
    with transaction(engine) as s:
        assert s.scalars(select(MemberNote).where(MemberNote.member_id == world.cory)).all() == []
