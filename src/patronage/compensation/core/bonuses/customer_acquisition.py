"""Customer acquisition: a fixed amount to the owner of each new customer who orders in the
period (the owner must be active when the plan says so). The line's volume is what the customer
spent in the period; a later refund of an order of that period claws the bonus back in
proportion (all of it when everything the customer bought then is refunded)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import field_validator

from patronage.compensation.core.bonuses.base import BonusType, Refunded
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import SOURCE_MEMBER
from patronage.compensation.core.units import Strict, hundredths
from patronage.languages import N_


class CustomerAcquisition(Strict):
    """A fixed amount to the owner for each new customer whose first order is in the period."""

    amount: int
    requires_active: bool = True

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> int:
        return hundredths(v)


class CustomerAcquisitionBonus(BonusType[CustomerAcquisition]):
    name = "customer_acquisition"
    model = CustomerAcquisition
    lines: ClassVar[dict[str, int]] = {"customer_acquisition": 3}
    names: ClassVar[dict[str, str]] = {"customer_acquisition": N_("customer acquisition")}
    money = ("amount",)
    clawed_sources = ("buyer",)

    def pay(self, st: PayState, section: CustomerAcquisition) -> None:
        g, facts = st.g, st.facts
        new = ~st.is_dist & (st.customer_spend > 0)
        new &= (g.joined_at >= facts.start) & (g.joined_at < facts.end)
        new &= st.parent >= 0
        c = np.flatnonzero(new)
        owner = st.parent[c]
        lost = (~st.active[owner] if section.requires_active
                else np.zeros(c.shape[0], dtype=bool))
        st.add_skip("customer_acquisition", SOURCE_MEMBER, c[lost], 0, owner[lost],
                    st.reason(owner[lost], 0), -1)
        st.add_pay(owner[~lost], "customer_acquisition", SOURCE_MEMBER, c[~lost], 0,
                   st.customer_spend[c[~lost]], 0, section.amount)

    def reference(self, st: ReferenceState, section: CustomerAcquisition) -> None:
        g, facts = st.g, st.facts
        for c in range(g.size):
            if st.is_dist[c] or not facts.start <= int(g.joined_at[c]) < facts.end:
                continue
            owner = st.parent[c]
            if owner < 0 or st.customer_spend.get(c, 0) <= 0:
                continue
            if section.requires_active and not st.active[owner]:
                st.add_skip("customer_acquisition", SOURCE_MEMBER, c, 0, owner,
                            st.reason(owner, 0), -1)
                continue
            st.add_pay(owner, "customer_acquisition", SOURCE_MEMBER, c, 0,
                       st.customer_spend[c], 0, section.amount)

    def clawback_base(self, section: CustomerAcquisition | None, refunded: Refunded) -> int:
        return refunded.amount


BONUS = CustomerAcquisitionBonus()
