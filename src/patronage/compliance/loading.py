"""Inventory-loading flags of a committed month (the rule:
:mod:`patronage.compliance.core.loading`), with each distributor's name and the evidence in
words; staff clear a flag with a note once they have looked into it
(:func:`patronage.compliance.flags.clear_flag`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine, select

from patronage.arrays import index_of
from patronage.clock import Period
from patronage.compliance.core.loading import DEFAULT_USED_SHARE, HISTORY, loading_flags
from patronage.compliance.periods import committed_runs, require_runs
from patronage.db.compliance import FlagClearance
from patronage.db.tables import Member
from patronage.fastpath.reads import integer_matrix


@dataclass(frozen=True)
class LoadingFlag:
    member_id: int
    name: str
    ref: str | None
    period: str
    own: int  # CV of their own orders in the month
    usual: int  # their largest month's own CV of the six before
    customer: int  # CV their customers bought through them in the month
    used_share: int  # basis points the rule asks for
    #: Staff's note when they looked into it and cleared it (``None``: open).
    cleared_note: str | None = None
    cleared_by: str | None = None

    @property
    def used(self) -> int:
        """Basis points of the own purchases plausibly used or sold (rounded down)."""
        return min((self.usual + self.customer) * 10_000 // self.own, 10_000)

    @property
    def reason(self) -> str:
        customers = ("no customer bought through them" if self.customer == 0 else
                     f"their customers bought {self.customer / 100:,.2f}")
        return (f"bought {self.own / 100:,.2f} points for themselves in {self.period}, against at "
                f"most {self.usual / 100:,.2f} in a month before; {customers}: at most "
                f"{self.used / 100:.0f}% can have been used or sold, the rule asks "
                f"{self.used_share / 100:.0f}%")


def load_loading_flags(engine: Engine, period: Period,
                       used_share: int = DEFAULT_USED_SHARE) -> list[LoadingFlag]:
    """The distributors flagged in the committed month ``period``, most bought first."""
    with engine.connect() as conn:
        return loading_flags_of(conn, period, used_share)


def loading_flags_of(conn: Connection, period: Period,
                     used_share: int = DEFAULT_USED_SHARE) -> list[LoadingFlag]:
    """:func:`load_loading_flags` on the caller's connection."""
    first = period
    for _ in range(HISTORY):
        first = first.previous()
    require_runs(committed_runs(conn, period, period), f"inventory-loading flags for {period}")
    runs = [r for r in committed_runs(conn, first, period) if r.volume_mix]
    if not runs or runs[-1].period != period:
        return []
    ids = ", ".join(str(int(r.id)) for r in runs)
    rows = integer_matrix(
        conn, "SELECT member_id, run_id, consumption_cv + promotional_cv - customer_cv, "
              f"customer_cv FROM rank_records WHERE run_id IN ({ids})", {}, 4)
    member_id = np.unique(rows[:, 0])
    run_id = np.array([r.id for r in runs], dtype=np.int64)
    order = np.argsort(run_id)
    at = index_of(member_id, rows[:, 0])
    col = order[np.searchsorted(run_id[order], rows[:, 1])].astype(np.int64)
    own = np.zeros((member_id.shape[0], len(runs)), dtype=np.int64)
    known = np.zeros(own.shape, dtype=bool)
    own[at, col] = rows[:, 2]
    known[at, col] = True
    customer = np.zeros(member_id.shape[0], dtype=np.int64)
    last = col == len(runs) - 1
    customer[at[last]] = rows[last, 3]
    found = loading_flags(own, customer, known, used_share)
    who = [int(member_id[i]) for i in found.index]
    names = {r.id: (f"{r.first_name} {r.last_name}".strip(), r.ref) for r in conn.execute(
        select(Member.id, Member.first_name, Member.last_name, Member.ref)
        .where(Member.id.in_(who)))} if who else {}
    cleared = {r.member_id: (r.note, r.cleared_by) for r in conn.execute(
        select(FlagClearance.member_id, FlagClearance.note, FlagClearance.cleared_by)
        .where(FlagClearance.kind == "loading", FlagClearance.subject == str(period),
               FlagClearance.member_id.in_(who)))} if who else {}
    flags = [LoadingFlag(member_id=m, name=names.get(m, ("", None))[0],
                         ref=names.get(m, ("", None))[1], period=str(period), own=int(o),
                         usual=int(u), customer=int(c), used_share=used_share,
                         cleared_note=cleared.get(m, (None, None))[0],
                         cleared_by=cleared.get(m, (None, None))[1])
             for m, o, u, c in zip(who, found.own, found.usual, found.customer, strict=True)]
    return sorted(flags, key=lambda f: (f.cleared_note is not None, -f.own, f.member_id))
