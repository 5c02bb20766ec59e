"""The vectorised compensation engine on a generated company, against the reference engine.

    .venv/bin/python benchmarks/commissions_engine.py --members 10000000 --reference 100000

Prints: seconds to run the example plan with the vectorised engine on ``--members`` members
(about one order each, facts built in memory), peak memory of the process, payout lines and total
paid; then both engines on ``--reference`` members (the vectorised one ``--repeat`` times:
first run, median and best), the ratios, and whether their lines agree. The first run in a
fresh process also pays a page fault for each page of memory the process has not used yet.

``--conversion`` instead times the engine on ``--members`` members with currency conversion
off and on in the same process (members spread over USD, CAD, GBP and MXN markets: order money
converted into the plan currency before the engine, every payout line into its earner's
currency after, as a commission run does) and prints the ratio::

    .venv/bin/python benchmarks/commissions_engine.py --conversion --members 200000

The facts are built and run inside :func:`patronage.fastpath.allocator.reused_memory`, as the
``patronage commissions`` commands load and run them, so the engine reuses memory the facts'
building freed; ``--fresh-memory`` builds and runs them outside it (the engine then pays a page
fault for nearly every array it makes).

``--plan`` runs another plan file; a plan with a binary bonus (``plans/binary-hybrid.toml``)
gets every distributor placed in a filled-in binary tree and leg volume carried in::

    .venv/bin/python benchmarks/commissions_engine.py --plan plans/binary-hybrid.toml
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np

from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.plan import Plan, default_plan_path, load_plan
from patronage.compensation.core.reference import run_reference
from patronage.demo.inmemory import company_facts, with_placement
from patronage.facts import PeriodFacts
from patronage.fastpath.allocator import reused_memory
from patronage.markets.core.conversion import Rates, columns_to_plan, from_plan, parse_rate


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--reference", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of the vectorised engine on the reference size")
    parser.add_argument("--fresh-memory", action="store_true",
                        help="build and run outside reused_memory() (glibc as it comes)")
    parser.add_argument("--conversion", action="store_true",
                        help="time the engine with currency conversion off and on")
    parser.add_argument("--plan", type=Path, default=None,
                        help="the plan file (default: the example plan)")
    args = parser.parse_args()
    plan = load_plan(args.plan or default_plan_path())
    binary = plan.bonuses.section("binary") is not None

    def facts_of(members: int, seed: int) -> PeriodFacts:
        facts = company_facts(members, seed=seed)
        return with_placement(facts, seed=seed) if binary else facts

    if args.conversion:
        conversion(args.members, args.repeat, plan)
        return

    with nullcontext() if args.fresh_memory else reused_memory():
        t0 = time.perf_counter()
        facts = facts_of(args.members, 1)
        t1 = time.perf_counter()
        result = run_engine(facts, plan)
        t2 = time.perf_counter()
    print(f"vectorised {args.members:,} members, {facts.lines.size:,} lines: "
          f"facts built in {t1 - t0:.1f}s, engine {t2 - t1:.2f}s, "
          f"{result.payouts.size:,} payout lines, {result.skips.size:,} skips, "
          f"paid {result.payouts.amount.sum() / 100:,.2f} of CV {result.total_cv / 100:,.2f}, "
          f"peak RSS {peak_gib():.2f} GiB", flush=True)
    del facts, result  # the reference comparison below starts from here

    with nullcontext() if args.fresh_memory else reused_memory():
        small = facts_of(args.reference, 2)
        times = []
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            fast_small = run_engine(small, plan)
            times.append(time.perf_counter() - t0)
    first, middle, best = times[0], statistics.median(times), min(times)
    t1 = time.perf_counter()
    ref_small = run_reference(small, plan, {})
    slow = time.perf_counter() - t1
    agree = fast_small.payouts.rows() == ref_small.payouts.rows()
    agree &= all(np.array_equal(v, ref_small.carry[k]) for k, v in fast_small.carry.items())
    print(f"reference size {args.reference:,} members, {small.lines.size:,} lines: "
          f"vectorised {first:.3f}s first run, {middle:.3f}s median and {best:.3f}s best of "
          f"{len(times)}; reference {slow:.2f}s; ratio {slow / first:.0f}x to the first run, "
          f"{slow / middle:.0f}x to the median, {slow / best:.0f}x to the best; "
          f"identical payout lines: {agree}", flush=True)


def conversion(members: int, repeat: int, plan: Plan) -> None:
    """The engine alone, then conversion in + engine + conversion out, best of ``repeat``."""
    with reused_memory():
        facts = company_facts(members, seed=1)
        rates = Rates("USD", {"CAD": parse_rate("0.7312"), "GBP": parse_rate("1.2645"),
                              "MXN": parse_rate("0.0551")})
        member_currency = np.random.default_rng(3).integers(0, 4, facts.genealogy.size)
        line_currency = member_currency[facts.lines.buyer]
        off, on, into, out = [], [], [], []
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            plain = run_engine(facts, plan)
            t1 = time.perf_counter()
            amount, retail, wholesale = columns_to_plan(
                [facts.lines.amount, facts.lines.retail_total, facts.lines.wholesale_total],
                line_currency, rates)
            lines = replace(facts.lines, amount=amount, retail_total=retail,
                            wholesale_total=wholesale)
            t2 = time.perf_counter()
            converted = run_engine(replace(facts, lines=lines), plan)
            t3 = time.perf_counter()
            paid = from_plan(converted.payouts.amount,
                             member_currency[converted.payouts.earner], rates)
            t4 = time.perf_counter()
            off.append(t1 - t0)
            on.append(t4 - t1)
            into.append(t2 - t1)
            out.append(t4 - t3)
    print(f"{members:,} members, {facts.lines.size:,} lines, {plain.payouts.size:,} / "
          f"{paid.size:,} payout lines: engine {min(off):.3f}s without conversion, "
          f"{min(on):.3f}s with (best of {len(off)}; converting order money in "
          f"{min(into):.4f}s, payout lines out {min(out):.4f}s); "
          f"ratio {min(on) / min(off):.3f}", flush=True)


if __name__ == "__main__":
    main()
