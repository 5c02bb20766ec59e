"""The holdout report: does appreciation keep customers?

A configurable share of members (a stable draw per member id and the rules' salt) gets no
automated touches. Comparing the customers in the holdout with the treated ones gives the
retention lift: retained means still ordering (a paid order in the last ``window_days``) or on
an active autoship. Only customers who joined at least ``window_days`` before ``as_of`` count,
so that everyone compared had the time to order again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from patronage.arrays import I64, Bools
from patronage.care.core.facts import holdout_draws
from patronage.care.core.rules import Rules, load_rules
from patronage.db.loaders import bound_time, integer_matrix


@dataclass(frozen=True)
class Group:
    members: int
    retained: int
    touches: int  # touches made (sent or done) for the group in the window

    @property
    def retention(self) -> float:
        return self.retained / self.members if self.members else 0.0


@dataclass(frozen=True)
class HoldoutReport:
    as_of: datetime
    window_days: int
    share: float
    treated: Group
    holdout: Group

    @property
    def lift(self) -> float:
        """Retention of the treated minus that of the holdout (a difference of shares)."""
        return self.treated.retention - self.holdout.retention

    @property
    def z(self) -> float:
        """Two-proportion z statistic of the lift (|z| > 1.96: unlikely to be chance)."""
        a, b = self.treated, self.holdout
        if not a.members or not b.members:
            return 0.0
        pooled = (a.retained + b.retained) / (a.members + b.members)
        se = math.sqrt(pooled * (1 - pooled) * (1 / a.members + 1 / b.members))
        return self.lift / se if se else 0.0

    def as_dict(self) -> dict[str, object]:
        def group(g: Group) -> dict[str, object]:
            return {"members": g.members, "retained": g.retained,
                    "retention": round(g.retention, 4), "touches": g.touches}

        return {"as_of": self.as_of.isoformat(), "window_days": self.window_days,
                "share": self.share, "treated": group(self.treated),
                "holdout": group(self.holdout), "lift": round(self.lift, 4),
                "z": round(self.z, 2)}




def compare(in_holdout: Bools, retained: Bools, touches: I64,
            ) -> tuple[Group, Group]:
    """Treated and holdout groups from per-customer flags and touch counts."""
    def group(mask: Bools) -> Group:
        return Group(int(mask.sum()), int((retained & mask).sum()), int(touches[mask].sum()))

    return group(~in_holdout), group(in_holdout)


def holdout_report(engine: Engine, as_of: datetime, rules: Rules | None = None, *,
                   window_days: int = 90) -> HoldoutReport:
    """Customers in the holdout against the treated: retention and the lift."""
    rules = rules or load_rules()
    start = as_of - timedelta(days=window_days)
    with engine.connect() as conn:
        params = {"t": bound_time(conn, as_of), "start": bound_time(conn, start)}
        m = integer_matrix(conn, (
            "SELECT m.id, CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.buyer_id = m.id AND "
            "o.status = 'paid' AND o.placed_at >= :start AND o.placed_at < :t) OR EXISTS "
            "(SELECT 1 FROM subscriptions s WHERE s.member_id = m.id AND s.status = 'active') "
            "THEN 1 ELSE 0 END, (SELECT COUNT(*) FROM care_touches c WHERE c.member_id = m.id "
            "AND c.status IN ('sent', 'done') AND c.due_at >= :start AND c.due_at < :t) "
            "FROM members m WHERE m.kind <> 'distributor' AND m.status <> 'erased' AND "
            "m.joined_at < :start ORDER BY m.id"), params, 3)
    s = rules.settings
    held = holdout_draws(m[:, 0], s.holdout_salt) < s.holdout_share
    treated, holdout = compare(held, m[:, 1] == 1, m[:, 2])
    return HoldoutReport(as_of, window_days, s.holdout_share, treated, holdout)
