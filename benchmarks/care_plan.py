"""The care planner on a million customers, in memory: one day's tick.

    .venv/bin/python benchmarks/care_plan.py --members 1000000 --reference 20000

Builds :class:`CareFacts` arrays (not timed) with realistic shares: 30 time zones, 85% with a
birthday (a few on February 29), joined over five years, email consent for 70%, post consent
for 40%, a few suppressions and erasures, 2% recovering a payment, one order per member per
month on average (those in the last days of the tick's window are the events), referrals,
testimonials, survey answers, new members, declined charges and cancellations, a value at risk
for 2%, a personal touch in the last 95 days for 97%, touches already made in the cap windows,
1% terminated, and people distributors met (one every ten days each, a third of them members).
Times the
vectorised planner (the shipped rules) for one day, best of ``--repeat``; then times the
member-by-member reference on the first ``--reference`` members and reports the speed per
member of both, and checks that the two agree on that subset.

With ``--playbooks K`` it also times the planner with K distinct team playbooks (each
distributor adopts one; each playbook is the company's rules with one to three rules tweaked:
turned off, another priority, or a later thank-you), the combining of their rules included, and
checks, on the ``--reference`` subset, that the grouped plan equals planning each playbook alone
for its members.

With ``--tick N`` it also generates a company of N members with a month of orders into a scratch
SQLite database and a scratch PostgreSQL database (``build_company``, not timed) and times the
whole ``care tick`` there (load the facts in bulk, plan, store), then the same tick again (which
writes nothing). Generating a million-member company takes minutes: ``--keep-sqlite FILE`` and
``--keep-postgres NAME`` keep it and reuse it in later runs (the ticks run on a copy), and
``--tick-only`` skips the in-memory part:

    .venv/bin/python benchmarks/care_plan.py --tick-only --tick 1000000 \
        --keep-sqlite /tmp/care_1m.db --keep-postgres care_1m
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np

from patronage.care.core.facts import REASONS, CareFacts, Contacts, Events
from patronage.care.core.occasions import CALENDAR, STATES
from patronage.care.core.planner import plan_touches
from patronage.care.core.playbooks import Playbooks, combine, member_playbooks
from patronage.care.core.reference import plan_reference
from patronage.care.core.rules import Rule, Rules, load_rules
from patronage.care.tick import tick

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
DAY = 86_400
ZONES = ("UTC", "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
         "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Toronto",
         "America/Vancouver", "America/Mexico_City", "America/Bogota", "America/Sao_Paulo",
         "America/St_Johns", "Europe/London", "Europe/Paris", "Europe/Berlin",
         "Europe/Madrid", "Europe/Warsaw", "Europe/Istanbul", "Africa/Johannesburg",
         "Asia/Dubai", "Asia/Kolkata", "Asia/Bangkok", "Asia/Singapore", "Asia/Tokyo",
         "Asia/Seoul", "Australia/Sydney", "Pacific/Auckland", "Pacific/Chatham")


def _events(rng: np.random.Generator, n: int, per_member_per_day: float, days: int,
            first_key: int) -> Events:
    k = rng.poisson(per_member_per_day * n * days)
    member = np.sort(rng.integers(0, n, k))
    at = int(NOW.timestamp()) - rng.integers(0, days * DAY, k)
    return Events(member.astype(np.int64), at.astype(np.int64),
                  np.arange(first_key, first_key + k, dtype=np.int64),
                  rng.integers(1, 30, k).astype(np.int64))


def build_facts(n: int, seed: int = 1) -> CareFacts:
    rng = np.random.default_rng(seed)
    now = int(NOW.timestamp())
    kind = rng.choice([0, 1, 2], n, p=[0.45, 0.4, 0.15]).astype(np.int64)
    distributors = np.flatnonzero(kind == 2)
    owner = distributors[rng.integers(0, distributors.shape[0], n)].astype(np.int64)
    owner[rng.random(n) < 0.02] = -1
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    feb29 = rng.random(n) < 0.001
    month[feb29], day[feb29] = 2, 29
    no_birthday = rng.random(n) < 0.15
    month[no_birthday], day[no_birthday] = 0, 0
    touched = rng.random(n) < 0.97

    def consent(p_yes: float) -> np.ndarray:
        return rng.choice([1, 0, -1], n, p=[p_yes, 0.95 - p_yes, 0.05]).astype(np.int64)

    window = 6  # days of events that can fall due in this tick (lookback + delays)
    return CareFacts(
        member_id=np.arange(1, n + 1, dtype=np.int64) * 3,
        kind=kind, owner=owner, zone=rng.integers(0, len(ZONES), n).astype(np.int64),
        zones=ZONES, birth_month=month.astype(np.int64), birth_day=day.astype(np.int64),
        joined_at=(now - rng.integers(DAY, 5 * 365 * DAY, n)).astype(np.int64),
        erased=rng.random(n) < 0.005, terminated=rng.random(n) < 0.01,
        recovering=rng.random(n) < 0.02,
        consent={"email": consent(0.7), "post": consent(0.4), "sms": consent(0.1)},
        has_address={"email": rng.random(n) < 0.95, "post": rng.random(n) < 0.8,
                     "sms": rng.random(n) < 0.6},
        suppressed={c: rng.random(n) < 0.01 for c in ("email", "post", "sms", "phone")},
        last_touch=np.where(touched, now - rng.integers(0, 95 * DAY, n), -1).astype(np.int64),
        value_at_risk=np.where(rng.random(n) < 0.02, rng.integers(0, 50_000, n),
                               -1).astype(np.int64),
        events={"order": _events(rng, n, 1 / 30, window, 10_000_000),
                "referral": _events(rng, n, 0.02 / 30, window, 1),
                "testimonial": _events(rng, n, 0.005 / 30, window, 1),
                "survey_answered": _events(rng, n, 0.02 / 30, window, 1),
                "new_contact": _events(rng, n, 0.03 / 30, window, 0),
                "payment_failed": _events(rng, n, 0.004, window, 1),
                "autoship_cancelled": _events(rng, n, 0.002, window, 1)},
        existing=np.zeros((0, 3), dtype=np.int64),
        recent={"email": rng.poisson(0.1, n).astype(np.int64),
                "card": rng.poisson(0.05, n).astype(np.int64),
                "sms": np.zeros(n, dtype=np.int64)},
        owner_tasks=np.zeros(n, dtype=np.int64),
        contacts=_contacts(rng, distributors, n, window))


def _contacts(rng: np.random.Generator, distributors: np.ndarray, n: int,
              days: int) -> Contacts:
    """People distributors met: one every ten days per distributor, a third already members."""
    k = rng.poisson(0.1 * distributors.shape[0] * days)
    member = np.where(rng.random(k) < 1 / 3, rng.integers(0, n, k), -1).astype(np.int64)
    return Contacts(np.arange(1, k + 1, dtype=np.int64), member,
                    distributors[rng.integers(0, distributors.shape[0], k)].astype(np.int64),
                    (int(NOW.timestamp()) - rng.integers(0, days * DAY, k)).astype(np.int64))


def subset(f: CareFacts, k: int) -> CareFacts:
    """The first ``k`` members (events, owners outside them dropped)."""
    def ev(e: Events) -> Events:
        keep = e.member < k
        return Events(e.member[keep], e.at[keep], e.key[keep], e.ordinal[keep])

    owner = np.where(f.owner < k, f.owner, -1)[:k]
    c = f.contacts
    keep = (c.member < k) & (c.owner < k)
    return CareFacts(
        member_id=f.member_id[:k], kind=f.kind[:k], owner=owner, zone=f.zone[:k],
        zones=f.zones, birth_month=f.birth_month[:k], birth_day=f.birth_day[:k],
        joined_at=f.joined_at[:k], erased=f.erased[:k], terminated=f.terminated[:k],
        recovering=f.recovering[:k],
        consent={c: v[:k] for c, v in f.consent.items()},
        has_address={c: v[:k] for c, v in f.has_address.items()},
        suppressed={c: v[:k] for c, v in f.suppressed.items()},
        last_touch=f.last_touch[:k], value_at_risk=f.value_at_risk[:k],
        events={name: ev(e) for name, e in f.events.items()}, existing=f.existing,
        contacts=Contacts(*(a[keep] for a in (c.key, c.member, c.owner, c.at))),
        recent={c: v[:k] for c, v in f.recent.items()}, owner_tasks=f.owner_tasks[:k])


def make_playbooks(rules: Rules, k: int, seed: int = 2) -> list[tuple[Rule, ...]]:
    """``k`` distinct playbooks: the company's rules with one to three tweaks each."""
    rng = np.random.default_rng(seed)
    base = rules.active
    events = [i for i, r in enumerate(base) if r.occasion not in CALENDAR + STATES]
    seen: set[tuple[tuple[int, str, int], ...]] = set()
    out = []
    while len(out) < k:
        tweaks = []
        for _ in range(int(rng.integers(1, 4))):
            how = ("off", "priority", "delay")[int(rng.integers(0, 3))]
            i = int(rng.choice(events)) if how == "delay" else int(rng.integers(0, len(base)))
            tweaks.append((i, how, int(rng.integers(0, 8 if how == "priority" else 4))))
        key = tuple(sorted(set(tweaks)))
        if key in seen:
            continue
        seen.add(key)
        book = list(base)
        for i, how, v in key:
            r = book[i]
            book[i] = (r.model_copy(update={"enabled": False}) if how == "off" else
                       r.model_copy(update={"priority": 10 + 10 * v}) if how == "priority" else
                       r.model_copy(update={"delay_days": r.delay_days + v}))
        out.append(tuple(r for r in book if r.enabled))
    return out


