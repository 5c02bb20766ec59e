"""A customer reading their own care touches sees what reached them, never the internal notes."""

from __future__ import annotations

from sqlalchemy import Engine

from patronage.db.care import Touch
from patronage.db.engine import transaction
from tests.integration.test_api_support import API, NOW, acting_as, app_for, company


def test_customer_sees_own_messages_without_tasks_or_internal_wording(engine: Engine) -> None:
    c = company(engine)
    with transaction(engine) as s:
        s.add(Touch(member_id=c.mid_customer, owner_id=c.mid, rule_key="at_risk",
                    occasion="at_risk", occasion_key="2026-10", channel="email",
                    template="check_in", status="dropped", due_at=NOW, created_at=NOW,
                    summary="Call Ethan today: value at risk 812.00",
                    drop_reason="weekly cap reached for this member"))
    customer = acting_as(app_for(engine), c.customer(c.mid_customer))
    items = customer.get(f"{API}/care/touches").json()["items"]
    assert [(t["channel"], t["occasion"]) for t in items] == [("email", "at_risk")]
    assert "value at risk" not in str(items) and "cap" not in str(items)
    distributor = acting_as(app_for(engine), c.distributor(c.mid))
    seen = distributor.get(f"{API}/care/touches?member_id={c.mid_customer}").json()["items"]
    assert {t["channel"] for t in seen} == {"task", "email"}
    assert "Call Ethan today: value at risk 812.00" in {t["summary"] for t in seen}
