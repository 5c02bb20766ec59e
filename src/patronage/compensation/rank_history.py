"""The rank history a run reads: each member's qualified, paid-as and title ranks in the
committed periods before the one being run, from their ``rank_records``.

Only as many periods as the plan's rules over time and bonus types read are loaded
(:func:`patronage.compensation.core.history.history_periods`); a plan that reads none loads
nothing. Runs committed before the qualified rank was recorded count their paid-as rank as
qualified.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, text

from patronage.clock import Period
from patronage.compensation.core.history import RankHistory, history_periods
from patronage.compensation.core.plan import Plan
from patronage.db.loaders import integer_matrix
from patronage.facts import PeriodFacts


def history_before(engine: Engine, facts: PeriodFacts, plan: Plan,
                   period: Period) -> RankHistory:
    """The ranks of the committed months before ``period`` that ``plan`` reads, by member
    index of ``facts`` (row 0 the last committed period; -1 where a member has no record)."""
    n = facts.genealogy.size
    wanted = history_periods(plan)
    if wanted == 0:
        return RankHistory.empty(n)
    with engine.connect() as conn:
        runs = [int(r) for r in conn.execute(text(
            "SELECT id FROM commission_runs WHERE calendar = 'month' AND period < :p "
            "ORDER BY period DESC LIMIT :k"),
            {"p": str(period), "k": wanted}).scalars()]
        tables = np.full((3, len(runs), n), -1, dtype=np.int64)
        for j, run_id in enumerate(runs):
            rows = integer_matrix(conn, "SELECT member_id, COALESCE(qualified, paid_as), "
                                        "paid_as, title FROM rank_records WHERE run_id = :r",
                                  {"r": run_id}, 4)
            idx = facts.genealogy.index_of(rows[:, 0])
            found = idx >= 0
            for t in range(3):
                tables[t, j, idx[found]] = rows[found, t + 1]
    return RankHistory(tables[0], tables[1], tables[2])
