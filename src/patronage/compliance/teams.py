"""Teams whose volume comes too little from customers: the list the compliance page shows."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from sqlalchemy import Engine, select

from patronage.compliance.core.evidence import DistributorEvidence, VolumeMix, below_share
from patronage.db.engine import transaction
from patronage.db.tables import Member


@dataclass(frozen=True)
class TeamRow:
    member_id: int
    name: str
    ref: str | None
    team: VolumeMix
    personal: VolumeMix
    customers: int


def teams_below(engine: Engine, ev: DistributorEvidence, minimum: Fraction,
                limit: int = 20) -> tuple[int, list[TeamRow]]:
    """How many teams (a distributor with a downline) buy less than ``minimum`` of their volume
    from customers, and the ``limit`` largest of them by team volume."""
    team_total = ev.team_consumption + ev.team_promotional
    has_downline = np.zeros(ev.size, dtype=bool)
    has_downline[ev.sponsor[ev.sponsor >= 0]] = True
    low = np.flatnonzero(below_share(ev.team_customer, team_total, minimum) & has_downline)
    largest = low[np.argsort(-team_total[low], kind="stable")][:limit]
    ids = [int(ev.member_id[i]) for i in largest]
    with transaction(engine) as session:
        names = {r.id: (f"{r.first_name} {r.last_name}".strip(), r.ref) for r in session.execute(
            select(Member.id, Member.first_name, Member.last_name, Member.ref)
            .where(Member.id.in_(ids)))} if ids else {}
    rows = [TeamRow(member_id=int(ev.member_id[i]), name=names.get(int(ev.member_id[i]),
                                                                   ("", None))[0],
                    ref=names.get(int(ev.member_id[i]), ("", None))[1], team=ev.team(int(i)),
                    personal=ev.personal(int(i)), customers=int(ev.customers[i]))
            for i in largest]
    return int(low.shape[0]), rows
