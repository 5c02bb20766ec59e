"""Who sees which member: staff and tokens all, distributors their customers and downline,
customers themselves; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from patronage.access import (
    Forbidden,
    Principal,
    can_see_member,
    require_member,
    require_scope,
    visible_member_ids,
    visible_members_query,
)
from patronage.db.engine import transaction
from patronage.errors import NotFound
from tests.factories import customer, distributor


@dataclass
class Tree:
    top: int
    mid: int
    deep: int
    other: int
    top_customer: int
    mid_customer: int
    other_customer: int


def _tree(engine: Engine) -> Tree:
    """top → mid → deep (sponsor chain); other is a separate line; each has a customer."""
    with transaction(engine) as s:
        top = distributor(s, "Top")
        mid = distributor(s, "Mid", sponsor=top)
        deep = distributor(s, "Deep", sponsor=mid)
        other = distributor(s, "Other")
        return Tree(top, mid, deep, other, customer(s, top, "TopC"), customer(s, mid, "MidC"),
                    customer(s, other, "OtherC"))


def _visible(engine: Engine, principal: Principal) -> set[int]:
    with transaction(engine) as s:
        listed = {m.id for m in s.scalars(visible_members_query(principal))}
        ids = visible_member_ids(principal)
        if ids is not None:
            assert set(s.scalars(ids)) == listed
        return listed


def _everyone(t: Tree) -> set[int]:
    return {t.top, t.mid, t.deep, t.other, t.top_customer, t.mid_customer, t.other_customer}


def test_distributor_sees_self_own_customers_and_whole_downline(engine: Engine) -> None:
    t = _tree(engine)
    top = Principal.for_role("distributor", t.top, "Top")
    assert _visible(engine, top) == {t.top, t.mid, t.deep, t.top_customer}
    with transaction(engine) as s:
        for member in _everyone(t):
            assert can_see_member(s, top, member) == (
                member in {t.top, t.mid, t.deep, t.top_customer}), member


def test_distributor_sees_neither_upline_nor_another_line(engine: Engine) -> None:
    t = _tree(engine)
    mid = Principal.for_role("distributor", t.mid, "Mid")
    assert _visible(engine, mid) == {t.mid, t.deep, t.mid_customer}
    with transaction(engine) as s:
        assert not can_see_member(s, mid, t.top)
        assert not can_see_member(s, mid, t.other_customer)
        with pytest.raises(NotFound, match=f"member {t.other_customer} does not exist"):
            require_member(s, mid, t.other_customer)
        assert require_member(s, mid, t.deep).first_name == "Deep"


def test_customer_sees_only_themselves(engine: Engine) -> None:
    t = _tree(engine)
    me = Principal.for_role("customer", t.mid_customer, "MidC")
    assert _visible(engine, me) == {t.mid_customer}
    with transaction(engine) as s:
        assert not can_see_member(s, me, t.mid)
        assert can_see_member(s, me, t.mid_customer)


def test_staff_and_tokens_see_everyone_but_not_what_does_not_exist(engine: Engine) -> None:
    t = _tree(engine)
    for principal in (Principal.for_role("staff", None, "Sam"),
                      Principal("token", None, frozenset({"members:read"}), "shop")):
        assert _visible(engine, principal) == _everyone(t)
        with transaction(engine) as s:
            assert can_see_member(s, principal, t.other_customer)
            assert not can_see_member(s, principal, 10_000)


def test_a_moved_distributor_leaves_the_old_upline(engine: Engine) -> None:
    from patronage.network.members import move_sponsor
    from tests.factories import T0

    t = _tree(engine)
    with transaction(engine) as s:
        move_sponsor(s, t.mid, t.other, effective_at=T0, recorded_at=T0, actor="staff",
                     reason="asked to move")
    top = Principal.for_role("distributor", t.top, "Top")
    other = Principal.for_role("distributor", t.other, "Other")
    assert _visible(engine, top) == {t.top, t.top_customer}
    with transaction(engine) as s:
        assert can_see_member(s, other, t.deep)
        assert not can_see_member(s, top, t.deep)
    assert {t.mid, t.deep} <= _visible(engine, other)


def test_missing_scope_is_forbidden_with_its_name() -> None:
    customer_principal = Principal.for_role("customer", 7, "Cory")
    require_scope(customer_principal, "autoship:write")
    with pytest.raises(Forbidden, match="commissions:read"):
        require_scope(customer_principal, "commissions:read")
    token = Principal("token", None, frozenset({"orders:write"}), "shop")
    with pytest.raises(Forbidden, match="members:read"):
        require_scope(token, "members:read")


def test_a_member_sign_in_needs_its_member() -> None:
    with pytest.raises(Exception, match="needs the member"):
        Principal.for_role("distributor", None, "nobody")


def test_a_deep_line_is_seen_from_its_top_and_not_from_its_bottom(engine: Engine) -> None:
    with transaction(engine) as s:
        chain = [distributor(s, "L0")]
        for level in range(1, 150):
            chain.append(distributor(s, f"L{level}", sponsor=chain[-1]))
        bottom_customer = customer(s, chain[-1], "End")
    top = Principal.for_role("distributor", chain[0], "top")
    bottom = Principal.for_role("distributor", chain[-1], "bottom")
    with transaction(engine) as s:
        assert can_see_member(s, top, chain[-1])
        assert not can_see_member(s, top, bottom_customer)  # the bottom's own customer
        assert not can_see_member(s, bottom, chain[0])
    assert _visible(engine, top) == set(chain)
    assert _visible(engine, bottom) == {chain[-1], bottom_customer}