def with_playbooks(args: argparse.Namespace, facts: CareFacts) -> None:
    """The planner with ``--playbooks`` distinct playbooks adopted by the distributors."""
    rules = load_rules()
    books = make_playbooks(rules, args.playbooks)
    rng = np.random.default_rng(3)
    adopted = np.where(facts.kind == 2, rng.integers(1, len(books) + 1, facts.size), 0)
    t = time.perf_counter()
    union, holds = combine(rules, books)
    combine_s = time.perf_counter() - t
    playbooks = Playbooks(union, holds, adopted.astype(np.int64))
    best = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        plan = plan_touches(NOW, facts, rules, playbooks=playbooks)
        best = min(best, time.perf_counter() - t)
    used = len(np.unique(member_playbooks(facts.owner, playbooks.adopted)))
    counts = np.bincount(plan.reason, minlength=len(REASONS))
    print(f"planner with {len(books):,} playbooks ({used:,} in use, {len(union.active)} "
          f"distinct rules): {best:.2f} s (best of {args.repeat}) + combining the rules "
          f"{combine_s:.2f} s; {plan.rule.shape[0]:,} touches considered, planned "
          f"{counts[0]:,}")
    small = subset(facts, args.reference)
    few = Playbooks(union, holds, playbooks.adopted[:args.reference])
    grouped = plan_touches(NOW, small, rules, playbooks=few).rows_with_owner()
    position = {r: i for i, r in enumerate(union.active)}
    group = member_playbooks(small.owner, few.adopted)
    contact_owner = dict(zip((-small.contacts.key).tolist(), small.contacts.owner.tolist(),
                             strict=True))
    alone = []
    t = time.perf_counter()
    for g in np.unique(np.concatenate([group, few.adopted])).tolist():
        book = rules.active if g == 0 else books[g - 1]
        one = Rules.model_construct(settings=rules.settings, holidays=rules.holidays,
                                    rules=book)
        for r, m, key, due, why, owner in plan_touches(NOW, small, one).rows_with_owner():
            rule = book[r]
            if rule.occasion == "new_contact" and key < 0:
                d = contact_owner[key]
                mine = int(few.adopted[d]) if d >= 0 else 0
            else:
                mine = int(group[m])
            if mine == g:
                alone.append((position[rule], m, key, due, why, owner))
    same = grouped == sorted(alone)
    print(f"on {args.reference:,} members: grouped plan "
          f"{'identical to' if same else 'DIFFERENT from'} each playbook planned alone "
          f"({len(grouped):,} touches; alone took {time.perf_counter() - t:.1f} s)")


