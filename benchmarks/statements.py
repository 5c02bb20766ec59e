"""Monthly statements in bulk: every distributor's statement of a month, as data and as PDF.

    .venv/bin/python benchmarks/statements.py --members 100000 --pdf 2000

Seeds (not timed) the month of ``benchmarks/payouts_ledger.py``: ``--members`` distributors, a
committed run with about 1.1 payout lines each, posted to the ledger, and the pay date's batch
(so the month has earnings, clawbacks and payments). Then times, on SQLite and PostgreSQL:
building every member's statement of the month (``statements_for``: opening balance, the
movements with their commissions by bonus, holds, closing balance; checked to add up), and
rendering the first ``--pdf`` of them as PDF (``statement_pdf``), reported per second.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime

from payouts_ledger import NOW, seed  # benchmarks/payouts_ledger.py, beside this script
from scratch import scratch_database  # benchmarks/scratch.py, beside this script

from patronage.clock import Period
from patronage.db.engine import make_engine
from patronage.payouts.batches import build_batch
from patronage.payouts.core.ledger import PayoutRules
from patronage.payouts.ledger import post_run
from patronage.payouts.statement_pdf import statement_pdf
from patronage.payouts.statements import statements_for

LATER = datetime(2026, 12, 2, tzinfo=UTC)


def run(url: str, label: str, members: int, run_id: int, pdfs: int) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        post_run(conn, run_id, now=NOW, actor="bench")
    build_batch(engine, date(2026, 11, 15), now=NOW, actor="bench",
                rules=PayoutRules.from_text("20.00", "500.00", 15))
    t0 = time.perf_counter()
    n = lines = 0
    sample = []
    for st in statements_for(engine, Period(2026, 11), now=LATER, company_zone="UTC"):
        st.check()
        n += 1
        lines += len(st.lines)
        if len(sample) < pdfs:
            sample.append(st)
    t1 = time.perf_counter()
    size = sum(len(statement_pdf(st, company_name="Bench")) for st in sample)
    t2 = time.perf_counter()
    pdf_rate = len(sample) / (t2 - t1) if sample else 0.0
    print(f"{label:10s} {members:,} members: {n:,} statements ({lines:,} lines) in "
          f"{t1 - t0:.1f}s = {n / (t1 - t0):,.0f}/s; {len(sample):,} PDFs in {t2 - t1:.1f}s = "
          f"{pdf_rate:,.0f}/s ({size / max(len(sample), 1) / 1e3:.0f} kB each); every "
          f"statement as PDF at that rate: {n / pdf_rate if pdf_rate else 0:,.0f}s", flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--pdf", type=int, default=2_000, help="Statements rendered as PDF.")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    for kind, skip in (("sqlite", args.skip_sqlite), ("postgresql", args.skip_postgres)):
        if skip:
            continue
        with scratch_database(kind) as url:
            run_id = seed(url, args.members, 1.1)
            run(url, kind, args.members, run_id, args.pdf)


if __name__ == "__main__":
    main()
