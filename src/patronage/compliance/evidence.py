"""Customer-volume evidence from the committed periods: per distributor, per team and for the
company (see :mod:`patronage.compliance.core.evidence` for the definitions)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from sqlalchemy import Connection, Engine, Executable, func, select

from patronage.arrays import I64, index_of
from patronage.clock import Period
from patronage.compliance.core.evidence import (
    CustomerRatio,
    DistributorEvidence,
    VolumeMix,
    customer_ratio,
    evidence,
    sponsor_indexes,
)
from patronage.compliance.periods import CommittedRun, committed_runs, require_runs
from patronage.db.tables import Member
from patronage.fastpath.reads import integer_matrix

CUSTOMER_KINDS = ("retail", "preferred")
#: Customers counted as served: every status but terminated and erased.
SERVED = ("active", "inactive")


@dataclass(frozen=True)
class Evidence:
    first: Period
    last: Period
    runs: int
    distributors: DistributorEvidence
    company: VolumeMix
    ratio: CustomerRatio
    #: Committed runs in the range made before the volume mix was recorded (left out).
    runs_without_mix: int

    @property
    def ordering_per_month(self) -> Fraction | None:
        """Customers who bought, a month on average over the runs read."""
        return Fraction(self.ratio.ordering_customers, self.runs) if self.runs else None


def _ids(runs: list[CommittedRun]) -> str:
    return ", ".join(str(int(r.id)) for r in runs)


def load_evidence(engine: Engine, first: Period, last: Period) -> Evidence:
    """The evidence summed over the committed periods ``first..last``."""
    with engine.connect() as conn:
        runs = require_runs(committed_runs(conn, first, last),
                            f"customer-volume evidence for {first}..{last}")
        usable = [r for r in runs if r.volume_mix]
        people = integer_matrix(
            conn, "SELECT id, COALESCE(sponsor_id, -1) FROM members "
                  "WHERE kind = 'distributor' ORDER BY id", {}, 2)
        member_id, sponsor_id = people[:, 0].copy(), people[:, 1].copy()
        n = member_id.shape[0]
        mix = np.zeros((n, 4), dtype=np.int64)
        if usable:
            rows = integer_matrix(
                conn, "SELECT member_id, SUM(consumption_cv), SUM(promotional_cv), "
                      "SUM(customer_cv), SUM(COALESCE(ordering_customers, 0)) "
                      f"FROM rank_records WHERE run_id IN ({_ids(usable)}) GROUP BY member_id",
                {}, 5)
            at = index_of(member_id, rows[:, 0])
            keep = at >= 0
            mix[at[keep]] = rows[keep, 1:]
        customers = _per_owner(conn, member_id, select(Member.owner_id, func.count())
                               .where(Member.kind.in_(CUSTOMER_KINDS), Member.status.in_(SERVED),
                                      Member.owner_id.is_not(None))
                               .group_by(Member.owner_id))
    ev = evidence(member_id, sponsor_indexes(member_id, sponsor_id), mix[:, 0].copy(),
                  mix[:, 1].copy(), mix[:, 2].copy(), customers, mix[:, 3].copy())
    return Evidence(first=first, last=last, runs=len(usable), distributors=ev,
                    company=ev.company(), ratio=customer_ratio(ev),
                    runs_without_mix=len(runs) - len(usable))


def _per_owner(conn: Connection, member_id: I64, query: Executable) -> I64:
    out = np.zeros(member_id.shape[0], dtype=np.int64)
    rows = conn.execute(query).all()
    if rows:
        owners = np.array([r[0] for r in rows], dtype=np.int64)
        counts = np.array([r[1] for r in rows], dtype=np.int64)
        at = index_of(member_id, owners)
        keep = at >= 0
        out[at[keep]] = counts[keep]
    return out