def _time_ticks(kind: str, url: str, members: int) -> None:
    from patronage.db.engine import make_engine

    engine = make_engine(url)
    for label in ("tick", "again"):
        t = time.perf_counter()
        done = tick(engine, NOW)
        total = time.perf_counter() - t
        print(f"{kind:10s} {label:5s} {members:,} members: {total:.2f} s ("
              + ", ".join(f"{k} {v:.2f}" for k, v in done.seconds.items())
              + f"); planned {done.planned:,}, written {done.written:,}", flush=True)
    engine.dispose()


def tick_on_database(kind: str, members: int, keep: str | None = None) -> None:
    """Generate a company of ``members`` (not timed) and time two ticks on it. With ``keep``
    (a SQLite file, or a PostgreSQL database name) the generated company is kept there, and
    reused if it is already there: ticks then run on a copy, so every run is a first tick."""
    from scratch import company_copy  # benchmarks/scratch.py, beside this script

    from patronage.db.engine import make_engine
    from patronage.db.schema import upgrade
    from patronage.demo.company import build_company

    def build(url: str) -> None:
        engine = make_engine(url)
        upgrade(engine)
        t = time.perf_counter()
        build_company(engine, seed=1, members=members, months=1, now=NOW, history=False,
                      personal=True)
        print(f"{kind:10s} company of {members:,} members generated in "
              f"{time.perf_counter() - t:.0f} s", flush=True)
        engine.dispose()

    with company_copy(kind, keep, build) as url:
        _time_ticks(kind, url, members)


