"""How members and orders are named to each viewer, and whose customer lists each may read: the
one rule of ``patronage.access`` behind the values routes, the pages and the explanations."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from patronage.access import member_labels, order_labels, require_customers_of
from patronage.db.engine import transaction
from patronage.errors import NotFound
from patronage.value.service import distributor_customers, distributor_overview
from tests.integration.test_api_support import NOW, company


def test_each_viewer_sees_names_only_of_members_they_may_see(engine: Engine) -> None:
    c = company(engine)
    everyone = (c.top, c.mid, c.other, c.top_customer, c.mid_customer, c.other_customer)
    with transaction(engine) as s:
        staff = member_labels(s, c.staff(), everyone)
        assert staff == member_labels(s, None, everyone)
        assert staff[c.mid_customer] == f"Mia (#{c.mid_customer})"
        top = member_labels(s, c.distributor(c.top), everyone)
        assert top == {c.top: f"Tia (#{c.top})", c.mid: f"Mo (#{c.mid})",
                       c.other: "a distributor of your team",
                       c.top_customer: f"Tess (#{c.top_customer})",
                       c.mid_customer: "a customer of your team",
                       c.other_customer: "a customer of your team"}
        mid = member_labels(s, c.distributor(c.mid), (c.top, c.mid_customer))
        assert mid == {c.top: "a distributor of your team",
                       c.mid_customer: f"Mia (#{c.mid_customer})"}
        me = member_labels(s, c.customer(c.mid_customer), (c.mid, c.mid_customer))
        assert me == {c.mid: "a distributor of your team",
                      c.mid_customer: f"Mia (#{c.mid_customer})"}
        assert member_labels(s, c.staff(), (999_999,)) == {}
        orders = (c.mid_customer_order, c.other_customer_order)
        assert order_labels(s, c.distributor(c.mid), orders) == {
            c.mid_customer_order: f"order {c.mid_customer_order}",
            c.other_customer_order: "an order of a customer of your team"}
        assert order_labels(s, c.distributor(c.top), orders) == {
            o: "an order of a customer of your team" for o in orders}
        assert order_labels(s, None, orders) == {o: f"order {o}" for o in orders}


def test_a_customer_list_is_for_the_company_and_its_distributor_only(engine: Engine) -> None:
    c = company(engine)
    with transaction(engine) as s:
        assert require_customers_of(s, c.staff(), c.mid).id == c.mid
        assert require_customers_of(s, c.distributor(c.mid), c.mid).id == c.mid
        for viewer, asked, why in (
                (c.distributor(c.top), c.mid, f"distributor {c.mid} has no customers you may see"),
                (c.distributor(c.mid), c.top, f"member {c.top} does not exist"),
                (c.distributor(c.mid), c.other, f"member {c.other} does not exist"),
                (c.customer(c.mid_customer), c.mid, f"member {c.mid} does not exist"),
                (c.staff(), c.mid_customer, f"distributor {c.mid_customer} does not exist")):
            with pytest.raises(NotFound) as refused:
                require_customers_of(s, viewer, asked)
            assert str(refused.value) == why
    # The services apply it when given the viewer (the API and the pages do).
    with pytest.raises(NotFound):
        distributor_customers(engine, c.mid, viewer=c.distributor(c.top))
    with pytest.raises(NotFound):
        distributor_overview(engine, c.mid, NOW, viewer=c.distributor(c.top))
    assert distributor_overview(engine, c.mid, NOW, viewer=c.distributor(c.mid)).customers == 1


def test_who_a_distributor_may_see_is_their_downline_and_customers(engine: Engine) -> None:
    """Walking each member's sponsors up gives the same as the whole downline walked down."""
    from sqlalchemy import select

    from patronage.access import visible_among, visible_member_ids
    from patronage.db.tables import Member

    c = company(engine)
    with transaction(engine) as s:
        everyone = [*s.scalars(select(Member.id)), 999_999]
        for who in (c.top, c.mid, c.other):
            viewer = c.distributor(who)
            scope = visible_member_ids(viewer)
            assert scope is not None
            plain = set(s.scalars(select(Member.id).where(Member.id.in_(everyone),
                                                          Member.id.in_(scope))))
            assert visible_among(s, viewer, everyone) == plain
            assert who in plain and 999_999 not in plain
        assert visible_among(s, c.distributor(c.top), [c.mid]) == {c.mid}
        assert visible_among(s, c.distributor(c.mid), [c.top]) == set()
