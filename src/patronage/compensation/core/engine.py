"""The production engine: the plan run over genealogy arrays, vectorised with numpy.

No Python loop per member or order: loops run per tree level, per rank or per payout level.
"Nearest qualified ancestor" pointers are built top-down one tree level at a time; group volume
is a pre-order prefix sum. The rules are those of :mod:`patronage.compensation.core.results`, and
:mod:`patronage.compensation.core.reference` is the oracle this engine is tested against.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import numpy.typing as npt

from patronage.compensation.core.plan import BP, Plan
from patronage.compensation.core.results import (
    BONUS_CODE,
    I64,
    REASON_INACTIVE,
    REASON_NOT_BROKEN_AWAY,
    REASON_NOT_IN_STANDING,
    REASON_RANK_DEPTH,
    SOURCE_MEMBER,
    SOURCE_ORDER,
    Payouts,
    RunResult,
    Skips,
    capped_codes,
)
from patronage.facts import KIND_DISTRIBUTOR, Genealogy, PeriodFacts, index_of
from patronage.memory import reused_memory
from patronage.network.core.genealogy import subtree_sums

Bools = npt.NDArray[np.bool_]


def sum_by(keys: I64, values: I64, n: int) -> I64:
    """Exact integer sums of ``values`` grouped by ``keys`` in ``0..n-1``: ``np.add.at`` on
    int64 (since NumPy 1.25 as fast as a float ``bincount``, or faster, and never rounded)."""
    out = np.zeros(n, dtype=np.int64)
    if keys.shape[0]:
        np.add.at(out, keys, values)
    return out


def sum_where(mask: Bools, keys: I64, values: I64, n: int) -> I64:
    """:func:`sum_by` over the rows where ``mask`` holds, gathered by their positions (a
    boolean index of each array, or a spare bin for the other rows, costs twice as much)."""
    keys, values = _take(mask, keys, values)
    return sum_by(keys, values, n)


def _take(mask: Bools, *arrays: I64) -> list[I64]:
    """The rows of ``arrays`` where ``mask`` holds: the mask is read once, then each array
    is gathered (a boolean index per array would branch on every element each time). When
    every row is kept the arrays themselves come back, so callers never write into them."""
    if mask.all():
        return list(arrays)
    at = np.flatnonzero(mask)
    return [np.take(a, at) for a in arrays]


def _groups(keys: I64) -> tuple[I64, I64]:
    """``np.unique(keys, return_inverse=True)``, without a sort when ``keys`` are already in
    ascending order (order lines come in line order, and so mostly in order id order)."""
    if keys.shape[0] and bool((keys[1:] >= keys[:-1]).all()):
        start = np.empty(keys.shape[0], dtype=bool)
        start[0] = True
        np.not_equal(keys[1:], keys[:-1], out=start[1:])
        inverse = np.cumsum(start, dtype=np.int64) - 1
        return keys[start], inverse
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, inverse.reshape(-1).astype(np.int64, copy=False)


def _round_rate(volume: I64, rate: int | I64) -> I64:
    """``volume × rate / 10 000`` rounded half away from zero (volumes here are ≥ 0)."""
    return (2 * volume * rate + BP) // (2 * BP)


class _Pointers:
    """Per distributor, a member index (-1: none), looked up by member index: kept over the
    distributors only, a quarter of the members or less, so building one touches that much
    memory. Every member these are looked up for is a distributor."""

    def __init__(self, values: I64, position: I64) -> None:
        self.values, self.position = values, position

    def __getitem__(self, members: I64) -> I64:
        at = self.position[members]
        return np.where(at >= 0, self.values[np.maximum(at, 0)], -1)


class _Tree:
    """Level-by-level views of the distributor tree for top-down pointer building.

    Payees, walkers and volume sources are all distributors, and a distributor's parent is a
    distributor, so pointers are built over distributors only (customers are leaves).
    """

    def __init__(self, g: Genealogy) -> None:
        self.parent = g.parent
        dist = np.flatnonzero(g.kind == KIND_DISTRIBUTOR)
        self.position = np.full(g.size, -1, dtype=np.int64)
        self.position[dist] = np.arange(dist.shape[0])
        self.count = int(dist.shape[0])
        depth = g.depth[dist]
        if depth.shape[0] and int(depth.max()) < 2**15:
            depth = depth.astype(np.int16)  # a stable sort of 16-bit keys is a radix sort
        order = dist[np.argsort(depth, kind="stable")]
        counts = np.bincount(depth, minlength=1) if dist.size else np.zeros(1, dtype=np.int64)
        bounds = np.concatenate(([0], np.cumsum(counts)))
        self.levels = [order[bounds[d]: bounds[d + 1]] for d in range(1, len(counts))]
        self.parents = [self.parent[members] for members in self.levels]
        # The same, as positions among the distributors.
        self.at = [self.position[members] for members in self.levels]
        self.parents_at = [self.position[p] for p in self.parents]
        self._memo: dict[tuple[object, ...], _Pointers] = {}

    def nearest_above_cached(self, key: tuple[object, ...],
                             ok: Callable[[], Bools]) -> _Pointers:
        """:meth:`nearest_above` of ``ok()``, computed once per ``key`` (which must name what
        ``ok`` returns) in this run."""
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self.nearest_above(ok())
        return found

    def nearest_above(self, ok: Bools, stop: Bools | None = None) -> _Pointers:
        """For every distributor, the nearest strict ancestor where ``ok`` holds (-1: none);
        with ``stop``, never looking past a member where ``stop`` holds (nor above one
        itself)."""
        out = np.full(self.count, -1, dtype=np.int64)
        if ok.any():
            for members, p, at, p_at in zip(self.levels, self.parents, self.at,
                                            self.parents_at, strict=True):
                found = np.where(ok[p], p, out[p_at])
                out[at] = found if stop is None else np.where(stop[members], -1, found)
        return _Pointers(out, self.position)

    def sums_up_to(self, values: I64, stop: Bools) -> I64:
        """Subtree sums of ``values`` that do not pass up from a member where ``stop`` holds."""
        out = values.copy()
        for members in reversed(self.levels):
            up = members[~stop[members]]
            np.add.at(out, self.parent[up], out[up])
        return out


def run_engine(facts: PeriodFacts, plan: Plan, prior_title: I64 | None = None) -> RunResult:
    """Run ``plan`` over ``facts``; ``prior_title`` holds earlier title ranks by member index.
    Freed arrays are reused while it runs (:mod:`patronage.memory`)."""
    with reused_memory():
        return _run(facts, plan, prior_title)


def _run(facts: PeriodFacts, plan: Plan, prior_title: I64 | None) -> RunResult:
    g, lines, refunds = facts.genealogy, facts.lines, facts.refunds
    n = g.size
    is_dist = g.kind == KIND_DISTRIBUTOR
    standing = g.status == 0
    parent = g.parent

    # Net lines of same-period refunds; earlier orders' refunds only lower PV.
    qv, cv, amount = lines.qv, lines.cv, lines.amount
    pos = index_of(lines.line_id, refunds.order_line_id)
    same = (refunds.order_placed_at >= facts.start) & (refunds.order_placed_at < facts.end)
    same &= pos >= 0
    if same.any():
        qv, cv, amount = qv.copy(), cv.copy(), amount.copy()
        for column, back in ((qv, refunds.qv), (cv, refunds.cv), (amount, refunds.amount)):
            np.subtract.at(column, pos[same], back[same])

    cust = lines.customer_purchase
    own_or_credit = np.where(cust, lines.credited_to if plan.customer_orders_count_as_pv else -1,
                             lines.buyer)
    pv = sum_where(own_or_credit >= 0, own_or_credit, qv, n)
    r_who = np.where(refunds.customer_purchase,
                     refunds.credited_to if plan.customer_orders_count_as_pv else -1,
                     refunds.buyer)
    r_take = ~same & (r_who >= 0)
    np.subtract.at(pv, r_who[r_take], refunds.qv[r_take])

    cust_credit = cust & (lines.credited_to >= 0)
    customer_volume = sum_where(cust_credit, lines.credited_to, qv, n)
    customer_spend = sum_where(cust_credit, lines.buyer, amount, n)

    active = is_dist & standing & (pv >= plan.active_min_pv)
    gv = subtree_sums(g, pv)
    has_parent = parent >= 0
    spending_customer = ~is_dist & has_parent & (customer_spend > 0)
    active_customers = np.bincount(parent[spending_customer], minlength=n).astype(np.int64,
                                                                                  copy=False)
    dist_child = is_dist & has_parent
    active_legs = np.bincount(parent[dist_child & active], minlength=n).astype(np.int64,
                                                                                copy=False)

    # Everything rank requirements need that does not depend on downline ranks.
    tree = _Tree(g)
    plain_ok = []
    legs = np.flatnonzero(dist_child)
    leg_parent, leg_gv = parent[legs], gv[legs]
    capped_by: dict[int, I64] = {}
    for rank in plan.ranks:
        cap = rank.min_gv * rank.leg_cap // BP
        if cap not in capped_by:
            capped_by[cap] = pv + sum_by(leg_parent, np.minimum(leg_gv, cap), n)
        capped = capped_by[cap]
        plain_ok.append(active & (pv >= rank.min_pv) & (capped >= rank.min_gv)
                        & (active_legs >= rank.min_active_legs)
                        & (active_customers >= rank.min_active_customers)
                        & (customer_volume >= rank.min_customer_volume))
    paid_as = np.full(n, -1, dtype=np.int64)
    best_below = np.full(n, -1, dtype=np.int64)
    child_best = np.full(n, -1, dtype=np.int64)
    targets = sorted({plan.rank_index(r.legs_with_rank.rank) for r in plan.ranks
                      if r.legs_with_rank is not None})
    legs_at_least = {t: np.zeros(n, dtype=np.int64) for t in targets}
    dist_roots = np.flatnonzero(is_dist & (g.depth == 0))
    for members in reversed([dist_roots, *tree.levels]):
        if members.shape[0] == 0:
            continue
        got = np.full(members.shape[0], -1, dtype=np.int64)
        for r in range(len(plan.ranks) - 1, -1, -1):
            ok = plain_ok[r][members]
            need = plan.ranks[r].legs_with_rank
            if need is not None:
                ok &= legs_at_least[plan.rank_index(need.rank)][members] >= need.count
            got = np.where((got < 0) & ok, r, got)
        paid_as[members] = got
        best_below[members] = np.maximum(got, child_best[members])
        up = members[has_parent[members]]
        np.maximum.at(child_best, parent[up], best_below[up])
        legs = up[is_dist[up]]
        for t in targets:
            hit = legs[best_below[legs] >= t]
            np.add.at(legs_at_least[t], parent[hit], 1)
    title = np.where(is_dist, paid_as, -1)
    if prior_title is not None:
        title = np.where(is_dist, np.maximum(title, prior_title), -1)

    depths = np.array([r.unilevel_depth for r in plan.ranks] + [0], dtype=np.int64)
    st = _State(plan, facts, is_dist, standing, active, depths[paid_as], tree)
    st.retail_profit(amount)
    st.fast_start(qv, cv)
    st.unilevel(cv)
    st.customer_bonuses(customer_spend)
    st.stair_step(cv, paid_as, title)

    columns = st.payout_columns()
    total_cv = int(cv.sum())
    cap_limit, applied = None, False
    if plan.cap is not None:
        in_cap = np.isin(columns["bonus"], capped_codes(plan))
        cap_limit = max(0, (2 * total_cv * plan.cap.max_share_of_cv + BP) // (2 * BP))
        subject = int(columns["amount"][in_cap].sum())
        if subject > cap_limit:
            applied = True
            columns["amount"] = np.where(in_cap, columns["amount"] * cap_limit // subject,
                                         columns["amount"])
    return RunResult(
        plan_version=plan.version, payouts=Payouts(**columns), skips=st.skip_table(), pv=pv,
        gv=gv, active=active, paid_as=paid_as, title=title, total_cv=total_cv,
        cap_limit=cap_limit, cap_applied=applied, active_customers=active_customers,
        customer_volume=customer_volume,
    )


PAY_KEYS = ("earner", "bonus", "source_kind", "source", "level", "volume", "rate_bp", "amount")


def _columns(parts: list[tuple[int, tuple[int | I64, ...]]], width: int) -> list[I64]:
    """``width`` int64 columns from ``parts`` of (rows, one value or array per column), each
    column written once into its final place: numbers fill their rows, arrays are copied."""
    total = sum(k for k, _ in parts)
    out = [np.empty(total, dtype=np.int64) for _ in range(width)]
    at = 0
    for k, values in parts:
        for column, value in zip(out, values, strict=True):
            column[at:at + k] = value
        at += k
    return out


class _State:
    """The qualified facts of a run, and the payout and skip columns as they are produced."""

    def __init__(self, plan: Plan, facts: PeriodFacts, is_dist: Bools, standing: Bools,
                 active: Bools, depth_paid: I64, tree: _Tree) -> None:
        self.plan, self.facts = plan, facts
        self.g, self.lines = facts.genealogy, facts.lines
        self.is_dist, self.standing, self.active = is_dist, standing, active
        self.depth_paid, self.tree = depth_paid, tree
        self.parent = self.g.parent
        self.pay: list[tuple[int, tuple[int | I64, ...]]] = []
        self.skips: list[tuple[int, tuple[int | I64, ...]]] = []
        self._personal: dict[bool, I64] = {}

    # -- collecting ---------------------------------------------------------------------------
    def add_pay(self, earner: I64, bonus: str, kind: int, source: I64, level: int | I64,
                volume: int | I64, rate: int | I64, amount: int | I64) -> None:
        self.pay.append((int(earner.shape[0]), (earner, BONUS_CODE[bonus], kind, source,
                                                level, volume, rate, amount)))

    def add_skip(self, bonus: str, kind: int, source: I64, level: int, member: I64,
                 why: int | I64, passed_to: int | I64) -> None:
        self.skips.append((int(source.shape[0]), (BONUS_CODE[bonus], kind, source, level,
                                                  member, why, passed_to)))

    def payout_columns(self) -> dict[str, I64]:
        return dict(zip(PAY_KEYS, _columns(self.pay, len(PAY_KEYS)), strict=True))

    def skip_table(self) -> Skips:
        return Skips(*_columns(self.skips, 7))

    def reason(self, m: I64, level: int) -> I64:
        return np.where(~self.standing[m], REASON_NOT_IN_STANDING,
                        np.where(~self.active[m], REASON_INACTIVE,
                                 np.where(self.depth_paid[m] < level, REASON_RANK_DEPTH, 0)))

    def paid_to(self, level: int) -> Bools:
        """Distributors paid at unilevel ``level``: active, their paid-as rank that deep."""
        return self.active & (self.depth_paid >= level)

    def personal_cv(self, cv: I64, include_promotional: bool) -> I64:
        """Net CV credited to each distributor (packs only when the bonus includes them); the
        same ``cv`` is passed throughout a run, so each variant is summed once."""
        found = self._personal.get(include_promotional)
        if found is not None:
            return found
        lines = self.lines
        ok = self.is_dist[lines.credited_to]  # -1 reads the last member: checked next
        ok &= lines.credited_to >= 0
        if not include_promotional:
            ok &= ~lines.promotional
        found = self._personal[include_promotional] = sum_where(ok, lines.credited_to, cv,
                                                                 self.g.size)
        return found

    # -- bonuses ------------------------------------------------------------------------------
    def retail_profit(self, amount: I64) -> None:
        """What a retail customer paid above wholesale, to the owner, one line per order."""
        rp, lines = self.plan.bonuses.retail_profit, self.lines
        if rp is None or not rp.enabled or lines.size == 0:
            return
        # Narrowed step by step: each test reads only the lines still in.
        idx = np.flatnonzero(lines.customer_purchase & (lines.credited_to >= 0))
        credited, gross = lines.credited_to[idx], lines.amount[idx]
        margin = gross - lines.wholesale_total[idx]
        keep = (gross > 0) & (margin > 0) & (self.g.kind[lines.buyer[idx]] == 0)
        keep &= self.is_dist[credited]
        idx, credited, gross, margin = _take(keep, idx, credited, gross, margin)
        if idx.shape[0] == 0:
            return
        paid = amount[idx]
        profit = (2 * margin * paid + gross) // (2 * gross)
        # An order has one buyer and so one owner: group by order id alone.
        orders, inverse = _groups(lines.order_id[idx])
        earner = np.zeros(orders.shape[0], dtype=np.int64)
        earner[inverse] = credited
        total_profit = sum_by(inverse, profit, orders.shape[0])
        total_volume = sum_by(inverse, paid, orders.shape[0])
        earner, orders, total_volume, total_profit = _take(
            total_profit != 0, earner, orders, total_volume, total_profit)
        self.add_pay(earner, "retail_profit", SOURCE_ORDER, orders, 0, total_volume, 0,
                     total_profit)

    def fast_start(self, qv: I64, cv: I64) -> None:
        """A new distributor's orders in the window, to the enrollers above, by level."""
        fs, lines, g = self.plan.bonuses.fast_start, self.lines, self.g
        if fs is None or lines.size == 0:
            return
        # Narrowed step by step: the join date is read only for distributors' own lines.
        ok = ~lines.customer_purchase
        if fs.promotional_only:
            ok &= lines.promotional
        idx = np.flatnonzero(ok)
        buyer = lines.buyer[idx]
        idx, buyer = _take(self.is_dist[buyer] & (buyer >= 0), idx, buyer)
        age = lines.placed_at[idx] - g.joined_at[buyer]
        idx, buyer = _take((age >= 0) & (age < fs.window_days * 86400), idx, buyer)
        base = (qv if fs.volume == "qv" else cv)[idx]
        orders, inverse = _groups(lines.order_id[idx])
        volume = sum_by(inverse, base, orders.shape[0])
        buyers = np.zeros(orders.shape[0], dtype=np.int64)
        buyers[inverse] = buyer
        orders, volume, below = _take(volume > 0, orders, volume, buyers)
        above_active = (self.tree.nearest_above_cached(("active",), lambda: self.active)
                        if fs.roll_up else None)
        for level, rate in enumerate(fs.rates, start=1):
            first = self.parent[below]
            orders, volume, below, first = _take(first >= 0, orders, volume, below, first)
            if orders.shape[0] == 0:
                break
            if above_active is None:
                paid = self.active[first]
                lost_orders, lost = _take(~paid, orders, first)
                self.add_skip("fast_start", SOURCE_ORDER, lost_orders, level, lost,
                              self.reason(lost, 0), -1)
                payee, paid_orders, paid_volume = _take(paid, first, orders, volume)
                self.add_pay(payee, "fast_start", SOURCE_ORDER, paid_orders, level,
                             paid_volume, rate, _round_rate(paid_volume, rate))
                below = first
                continue
            payee = above_active[below]
            moved_orders, moved, moved_to = _take(payee != first, orders, first, payee)
            self.add_skip("fast_start", SOURCE_ORDER, moved_orders, level, moved,
                          self.reason(moved, 0), moved_to)
            orders, volume, payee = _take(payee >= 0, orders, volume, payee)
            self.add_pay(payee, "fast_start", SOURCE_ORDER, orders, level, volume, rate,
                         _round_rate(volume, rate))
            below = payee

    def unilevel(self, cv: I64) -> None:
        """rate[level] × consumption CV of each active source, up the sponsor chain."""
        uni = self.plan.bonuses.unilevel
        if uni is None:
            return
        volume_of = self.personal_cv(cv, uni.include_promotional)
        sources = np.flatnonzero(volume_of > 0)
        is_active = self.active[sources]
        idle = sources[~is_active]
        self.add_skip("unilevel", SOURCE_MEMBER, idle, 0, idle, self.reason(idle, 0), -1)
        sources = sources[is_active]
        volume = volume_of[sources]
        below = sources
        above_active = (self.tree.nearest_above_cached(("active",), lambda: self.active)
                        if uni.compression == "static" else None)
        for level, rate in enumerate(uni.rates, start=1):
            first = self.parent[below]
            sources, volume, below, first = _take(first >= 0, sources, volume, below, first)
            if sources.shape[0] == 0:
                break
            if uni.compression == "none":
                payee = np.where(self.reason(first, level) == 0, first, -1)
                next_below = first
            elif above_active is not None:
                walker = np.where(self.active[first], first, above_active[below])
                payee = np.where((walker >= 0) & (self.depth_paid[np.maximum(walker, 0)] >= level),
                                 walker, -1)
                next_below = walker
            else:
                # Levels that the same ranks pay share their pointers.
                key = ("depth", tuple(r.unilevel_depth >= level for r in self.plan.ranks))
                payee = self.tree.nearest_above_cached(key, partial(self.paid_to, level))[below]
                next_below = payee
            moved_from, moved, moved_to = _take(payee != first, sources, first, payee)
            self.add_skip("unilevel", SOURCE_MEMBER, moved_from, level, moved,
                          self.reason(moved, level), moved_to)
            earner, paid_from, paid_volume = _take(payee >= 0, payee, sources, volume)
            self.add_pay(earner, "unilevel", SOURCE_MEMBER, paid_from, level, paid_volume, rate,
                         _round_rate(paid_volume, rate))
            sources, volume, below = _take(next_below >= 0, sources, volume, next_below)

    def customer_bonuses(self, spend: I64) -> None:
        """Customer acquisition (to the owner) and the customer referral reward."""
        plan, g, facts = self.plan, self.g, self.facts
        customers = ~self.is_dist & (spend > 0)
        ca = plan.bonuses.customer_acquisition
        if ca is not None:
            new = customers & (g.joined_at >= facts.start) & (g.joined_at < facts.end)
            new &= self.parent >= 0
            c = np.flatnonzero(new)
            owner = self.parent[c]
            lost = ~self.active[owner] if ca.requires_active else np.zeros(c.shape[0], bool)
            self.add_skip("customer_acquisition", SOURCE_MEMBER, c[lost], 0, owner[lost],
                          self.reason(owner[lost], 0), -1)
            self.add_pay(owner[~lost], "customer_acquisition", SOURCE_MEMBER, c[~lost], 0,
                         0, 0, ca.amount)
        cr = plan.bonuses.customer_referral
        if cr is not None:
            c = np.flatnonzero(customers & (g.referrer >= 0))
            counts = np.bincount(g.referrer[c], minlength=g.size)
            c = c[counts[g.referrer[c]] >= cr.referrals]  # only they can earn the reward
            ref, value = g.referrer[c], spend[c]
            order = np.lexsort((-value, ref))
            ref, value = ref[order], value[order]
            start = np.ones(ref.shape[0], dtype=bool)
            start[1:] = ref[1:] != ref[:-1]
            first_of = np.maximum.accumulate(np.where(start, np.arange(ref.shape[0]), 0))
            rank_in = np.arange(ref.shape[0]) - first_of
            top = rank_in < cr.referrals
            sums = sum_by(ref[top], value[top], g.size)
            who = np.flatnonzero(counts >= cr.referrals)
            credit = np.minimum(cr.cap, (2 * sums[who] + cr.referrals) // (2 * cr.referrals))
            self.add_pay(who, "customer_referral", SOURCE_MEMBER, who, 0, sums[who], 0, credit)

    def stair_step(self, cv: I64, paid_as: I64, title: I64) -> None:
        """Differential by paid-as rank up to the breakaway line; generation overrides above."""
        ss, plan = self.plan.bonuses.stair_step, self.plan
        if ss is None:
            return
        rate_of = np.array([ss.rates.get(r.name, 0) for r in plan.ranks] + [0], dtype=np.int64)
        rate = np.where(self.active, rate_of[paid_as], 0)
        top = plan.rank_index(ss.breakaway_rank) if ss.breakaway_rank else len(plan.ranks)
        broke = paid_as >= top
        cv_of = self.personal_cv(cv, ss.include_promotional)
        group_cv = self.tree.sums_up_to(cv_of, broke)

        sources = np.flatnonzero(cv_of > 0)
        volume = cv_of[sources]
        own_rate = rate[sources]
        earner, own_volume, own_rate = _take(own_rate > 0, sources, volume, own_rate)
        self.add_pay(earner, "stair_step", SOURCE_MEMBER, earner, 0, own_volume, own_rate,
                     _round_rate(own_volume, own_rate))
        thresholds = np.unique(np.concatenate(([0], rate_of)))
        # Row t: for every distributor, the nearest upline paid more than thresholds[t].
        above = np.stack([self.tree.nearest_above(rate > t, broke).values for t in thresholds])
        position = self.tree.position
        paid = rate[sources]
        cur, origin = sources, sources
        for _ in range(thresholds.shape[0]):
            nxt = above[np.searchsorted(thresholds, paid), position[cur]]
            cur, paid, origin, volume, nxt = _take(nxt >= 0, cur, paid, origin, volume, nxt)
            if cur.shape[0] == 0:
                break
            diff = rate[nxt] - paid
            self.add_pay(nxt, "stair_step", SOURCE_MEMBER, origin, 0, volume, diff,
                         _round_rate(volume, diff))
            paid, cur = rate[nxt], nxt

        breakaways = np.flatnonzero(broke & (group_cv > 0))
        if not ss.generation_rates or breakaways.shape[0] == 0:
            return
        qualified = broke if ss.generational_compression else title >= top
        up = self.tree.nearest_above(qualified)
        walker, base = up[breakaways], group_cv[breakaways]
        for gen, gen_rate in enumerate(ss.generation_rates, start=1):
            alive = walker >= 0
            walker, base, breakaways = walker[alive], base[alive], breakaways[alive]
            if walker.shape[0] == 0:
                break
            paid_now = broke[walker]
            lapse = ~paid_now
            self.add_skip("generation", SOURCE_MEMBER, breakaways[lapse], gen, walker[lapse],
                          REASON_NOT_BROKEN_AWAY,
                          -1)
            self.add_pay(walker[paid_now], "generation", SOURCE_MEMBER, breakaways[paid_now],
                         gen, base[paid_now], gen_rate, _round_rate(base[paid_now], gen_rate))
            walker = up[walker]