def in_memory(args: argparse.Namespace) -> None:
    """The planner on generated facts, and the reference on a subset."""
    rules = load_rules()
    t = time.perf_counter()
    facts = build_facts(args.members)
    print(f"facts for {args.members:,} members built in {time.perf_counter() - t:.1f} s "
          f"({sum(e.member.shape[0] for e in facts.events.values()):,} events)")
    best = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        plan = plan_touches(NOW, facts, rules)
        best = min(best, time.perf_counter() - t)
    counts = np.bincount(plan.reason, minlength=len(REASONS))
    print(f"planner, one day for {args.members:,} members: {best:.2f} s (best of "
          f"{args.repeat}); {plan.rule.shape[0]:,} touches considered: "
          + ", ".join(f"{REASONS[i] or 'planned'} {c:,}" for i, c in enumerate(counts) if c))
    small = subset(facts, args.reference)
    t = time.perf_counter()
    fast = plan_touches(NOW, small, rules)
    fast_s = time.perf_counter() - t
    t = time.perf_counter()
    slow = plan_reference(NOW, small, rules)
    slow_s = time.perf_counter() - t
    same = fast.rows_with_owner() == slow.rows_with_owner()
    if args.playbooks:
        with_playbooks(args, facts)
    print(f"reference on {args.reference:,} members: {slow_s:.2f} s "
          f"({slow_s / args.reference * 1e6:.1f} us/member) vs vectorised {fast_s:.3f} s "
          f"({best / args.members * 1e6:.2f} us/member at full size): "
          f"{slow_s / args.reference / (best / args.members):.0f}x per member; "
          f"{len(slow.rows()):,} touches, {'identical' if same else 'DIFFERENT'}")


def main() -> None:
    from scratch import add_keep_options, kept  # benchmarks/scratch.py, beside this script

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--reference", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--playbooks", type=int, default=0,
                        help="Also time the planner with this many distinct team playbooks.")
    parser.add_argument("--tick", type=int, default=0,
                        help="Also time the tick on generated SQLite and PostgreSQL databases "
                             "of this many members.")
    parser.add_argument("--skip-postgres", action="store_true")
    add_keep_options(parser)
    parser.add_argument("--tick-only", action="store_true",
                        help="Only the ticks on databases (skip the in-memory planner).")
    args = parser.parse_args()
    if not args.tick_only:
        in_memory(args)
    if args.tick:
        for kind in ("sqlite",) if args.skip_postgres else ("sqlite", "postgresql"):
            tick_on_database(kind, args.tick, kept(args, kind))


if __name__ == "__main__":
    main()
