"""Fit and score a million customers; and the `lifetimes` package fitting BG/NBD on the same data.

    .venv/bin/python benchmarks/value_fit.py --customers 1000000
    .venv/bin/pip install -e '.[bench]'   # for the lifetimes comparison (optional)

Synthetic customers drawn from the models' own processes: a third on autoship (start within the
last three years, monthly churn θ ~ Beta(0.7, 3)), the rest occasional buyers (purchase rate
λ ~ Gamma(0.6, 4 weeks), drop-out after each purchase p ~ Beta(0.8, 2.5), spend ~ Gamma), a
fifth referred by an earlier customer, a few survey answers, testimonials and touches. Times
``value_members`` (every fit and every score, in memory) and, separately, our BG/NBD fit and
lifetimes' ``BetaGeoFitter`` on the same (x, t_x, T) rows, and prints the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from patronage.value.core import bgnbd
from patronage.value.core.customers import ValueFacts, ValueSettings, value_members
from patronage.value.core.transactions import summarise

DAY = 86_400
NOW = 1_795_000_000  # 2026-11-18, unix seconds


def synthetic(n: int, seed: int = 1) -> ValueFacts:
    rng = np.random.default_rng(seed)
    joined = NOW - rng.integers(30, 3 * 365, n) * DAY
    autoship = rng.random(n) < 1 / 3
    # Autoship: months survived under a per-customer churn probability.
    subs = np.flatnonzero(autoship)
    theta = rng.beta(0.7, 3.0, subs.size)
    lived = rng.geometric(np.clip(theta, 1e-6, 1))  # months until churn
    possible = (NOW - joined[subs]) // (30 * DAY)
    live = lived > possible
    started = joined[subs]
    ended = np.where(live, -1, started + np.minimum(lived, possible) * 30 * DAY)
    # Orders: autoship months, and occasional purchases.
    months = np.where(live, possible, np.minimum(lived, possible))
    auto_member = np.repeat(subs, months)
    auto_at = started.repeat(months) + (np.arange(auto_member.size)
                                        - np.repeat(np.cumsum(months) - months, months)) * 30 * DAY
    occ = np.flatnonzero(~autoship)
    lam = rng.gamma(0.6, 1 / 4.0, occ.size) / 7  # purchases per day
    p = rng.beta(0.8, 2.5, occ.size)
    span = (NOW - joined[occ]) // DAY
    count = np.minimum(rng.poisson(lam * span), rng.geometric(p)) + 1  # the first purchase too
    occ_member = np.repeat(occ, count)
    offsets = (rng.random(occ_member.size) * span.repeat(count)).astype(np.int64)
    first = np.cumsum(count) - count
    offsets[first] = 0
    occ_at = joined[occ_member] + offsets * DAY
    order_member = np.concatenate([auto_member, occ_member])
    order_at = np.concatenate([auto_at, occ_at])
    typical = rng.gamma(3.0, 2000.0, n)  # each customer's own mean spend
    order_total = np.rint(rng.gamma(4.0, typical[order_member] / 4.0)).astype(np.int64) + 1
    referrer = np.where(rng.random(n) < 0.2, (rng.random(n) * np.arange(n)).astype(np.int64), -1)
    referrer[0] = -1

    def small(rate: float) -> np.ndarray:
        return rng.poisson(rate, n).astype(np.int64)

    touches = small(1.5)
    return ValueFacts(
        now=NOW, member_id=np.arange(1, n + 1, dtype=np.int64), is_customer=np.ones(n, bool),
        joined_at=joined, referrer=referrer, segment=rng.integers(0, 4, n),
        is_distributor=rng.random(n) < 0.02, upgraded=rng.random(n) < 0.01,
        team_cv=np.where(rng.random(n) < 0.02, rng.integers(0, 10**6, n), 0),
        order_member=order_member, order_at=order_at, order_total=order_total,
        sub_member=subs, sub_started=started, sub_ended=ended, sub_live=live,
        sub_trouble=live & (rng.random(subs.size) < 0.03),
        sub_amount=rng.integers(3000, 12000, subs.size), survey_answers=small(0.1),
        survey_comments=small(0.05), testimonials_given=small(0.01),
        testimonials_published=small(0.005), touches=touches, replies=small(0.3),
        last_touch=np.where(touches > 0, NOW - rng.integers(1, 200, n) * DAY, -1),
        previous_p_alive=np.full(n, np.nan))


def from_database(members: int) -> None:
    """The whole service on a generated company: load from SQLite, fit and score, store."""
    from datetime import UTC, datetime

    from scratch import scratch_database  # benchmarks/scratch.py, beside this script

    from patronage.db.engine import make_engine
    from patronage.db.schema import upgrade
    from patronage.demo.company import build_company
    from patronage.value.service import fit_values

    now = datetime(2026, 11, 1, tzinfo=UTC)
    with scratch_database("sqlite") as url:
        engine = make_engine(url)
        upgrade(engine)
        build_company(engine, seed=1, members=members, months=6, now=now, history=False,
                      personal=False)
        summary = fit_values(engine, now)
        engine.dispose()
    for f in summary.fits:
        print("  ", f)
    print(f"fit_values from SQLite, {members:,} members: "
          + ", ".join(f"{k} {v:.2f}s" for k, v in summary.seconds.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database", action="store_true",
                        help="also time `fit_values` on a generated company in SQLite")
    args = parser.parse_args()
    if args.database:
        from_database(args.customers)
    facts = synthetic(args.customers)
    t0 = time.perf_counter()
    values = value_members(facts, ValueSettings())
    t1 = time.perf_counter()
    print(f"value_members: {args.customers:,} customers, {facts.order_member.size:,} orders, "
          f"{facts.sub_member.size:,} subscriptions: {t1 - t0:.2f}s (fit and score)")
    for f in values.fits:
        print(f"  {f.model:11s} segment {f.segment:2d}: n={f.fit.n:,.0f} "
              f"converged={f.fit.converged} "
              + " ".join(f"{k}={v:.4g}" for k, v in f.fit.params.items()))
    occasional = ~np.isin(facts.order_member, facts.sub_member[facts.sub_live])
    s = summarise(facts.order_member[occasional], facts.order_at[occasional] // DAY,
                  facts.order_total[occasional].astype(float), NOW // DAY, 7.0)
    t2 = time.perf_counter()
    ours = bgnbd.fit(s.x, s.t_x, s.T)
    t3 = time.perf_counter()
    print(f"BG/NBD on {s.x.size:,} buyers: patronage {t3 - t2:.2f}s "
          + " ".join(f"{k}={v:.4f}" for k, v in ours.params.items())
          + f" LL={ours.log_likelihood:.1f}")
    try:
        import pandas as pd
        from lifetimes import BetaGeoFitter
    except ImportError as exc:
        print(f"lifetimes not installed ({exc}); pip install -e '.[bench]' to compare")
        return
    frame = pd.DataFrame({"frequency": s.x, "recency": s.t_x, "T": s.T})
    t4 = time.perf_counter()
    theirs = BetaGeoFitter(penalizer_coef=0.0).fit(frame["frequency"], frame["recency"],
                                                   frame["T"])
    t5 = time.perf_counter()
    their_params = {k: float(v) for k, v in theirs.params_.items()}
    their_ll = bgnbd.log_likelihood(their_params, s.x, s.t_x, s.T)
    print(f"BG/NBD on {s.x.size:,} buyers: lifetimes {t5 - t4:.2f}s "
          + " ".join(f"{k}={v:.4f}" for k, v in their_params.items())
          + f" LL={their_ll:.1f} (our log-likelihood at their parameters)")
    print(f"ratio lifetimes / patronage on the BG/NBD fit: {(t5 - t4) / (t3 - t2):.1f}x")


if __name__ == "__main__":
    main()
