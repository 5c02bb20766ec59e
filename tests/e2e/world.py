"""A small company with sign-ins for the web tests: staff, two distributors' families, customers.

- Ann (distributor) owns Cory (retail, on autoship) and Cleo; Ben (distributor) is in Ann's
  downline and owns Bea; Zed (distributor, not related to Ann) owns Zoe (on autoship).
- Accounts: staff, Ann, Zed, Cory and Zoe. Ann has a call task for Cory; Zed one for Zoe.
- Orders in September 2026 (a closed period when ``now`` is in October) for commission runs;
  the example plan stored, in force from January 2026.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.subscriptions import Item, subscribe
from patronage.care.links import make_token
from patronage.clock import FixedClock, Period
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.plan_versions import set_plan
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.server import create_app
from patronage.web.accounts import create_account
from tests import factories as f

NOW = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
SECRET = "a-test-secret-that-is-long-enough-0123456789"
PASSWORD = "correct horse battery"
EMAILS = {"staff": "staff@example.com", "distributor": "ann@example.com",
          "other_distributor": "zed@example.com", "customer": "cory@example.com",
          "other_customer": "zoe@example.com"}


@dataclass
class World:
    ann: int
    ben: int
    zed: int
    cory: int
    cleo: int
    bea: int
    zoe: int
    cory_sub: int
    zoe_sub: int
    ann_task: int
    zed_task: int

    def token(self, purpose: str, member_id: int | None = None) -> str:
        return make_token(purpose, member_id or self.cory, NOW, secret=SECRET)


def settings() -> Settings:
    return Settings(secret_key=SECRET, demo_mode=False, company_timezone="UTC",
                    base_url="http://testserver")


def app_for(engine: Engine, clock: FixedClock | None = None) -> FastAPI:
    return create_app(settings=settings(), engine=engine, clock=clock or FixedClock(NOW),
                      migrate=False)


def _task(s: object, member: int, owner: int, key: str) -> int:
    touch = Touch(member_id=member, owner_id=owner, rule_key=key, occasion="thank_you",
                  occasion_key="1", channel="task", template="call", priority=50,
                  status="planned", due_at=NOW - timedelta(hours=2), created_at=NOW - timedelta(
                      days=1), summary="Call to say thank you for the first order")
    s.add(touch)  # type: ignore[attr-defined]
    s.flush()  # type: ignore[attr-defined]
    return touch.id


def seed(engine: Engine, *, plan: bool = True) -> World:
    """The world; ``plan``: with the example plan stored, in force from January 2026."""
    joined = datetime(2026, 1, 5, tzinfo=UTC)
    if plan:
        set_plan(engine, default_plan_path().read_text(encoding="utf-8"), Period(2026, 1),
                 source="example.toml", actor="test", now=NOW)
    with transaction(engine) as s:
        f.catalog(s)
        ann = f.distributor(s, "Ann", joined_at=joined)
        ben = f.distributor(s, "Ben", sponsor=ann, joined_at=joined)
        zed = f.distributor(s, "Zed", joined_at=joined)
        cory = f.customer(s, ann, "Cory", joined_at=joined, email="cory@example.com",
                          birth_month=10, birth_day=20, consents={"email": True})
        cleo = f.customer(s, ann, "Cleo", kind="preferred", joined_at=joined)
        bea = f.customer(s, ben, "Bea", joined_at=joined)
        zoe = f.customer(s, zed, "Zoe", joined_at=joined, email="zoe@example.com")
        start = date(2026, 11, 1)
        cory_sub = subscribe(s, cory, [Item("SHAKE")], Frequency("monthly", 10), start=start,
                             now=NOW, actor="test").id
        zoe_sub = subscribe(s, zoe, [Item("TEA")], Frequency("monthly", 12), start=start,
                            now=NOW, actor="test").id
        for i, buyer in enumerate((ann, ben, zed, cory, cleo, bea, zoe)):
            place_order(s, NewOrder(buyer, datetime(2026, 9, 3 + i, 15, tzinfo=UTC),
                                    [LineRequest("SHAKE", 2)], idempotency_key=f"seed-{i}"),
                        now=NOW)
        ann_task = _task(s, cory, ann, "thanks_ann")
        zed_task = _task(s, zoe, zed, "thanks_zed")
        for role, email in EMAILS.items():
            member = {"staff": None, "distributor": ann, "other_distributor": zed,
                      "customer": cory, "other_customer": zoe}[role]
            kind = role.removeprefix("other_")
            create_account(s, email=email, password=PASSWORD, role=kind, member_id=member,
                           now=NOW)
    return World(ann, ben, zed, cory, cleo, bea, zoe, cory_sub, zoe_sub, ann_task, zed_task)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_of(page.text), "next": ""},
                       follow_redirects=False)
