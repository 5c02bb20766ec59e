"""The growth and plan simulator at scale: a market of a million people over 60 months with the
example plan, the production engine paying every month.

    .venv/bin/python benchmarks/simulator.py --members 1000000 --months 60

The market is ``--members`` people; founders and recruiting are set so that the network reaches
the whole market within the run (the saturation curve flattens it), so every one of them is
simulated. Prints the time of the whole run, split into the simulation (joins, orders,
drop-outs, the month's arrays and figures) and the engine, with the largest month the engine
paid. The goal: 60 s or less at a million members.
"""

from __future__ import annotations

import argparse
import os
import time

from patronage.compensation.core.plan import default_plan_path, load_plan
from patronage.simulator.core.params import Models, Params
from patronage.simulator.core.simulation import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="the market size")
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--founders", type=int, default=0,
                        help="founding distributors (default: one per thousand of the market)")
    parser.add_argument("--recruits", type=float, default=0.25,
                        help="distributors a distributor brings a month, untouched market")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    plan = load_plan(default_plan_path())
    params = Params(market=args.members, founders=args.founders or max(1, args.members // 1000),
                    recruits_per_distributor=args.recruits)
    started = time.perf_counter()
    sim = simulate(plan, params, Models.priors(), args.months, args.seed)
    total = time.perf_counter() - started
    peak = max(sim.rows, key=lambda r: r.distributors + r.customers)
    last = sim.rows[-1]
    print(f"market {args.members:,}, {args.months} months, seed {args.seed}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"people simulated (ever joined): {sim.people:,}; largest month paid: "
          f"{peak.distributors + peak.customers:,} members (month {peak.month}); "
          f"at the end {last.distributors:,} distributors, {last.customers:,} customers")
    print(f"total {total:.1f} s: simulation {sim.seconds_simulation:.1f} s, engine "
          f"{sim.seconds_engine:.1f} s (the rest: setup)")


if __name__ == "__main__":
    main()
