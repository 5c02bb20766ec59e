"""Customer referral reward: refer ``referrals`` customers who order in the period and earn the
average of their ``referrals`` largest orders, up to ``cap``."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from patronage.compensation.core.arrays import sum_by
from patronage.compensation.core.bonuses.base import BonusType
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import SOURCE_MEMBER
from patronage.compensation.core.units import Strict, hundredths
from patronage.languages import N_
from patronage.money import round_half_away


class CustomerReferral(Strict):
    """Refer ``referrals`` customers who order in the period; earn a credit computed from their
    orders (the average of the largest ``referrals`` orders), up to ``cap``. ``as`` says how it
    is paid: ``cash`` (with the other commissions) or ``credit`` (product credit in the
    customer's credit ledger, taken off their next orders: :mod:`patronage.credit`)."""

    referrals: int = Field(ge=1)
    credit: Literal["average_of_largest"] = "average_of_largest"
    cap: int
    paid_as: Literal["cash", "credit"] = Field("cash", alias="as")

    @field_validator("cap", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> int:
        return hundredths(v)


class CustomerReferralBonus(BonusType[CustomerReferral]):
    name = "customer_referral"
    model = CustomerReferral
    lines: ClassVar[dict[str, int]] = {"customer_referral": 4}
    names: ClassVar[dict[str, str]] = {"customer_referral": N_("customer referral")}
    money = ("cap",)

    def pay(self, st: PayState, section: CustomerReferral) -> None:
        g, need = st.g, section.referrals
        c = np.flatnonzero(~st.is_dist & (st.customer_spend > 0) & (g.referrer >= 0))
        counts = np.bincount(g.referrer[c], minlength=g.size)
        c = c[counts[g.referrer[c]] >= need]  # only they can earn the reward
        ref, value = g.referrer[c], st.customer_spend[c]
        order = np.lexsort((-value, ref))
        ref, value = ref[order], value[order]
        start = np.ones(ref.shape[0], dtype=bool)
        start[1:] = ref[1:] != ref[:-1]
        first_of = np.maximum.accumulate(np.where(start, np.arange(ref.shape[0]), 0))
        top = np.arange(ref.shape[0]) - first_of < need
        sums = sum_by(ref[top], value[top], g.size)
        who = np.flatnonzero(counts >= need)
        credit = np.minimum(section.cap, (2 * sums[who] + need) // (2 * need))
        st.add_pay(who, "customer_referral", SOURCE_MEMBER, who, 0, sums[who], 0, credit)

    def reference(self, st: ReferenceState, section: CustomerReferral) -> None:
        g = st.g
        spends: dict[int, list[int]] = defaultdict(list)
        for c in range(g.size):
            ref = int(g.referrer[c])
            if ref >= 0 and not st.is_dist[c] and st.customer_spend.get(c, 0) > 0:
                spends[ref].append(st.customer_spend[c])
        for ref, values in sorted(spends.items()):
            if len(values) < section.referrals:
                continue
            top = sorted(values, reverse=True)[: section.referrals]
            credit = min(section.cap, round_half_away(sum(top), section.referrals))
            st.add_pay(ref, "customer_referral", SOURCE_MEMBER, ref, 0, sum(top), 0, credit)


BONUS = CustomerReferralBonus()
