"""The company dashboard's figures, counted ahead and stored (``company_figures``).

Counting them reads the last twelve weeks of orders, every subscription and every member, which
on a large company takes far longer than a page may; the ``company-figures`` job counts them
every few minutes and the dashboard shows the last count with the time it was counted. When
there is none yet (a new company), the page counts them once itself and stores the count.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from patronage.autoship.reports import CohortRow, ForecastMonth, forecast, retention_by_cohort
from patronage.clock import require_aware
from patronage.db.autoship import Subscription
from patronage.db.engine import transaction
from patronage.db.figures import CompanyFigures
from patronage.web.views.staff import Dashboard, dashboard

#: Counts kept: the newest, and the one before it while it is written.
KEEP = 2


@dataclass
class Figures:
    board: Dashboard
    autoships: dict[str, int]
    cohorts: list[CohortRow]
    ahead: list[ForecastMonth]
    #: when they were counted, and the time they are of
    counted_at: datetime
    as_of: datetime


def _count(engine: Engine, now: datetime) -> dict[str, Any]:
    with transaction(engine) as session:
        board = dashboard(session, now)
        autoships = {str(k): int(n) for k, n in session.execute(
            select(Subscription.status, func.count()).group_by(Subscription.status)).all()}
    return {"board": asdict(board), "autoships": autoships,
            "cohorts": [asdict(c) for c in retention_by_cohort(engine, now)[-12:]],
            "ahead": [asdict(f) for f in forecast(engine, now, 6)]}


def count_figures(engine: Engine, now: datetime, *, read: Engine | None = None) -> Figures:
    """Count the dashboard's figures as of ``now`` (from ``read``, a replica, when given) and
    store them; older counts are removed."""
    require_aware(now, place="now")
    document = _count(read or engine, now)
    with transaction(engine) as session:
        row = CompanyFigures(counted_at=now, as_of=now, figures=json.dumps(document))
        session.add(row)
        session.flush()
        keep = select(CompanyFigures.id).order_by(CompanyFigures.counted_at.desc(),
                                                  CompanyFigures.id.desc()).limit(KEEP)
        session.execute(delete(CompanyFigures).where(CompanyFigures.id.not_in(
            select(keep.subquery().c.id))))
    return _figures(document, now, now)


def latest_figures(session: Session) -> Figures | None:
    """The last count stored, or ``None``."""
    row = session.scalars(select(CompanyFigures).order_by(CompanyFigures.counted_at.desc(),
                                                          CompanyFigures.id.desc())
                          .limit(1)).first()
    if row is None:
        return None
    return _figures(json.loads(row.figures), row.counted_at, row.as_of)


def _figures(document: dict[str, Any], counted_at: datetime, as_of: datetime) -> Figures:
    b = document["board"]
    board = Dashboard(b["weeks"], b["sales"], b["orders"], b["consumption"], b["promotional"],
                      b["customer"], b["distributor"],
                      [(str(p), int(cv), int(paid)) for p, cv, paid in b["commission"]],
                      b["kinds"])
    return Figures(board, document["autoships"],
                   [CohortRow(c["cohort"], c["started"], c["retained"])
                    for c in document["cohorts"]],
                   [ForecastMonth(f["month"], f["subscriptions"], f["cv"])
                    for f in document["ahead"]], counted_at, as_of)
