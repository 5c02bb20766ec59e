"""The placement layout keeps leg sizes as members are added, equal to walking the legs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patronage.network.placement import RULES, Layout, Spot, leg_members


@st.composite
def trees(draw: st.DrawFn) -> dict[int, Spot]:
    """A few roots and members placed on free spots, in any shape."""
    tree: dict[int, Spot] = {0: Spot(None, 0)}
    for member in range(1, draw(st.integers(1, 40))):
        if draw(st.integers(0, 9)) == 0:
            tree[member] = Spot(None, 0)
            continue
        taken = {(s.parent, s.side) for s in tree.values()}
        free = [(m, side) for m in tree for side in (0, 1) if (m, side) not in taken]
        parent, side = draw(st.sampled_from(free))
        tree[member] = Spot(parent, side)
    return tree


@settings(max_examples=60, deadline=None)
@given(tree=trees(), rules=st.lists(st.sampled_from(RULES), min_size=1, max_size=8),
       sponsors=st.data())
def test_leg_sizes_follow_the_tree_as_members_are_added(tree: dict[int, Spot],
                                                        rules: list[str],
                                                        sponsors: st.DataObject) -> None:
    layout = Layout(tree)
    grown = dict(tree)
    for i, rule in enumerate(rules):
        sponsor = sponsors.draw(st.sampled_from(sorted(grown)))
        spot = layout.spot(sponsor, rule)
        assert spot.parent is not None
        assert all(s.parent != spot.parent or s.side != spot.side for s in grown.values())
        member = 1000 + i
        layout.add(member, spot)
        grown[member] = spot
        for m in grown:
            left, right = leg_members(grown, m)
            assert (layout.leg_size(m, 0), layout.leg_size(m, 1)) == (len(left), len(right))
