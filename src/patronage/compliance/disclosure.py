"""The income disclosure statement of a year, from its committed periods.

*Participants* are the distributors who held the role at some time in the year: joined before
the year ended and not deactivated before it began (erased members included, without names).
A participant's *gross earnings* are the sum of their committed payout lines of the year's
periods in the plan currency, clawbacks included (kept per run in their rank record);
expenses are not deducted. Their *paid-as rank* is the highest rank they were paid as in a
committed month of the year ("no rank" if none), with the months at that rank. The
*full-year cohort* are the participants who joined before the year began and were not
deactivated during it. Figures come only from stored rows, so a year regenerated at any time
gives the same statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

import numpy as np
from sqlalchemy import Connection, Engine

from patronage.arrays import index_of
from patronage.clock import Period, period_bounds
from patronage.compensation.runs import PlanSource
from patronage.compliance.core.disclosure import EarningsRow, earnings_table, highest_rank
from patronage.compliance.periods import committed_runs, require_runs
from patronage.db.loaders import epoch_sql
from patronage.fastpath.reads import integer_matrix
from patronage.markets.markets import plan_currency


@dataclass(frozen=True)
class Disclosure:
    year: int
    currency: str
    periods: tuple[str, ...]
    rank_names: tuple[str, ...]
    participants: int
    everyone: list[EarningsRow]
    full_year: list[EarningsRow]
    full_year_participants: int

    def rank_name(self, rank: int | None) -> str | None:
        if rank is None or rank < 0 or rank >= len(self.rank_names):
            return None
        return self.rank_names[rank]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def income_disclosure(engine: Engine, year: int, tz: tzinfo) -> Disclosure:
    """The statement of ``year`` (company time zone ``tz`` for the year's bounds)."""
    first, last = Period(year, 1), Period(year, 12)
    start, _ = period_bounds(first, tz)
    _, end = period_bounds(last, tz)
    with engine.connect() as conn:
        runs = require_runs(committed_runs(conn, first, last), f"income disclosure for {year}")
        ids = ", ".join(str(int(r.id)) for r in runs)
        people = integer_matrix(conn, _participants_sql(conn), {}, 3)
        ranks = integer_matrix(
            conn, "SELECT member_id, paid_as, earned FROM rank_records "
                  f"WHERE run_id IN ({ids})", {}, 3)
        currency = plan_currency(conn)
    role = (people[:, 1] < _epoch(end)) & (people[:, 2] >= _epoch(start))
    people = people[role]
    member_id = people[:, 0].copy()
    n = member_id.shape[0]
    who = index_of(member_id, ranks[:, 0])
    mine = who >= 0
    earnings = np.zeros(n, dtype=np.int64)
    np.add.at(earnings, who[mine], ranks[mine, 2])
    rank, months = highest_rank(who[mine], ranks[mine, 1], n)
    full = (people[:, 1] < _epoch(start)) & (people[:, 2] >= _epoch(end))
    names = tuple(r.name for r in PlanSource.from_text(runs[-1].plan_text).plan.ranks)
    return Disclosure(
        year=year, currency=currency, periods=tuple(str(r.period) for r in runs),
        rank_names=names, participants=n, everyone=earnings_table(rank, earnings, months),
        full_year=earnings_table(rank[full], earnings[full], months[full]),
        full_year_participants=int(full.sum()))


def _participants_sql(conn: Connection) -> str:
    joined = epoch_sql(conn, "joined_at")
    deactivated = epoch_sql(conn, "deactivated_at")
    return (f"SELECT id, {joined}, COALESCE({deactivated}, {NEVER}) FROM members "
            "WHERE kind = 'distributor' ORDER BY id")


#: Never deactivated, as epoch seconds.
NEVER = 9_000_000_000_000
