"""What the API tests share: the app on the test database, tokens, a small company, and callers
of every role. (No tests here.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from patronage.access import Principal
from patronage.api.deps import get_principal
from patronage.api.tokens import create_token
from patronage.autoship.core.schedule import Frequency
from patronage.autoship.subscriptions import Item, subscribe
from patronage.clock import FixedClock, Period
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.plan_versions import set_plan
from patronage.config import Settings
from patronage.db.care import MemberNote, SurveyResponse, Touch
from patronage.db.care import Testimonial as StoryRow
from patronage.db.engine import transaction
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.server import create_app
from tests.factories import catalog, customer, distributor

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)
API = "/api/v1"


def store_example_plan(engine: Engine, start: Period = Period(2026, 1)) -> None:
    set_plan(engine, default_plan_path().read_text(encoding="utf-8"), start,
             source="example.toml", actor="test", now=NOW)


def app_for(engine: Engine, clock: FixedClock | None = None) -> TestClient:
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                        secret_key="a-test-secret-that-is-long-enough", demo_mode=False)
    app = create_app(settings=settings, engine=engine, clock=clock or FixedClock(NOW),
                     migrate=False)
    return TestClient(app, raise_server_exceptions=False)


def token_for(engine: Engine, *scopes: str, name: str = "shop") -> str:
    with transaction(engine) as s:
        return create_token(s, name=name, scopes=list(scopes), now=NOW, created_by="test")[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def acting_as(client: TestClient, principal: Principal | None) -> TestClient:
    """The same app, with every request made by ``principal`` (as a signed-in web session would
    be); ``None`` restores the real credentials check."""
    overrides = client.app.dependency_overrides  # type: ignore[attr-defined]
    if principal is None:
        overrides.pop(get_principal, None)
    else:
        overrides[get_principal] = lambda: principal
    return client


@dataclass
class Company:
    """top → mid (sponsor chain), and a separate line ``other``; each with a customer on
    autoship and an order."""

    top: int
    mid: int
    other: int
    top_customer: int
    mid_customer: int
    other_customer: int
    mid_customer_order: int
    other_customer_order: int
    mid_customer_sub: int
    other_customer_sub: int
    mid_customer_task: int
    other_customer_task: int
    mid_customer_testimonial: int
    other_customer_testimonial: int

    def staff(self) -> Principal:
        return Principal.for_role("staff", None, "sam@example.com")

    def distributor(self, member_id: int) -> Principal:
        return Principal.for_role("distributor", member_id, f"d{member_id}@example.com")

    def customer(self, member_id: int) -> Principal:
        return Principal.for_role("customer", member_id, f"c{member_id}@example.com")


def care_records(s: Session, member: int, owner: int) -> tuple[int, int]:
    """A planned call, a survey answer, a testimonial and a note about ``member``; returns the
    ids of the call and the testimonial."""
    touch = Touch(member_id=member, owner_id=owner, rule_key="thanks", occasion="first_order",
                  occasion_key=str(member), channel="task", template="call", status="planned",
                  due_at=NOW, created_at=NOW, summary="Call to say thank you")
    story = StoryRow(member_id=member, text="I love it", consent_to_publish=True,
                  discloses_connection=False, status="submitted", submitted_at=NOW)
    s.add_all([touch, story])
    s.add(SurveyResponse(member_id=member, survey_key="serve", score=9, comment="great",
                         serious=False, answered_at=NOW))
    s.add(MemberNote(member_id=member, author="test", body="likes tea", at=NOW))
    s.flush()
    return touch.id, story.id


def company(engine: Engine, *, plan: bool = True) -> Company:
    """The company; ``plan``: with the example plan stored, in force from January 2026."""
    if plan:
        store_example_plan(engine)
    with transaction(engine) as s:
        catalog(s)
        top = distributor(s, "Tia", email="tia@example.com")
        mid = distributor(s, "Mo", sponsor=top)
        other = distributor(s, "Ola")
        top_c = customer(s, top, "Tess")
        mid_c = customer(s, mid, "Mia", kind="preferred", country="US")
        other_c = customer(s, other, "Oscar", kind="preferred", country="US")
        orders = [place_order(s, NewOrder(c, NOW, [LineRequest("SHAKE", 2)]), now=NOW).order.id
                  for c in (mid_c, other_c)]
        subs = [subscribe(s, c, [Item("SHAKE")], Frequency("monthly", 20),
                          start=date(2026, 10, 16), now=NOW, actor="test").id
                for c in (mid_c, other_c)]
        care = [care_records(s, member, owner) for member, owner in ((mid_c, mid),
                                                                    (other_c, other))]
    return Company(top, mid, other, top_c, mid_c, other_c, orders[0], orders[1], subs[0],
                   subs[1], care[0][0], care[1][0], care[0][1], care[1][1])
