"""``make demo`` ends by serving the back office with sign-ins that work, one of them a
Spanish-speaking customer whose pages are in Spanish."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.subscriptions import Item, subscribe
from patronage.clock import FixedClock
from patronage.config import Settings
from patronage.db.autoship import Subscription
from patronage.db.engine import transaction
from patronage.db.tables import Member, Product
from patronage.demo.company import build_company
from patronage.server import create_app
from patronage.web.demo import demo_sign_ins

pytestmark = pytest.mark.storage
NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


def _company(engine: Engine) -> None:
    """A small demo company with a few customers on autoship."""
    build_company(engine, seed=5, members=400, months=3, now=NOW, history=True, personal=True)
    with transaction(engine) as s:
        sku = s.scalars(select(Product.sku).where(Product.is_enrollment_pack.is_(False))).first()
        ids = list(s.scalars(select(Member.id).where(
            Member.kind != "distributor", Member.owner_id.is_not(None),
            Member.status == "active").order_by(Member.id).limit(6)))
        for member in ids:
            subscribe(s, member, [Item(str(sku))], Frequency("monthly", 5),
                      start=NOW.date(), now=NOW, actor="test")


def test_demo_sign_ins_work_and_fit_their_roles(engine: Engine) -> None:
    _company(engine)
    sign_ins = demo_sign_ins(engine, NOW)
    assert [s.role for s in sign_ins] == ["staff", "distributor", "customer", "customer"]
    staff, dist, cust, cliente = sign_ins
    with transaction(engine) as s:
        customer = s.get(Member, cust.member_id)
        assert customer is not None and customer.owner_id == dist.member_id
        assert s.scalar(select(Subscription.status).where(
            Subscription.member_id == cust.member_id, Subscription.status == "active"))
        assert customer.locale.startswith("en")
        spanish = s.get(Member, cliente.member_id)
        assert spanish is not None and spanish.locale == "es-US" and spanish.owner_id
    again = demo_sign_ins(engine, NOW)  # running the demo twice keeps the same sign-ins
    assert [s.email for s in again] == [s.email for s in sign_ins]
    app = create_app(settings=Settings(demo_mode=True, company_timezone="UTC"), engine=engine,
                     clock=FixedClock(NOW), migrate=False)
    for s, home, text in ((staff, "/company", "Company"), (dist, "/today", "Worth doing today"),
                          (cust, "/me", "My autoship"), (cliente, "/me", "Mi autoenvío")):
        client = TestClient(app)
        page = client.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = client.post("/login", data={"email": s.email, "password": s.password,
                                        "csrf_token": csrf})
        assert r.status_code == 200 and str(r.url).endswith(home) and text in r.text
        if s is cust:  # an account to manage: an autoship with its total, orders with lines
            assert 'class="num nowrap next-total"' in r.text
            assert r.text.count('<details class="order"') >= 2


def test_serve_demo_prints_the_sign_ins_and_serves_in_demo_mode(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    from patronage.demo.build import serve_demo

    _company(engine)
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    serve_demo(engine, settings=Settings())
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8000" in out
    for line in ("staff@demo.patronage.example", "distributor@demo.patronage.example",
                 "customer@demo.patronage.example", "demo-customer-2026",
                 "cliente@demo.patronage.example", "(español)"):
        assert line in out
    assert served["host"] == "127.0.0.1" and served["port"] == 8000
    assert served["app"].state.settings.demo_mode is True
