"""My team's "who needs help" for the leader with the largest front line: the job's flags and
the walk down the downline, alternated in one process, on a database ``web_pages.py`` built.

    .venv/bin/python benchmarks/team_help.py --db /tmp/web_1m_pages.db --calls 40
    .venv/bin/python benchmarks/team_help.py --db /tmp/web_1m_pages.db --tail 350

Run ``web_pages.py`` on the file first (it builds the company and runs the ``open-volumes``
job). ``--tail N`` places N orders after the count (half by people of the leader's three levels)
in a transaction rolled back at the end, so the flags are read with that tail. Both answers are
checked equal; p50, p95 and CPU seconds per call are printed for each.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from patronage.db.bulk import fetch_rows
from patronage.db.engine import make_engine, session_factory
from patronage.db.tables import Member
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.web.views.team_help import _HELP_SQL, who_needs_help

NOW = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--tail", type=int, default=0)
    args = parser.parse_args()
    engine = make_engine(f"sqlite:///{args.db}")
    with session_factory(engine)() as s, s.begin():
        leader = int(s.execute(select(Member.sponsor_id, func.count())
                               .where(Member.sponsor_id.is_not(None))
                               .group_by(Member.sponsor_id)
                               .order_by(func.count().desc()).limit(1)).one()[0])
        if args.tail:
            sku = s.execute(text("SELECT sku FROM products ORDER BY sku LIMIT 1")).scalar_one()
            down = [int(r[0]) for r in fetch_rows(s.connection(), _HELP_SQL, {
                "root": leader, "depth": 3, "since": NOW, "now": NOW})]
            highest = int(s.scalar(select(func.max(Member.id))) or 1)
            rnd = random.Random(1)
            for k in range(args.tail):
                buyer = rnd.choice(down) if k % 2 else rnd.randrange(1, highest)
                place_order(s, NewOrder(buyer, NOW - timedelta(minutes=5),
                                        [LineRequest(sku, 1)], idempotency_key=uuid.uuid4().hex),
                            now=NOW)
            s.flush()
        times: dict[bool, list[float]] = {True: [], False: []}
        cpu = {True: 0.0, False: 0.0}
        answers = {}
        for i in range(args.calls + 1):
            for stored in ((True, False) if i % 2 else (False, True)):
                wall, used = time.perf_counter(), time.process_time()
                answers[stored] = who_needs_help(s, leader, NOW, UTC, stored=stored)
                if i:  # the first call of each warms the caches
                    times[stored].append(time.perf_counter() - wall)
                    cpu[stored] += time.process_time() - used
        assert answers[True] == answers[False], "the flags' lists are not the walk's"
        s.rollback()
    print(f"leader {leader}, {args.calls} calls each, {args.tail} orders after the count")
    for stored in (False, True):
        ordered = sorted(times[stored])
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        print(f"{'flags' if stored else 'walk':<6} p50 {statistics.median(ordered) * 1000:7.1f} ms"
              f"  p95 {p95 * 1000:7.1f} ms  CPU {cpu[stored] / len(ordered):.3f} s a call")


if __name__ == "__main__":
    main()
