"""Commission runs and customer values through the API; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from patronage.clock import FixedClock, Period
from patronage.compensation.reports import explain_member
from patronage.db.accounts import AuditEntry
from patronage.db.engine import transaction
from patronage.demo.build import build_demo
from patronage.value.service import fit_values
from tests.integration.test_api_support import API, acting_as, app_for, company

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


def test_staff_previews_and_commits_a_period_once_with_an_audit_entry(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine, FixedClock(NOW)), c.staff())
    preview = client.get(f"{API}/commissions/2026-10/preview")
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["period"] == "2026-10" and body["total_cv"] == 2 * 2 * 3600
    done = client.post(f"{API}/commissions/2026-10/commit")
    assert done.status_code == 200, done.text
    assert done.json()["reproduces"] is True
    twice = client.post(f"{API}/commissions/2026-10/commit")
    assert twice.status_code == 409 and "already committed" in twice.json()["detail"]
    runs = client.get(f"{API}/commissions/runs").json()
    assert [(r["period"], r["total_paid"]) for r in runs] == [("2026-10", body["total_paid"])]
    with transaction(engine) as s:
        entries = list(s.scalars(select(AuditEntry)))
    assert [(e.action, e.target) for e in entries] == [("commissions.commit", "period 2026-10")]
    assert entries[0].actor == "staff:sam@example.com"


def test_a_bad_period_is_named(engine: Engine) -> None:
    c = company(engine)
    r = acting_as(app_for(engine), c.staff()).get(f"{API}/commissions/2026-13/preview")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["path", "period"]


def test_distributor_reads_own_explanation_and_rank_card_but_not_another_line(
        engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.distributor(c.mid))
    lines = client.get(f"{API}/commissions/2026-10/members/{c.mid}/explain")
    assert lines.status_code == 200, lines.text
    assert lines.json() == explain_member(engine, c.mid, Period(2026, 10))
    card = client.get(f"{API}/commissions/2026-10/members/{c.mid}/rank-card").json()
    assert card["member_id"] == c.mid and card["requirements"]
    assert client.get(f"{API}/commissions/2026-10/members/{c.other}/explain").status_code == 404
    assert client.get(f"{API}/commissions/2026-10/members/{c.top}/rank-card").status_code == 404


@pytest.mark.slow
def test_values_of_a_customer_and_a_distributors_customers(engine: Engine) -> None:
    build_demo(engine, seed=5, members=500, months=5, now=NOW)
    fit_values(engine, NOW)
    from patronage.db.tables import Member
    from patronage.db.value import CustomerValue

    with transaction(engine) as s:
        owners = aliased(Member)
        # A customer whose owner has a sponsor: the sponsor is above the owner, never visible.
        owner, member, stranger = s.execute(
            select(Member.owner_id, Member.id, owners.sponsor_id)
            .join(CustomerValue, CustomerValue.member_id == Member.id)
            .join(owners, owners.id == Member.owner_id)
            .where(Member.kind != "distributor", owners.sponsor_id.is_not(None))
            .order_by(Member.id).limit(1)).one()
    from patronage.access import Principal

    client = acting_as(app_for(engine, FixedClock(NOW)),
                       Principal.for_role("distributor", owner, "owner"))
    values = client.get(f"{API}/values/members/{member}")
    assert values.status_code == 200, values.text
    assert set(values.json()["seven_values"]) >= {"consumption", "referral", "emotional"}
    ranked = client.get(f"{API}/values/distributors/{owner}/customers?order_by=risk").json()
    assert member in {r["member_id"] for r in ranked}
    overview = client.get(f"{API}/values/distributors/{owner}/overview").json()
    assert overview["distributor_id"] == owner and overview["customers"] >= 1
    assert client.get(f"{API}/values/distributors/{stranger}/overview").status_code == 404
