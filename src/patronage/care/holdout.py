"""The holdout report: does appreciation keep customers?

A configurable share of members (a stable draw per member id and the rules' salt) gets no
automated touches. Comparing the customers in the holdout with the treated ones gives the
retention lift: retained means still ordering (a paid order in the last ``window_days``) or on
an active autoship; spend is what they paid in the window. The lift and the spend difference
come with 95% intervals (:mod:`patronage.care.core.lift`), for all, per join cohort (quarter)
and per rule (among the customers the rule had an occasion for: touched, or held out; a
cohort or rule with fewer than two customers in either group is left out). Only
customers who joined at least ``window_days`` before ``as_of`` count, so that everyone
compared had the time to order again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine, text

from patronage.arrays import I64, Bools
from patronage.care.core.facts import holdout_draws
from patronage.care.core.lift import Measured, by_cohort, measure
from patronage.care.core.rules import Rules, load_rules
from patronage.care.core.zones import DAY, civil
from patronage.db.bulk import fetch_rows
from patronage.db.loaders import bound_time, epoch_sql, integer_matrix


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
    #: retention lift and spend difference with intervals (:mod:`patronage.care.core.lift`):
    #: for all the customers compared, per join cohort (a quarter, "2025-Q3"), and per rule
    #: among the customers the rule had an occasion for in the window.
    overall: Measured | None = None
    cohorts: tuple[tuple[str, Measured], ...] = ()
    rules: tuple[tuple[str, Measured], ...] = ()
    #: what the gifts sent in the window cost (minor units): the price of the lift
    gift_cost: int = 0

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
                "z": round(self.z, 2),
                "overall": self.overall.as_dict() if self.overall else None,
                "cohorts": {k: m.as_dict() for k, m in self.cohorts},
                "rules": {k: m.as_dict() for k, m in self.rules},
                "gift_cost": self.gift_cost}




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
            "o.status = 'paid' AND o.total > 0 AND o.placed_at >= :start AND o.placed_at < :t) "
            "OR EXISTS "
            "(SELECT 1 FROM subscriptions s WHERE s.member_id = m.id AND s.status = 'active') "
            "THEN 1 ELSE 0 END, (SELECT COUNT(*) FROM care_touches c WHERE c.member_id = m.id "
            "AND c.status IN ('sent', 'done') AND c.due_at >= :start AND c.due_at < :t), "
            "COALESCE((SELECT SUM(o.total) FROM orders o WHERE o.buyer_id = m.id AND "
            "o.status = 'paid' AND o.placed_at >= :start AND o.placed_at < :t), 0), "
            f"{epoch_sql(conn, 'm.joined_at')} "
            "FROM members m WHERE m.kind <> 'distributor' AND m.status <> 'erased' AND "
            "m.joined_at < :start ORDER BY m.id"), params, 5)
        # Which rules had an occasion for whom in the window: made, or held out.
        gift_cost = int(conn.execute(text(
            "SELECT COALESCE(SUM(cost), 0) FROM care_gifts WHERE sent_at >= :start AND "
            "sent_at < :t"), params).scalar() or 0)
        touched = fetch_rows(conn, (
            "SELECT DISTINCT rule_key, member_id FROM care_touches WHERE due_at >= :start AND "
            "due_at < :t AND (status IN ('sent', 'done') OR drop_reason = 'holdout')"), params)
    s = rules.settings
    held = holdout_draws(m[:, 0], s.holdout_salt) < s.holdout_share
    retained = m[:, 1] == 1
    treated, holdout = compare(held, retained, m[:, 2])
    spend = m[:, 3]
    year, month, _ = civil(m[:, 4] // DAY) if m.shape[0] else (m[:, 4],) * 3
    quarter = year * 4 + (month - 1) // 3
    first = int(quarter.min()) if m.shape[0] else 0
    names = [f"{(first + i) // 4}-Q{(first + i) % 4 + 1}"
             for i in range(int(quarter.max()) - first + 1 if m.shape[0] else 0)]
    cohorts = by_cohort(quarter - first, held, retained, spend, len(names))
    per_rule = []
    row = {int(v): i for i, v in enumerate(m[:, 0].tolist())}
    members: dict[str, list[int]] = {}
    for key, member in touched:
        if int(member) in row:
            members.setdefault(str(key), []).append(row[int(member)])
    for key in sorted(members):
        at = np.array(members[key], dtype=np.int64)
        per_rule.append((key, measure(held[at], retained[at], spend[at])))
    return HoldoutReport(as_of, window_days, s.holdout_share, treated, holdout,
                         overall=measure(held, retained, spend),
                         cohorts=tuple((n, c) for n, c in zip(names, cohorts, strict=True)
                                       if _comparable(c)),
                         rules=tuple((k, m) for k, m in per_rule if _comparable(m)),
                         gift_cost=gift_cost)


def _comparable(m: Measured) -> bool:
    """Both groups hold at least two customers (a cohort or rule without is left out)."""
    return m.treated >= 2 and m.holdout >= 2
