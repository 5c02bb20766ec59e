"""The recruitment-reward index: of each committed run's payout, how much came from enrollment
packs and from new members rather than from repeat consumption.

A payout line's source decides: a line sourced from an order placed as an enrollment is
*enrollment*; a line sourced from an order its buyer placed within their first
:data:`NEW_MEMBER_DAYS` days, or sourced from a member (a bonus for the member's joining or first
weeks), is *new members*; every other line is *consumption*. Amounts are in the plan currency,
clawbacks included (a clawback is classified by the order it takes back).

A committed run never changes, so its split is computed once, the first time it is asked for
(one pass over the run's lines), and kept in ``reward_mix``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.clock import Period
from patronage.compensation.core.codes import SOURCE_MEMBER, SOURCE_ORDER
from patronage.compliance.periods import committed_runs, require_runs
from patronage.db.compliance import RewardMixRecord
from patronage.db.loaders import epoch_sql
from patronage.fastpath.reads import integer_matrix

#: An order placed this many days or fewer after its buyer joined counts as a new member's.
NEW_MEMBER_DAYS = 31
#: The ``rank`` of the row of every earner in ``reward_mix``.
EVERY_EARNER = -2


@dataclass(frozen=True)
class RewardMix:
    period: str
    rank: int | None  # the earner's paid-as rank in the period (-1 none); None: every earner
    total: int
    enrollment: int
    new_members: int

    @property
    def consumption(self) -> int:
        return self.total - self.enrollment - self.new_members

    @property
    def recruitment_share(self) -> Fraction | None:
        """The index: (enrollment + new members) / total."""
        return Fraction(self.enrollment + self.new_members, self.total) if self.total else None


def _sql(conn: Connection) -> str:
    new = (f"{epoch_sql(conn, 'o.placed_at')} - {epoch_sql(conn, 'm.joined_at')} "
           f"<= {NEW_MEMBER_DAYS * 86400}")
    return f"""
SELECT COALESCE(rr.paid_as, -1),
       SUM(pl.amount),
       SUM(CASE WHEN o.source = 'enrollment' THEN pl.amount ELSE 0 END),
       SUM(CASE WHEN pl.source_kind = {SOURCE_MEMBER} THEN pl.amount
                WHEN o.source <> 'enrollment' AND {new} THEN pl.amount
                ELSE 0 END)
FROM payout_lines pl
LEFT JOIN orders o ON pl.source_kind = {SOURCE_ORDER} AND o.id = pl.source_id
LEFT JOIN members m ON m.id = o.buyer_id
LEFT JOIN rank_records rr ON rr.run_id = pl.run_id AND rr.member_id = pl.earner_id
WHERE pl.run_id = :run
GROUP BY COALESCE(rr.paid_as, -1)
"""


def run_mix(engine: Engine, run_id: int) -> list[tuple[int, int, int, int]]:
    """``(rank, total, enrollment, new members)`` of a committed run, the row of every earner
    (rank :data:`EVERY_EARNER`) first; computed and kept on first use."""
    with engine.connect() as conn:
        kept = conn.execute(
            select(RewardMixRecord.rank, RewardMixRecord.total, RewardMixRecord.enrollment,
                   RewardMixRecord.new_members)
            .where(RewardMixRecord.run_id == run_id).order_by(RewardMixRecord.rank)).all()
    if kept:
        return [(r[0], r[1], r[2], r[3]) for r in kept]
    with engine.connect() as conn:
        rows = integer_matrix(conn, _sql(conn), {"run": run_id}, 4)
    by_rank = [(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]
    every = (EVERY_EARNER, int(rows[:, 1].sum()), int(rows[:, 2].sum()), int(rows[:, 3].sum()))
    found = sorted([every, *by_rank])
    try:
        with engine.begin() as conn:
            conn.execute(insert(RewardMixRecord), [
                {"run_id": run_id, "rank": r, "total": t, "enrollment": e, "new_members": n}
                for r, t, e, n in found])
    except IntegrityError:
        pass  # another reader kept the same figures first
    return found


def reward_mix(engine: Engine, first: Period, last: Period) -> list[RewardMix]:
    """Per committed period of ``first..last``: one row per paid-as rank, highest first
    (``-1``: paid without a rank), then the period's row for every earner (``rank=None``)."""
    with engine.connect() as conn:
        runs = require_runs(committed_runs(conn, first, last),
                            f"recruitment-reward index for {first}..{last}")
    out: list[RewardMix] = []
    for run in runs:
        rows = run_mix(engine, run.id)
        every = [r for r in rows if r[0] == EVERY_EARNER]
        ranks = sorted((r for r in rows if r[0] != EVERY_EARNER), key=lambda r: -r[0])
        for rank, total, enrollment, new in ranks:
            out.append(RewardMix(str(run.period), rank, total, enrollment, new))
        _, total, enrollment, new = every[0]
        out.append(RewardMix(str(run.period), None, total, enrollment, new))
    return out
