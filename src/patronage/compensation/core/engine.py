"""The production engine: the plan run over genealogy arrays, vectorised with numpy.

No Python loop per member or order: loops run per tree level, per rank or per payout level.
"Nearest qualified ancestor" pointers are built top-down one tree level at a time
(:mod:`patronage.compensation.core.tree`); group volume is a pre-order prefix sum. This module
qualifies the members (PV, activity, ranks); each bonus type of the plan then pays from its own
module (:mod:`patronage.compensation.core.bonuses`). The rules are those of
:mod:`patronage.compensation.core.results`, and :mod:`patronage.compensation.core.reference` is
the oracle this engine is tested against.
"""

from __future__ import annotations

import numpy as np

from patronage.compensation.core.arrays import I64, Bools, sum_by, sum_where
from patronage.compensation.core.bonuses.state import PAY_KEYS, Part, PayState
from patronage.compensation.core.compliance import Withheld, release, team_volumes, withhold
from patronage.compensation.core.history import RankHistory, paid_over_time
from patronage.compensation.core.plan import BP, Plan
from patronage.compensation.core.results import (
    Payouts,
    RunResult,
    Skips,
    capped_codes,
    sort_payouts,
)
from patronage.compensation.core.tree import Tree
from patronage.facts import KIND_DISTRIBUTOR, Genealogy, PeriodFacts, index_of
from patronage.network.core.genealogy import subtree_sums

__all__ = ["run_engine", "sum_by", "sum_where"]


def run_engine(facts: PeriodFacts, plan: Plan, prior_title: I64 | None = None,
               history: RankHistory | None = None,
               withheld: Withheld | None = None) -> RunResult:
    """Run ``plan`` over ``facts``; ``prior_title`` holds earlier title ranks by member index,
    ``history`` the ranks of the committed periods before this one (none: no such periods),
    ``withheld`` the amounts earlier runs withheld and did not release yet.
    (Batch commands run it with freed arrays reused: :mod:`patronage.fastpath.allocator`.)"""
    return _run(facts, plan, prior_title,
                history if history is not None else RankHistory.empty(facts.genealogy.size),
                withheld if withheld is not None else Withheld.empty())


def _net_columns(facts: PeriodFacts) -> tuple[I64, I64, I64, Bools]:
    """QV, CV and amount of the order lines net of same-period refunds, and which refunds
    those were; earlier orders' refunds only lower PV."""
    lines, refunds = facts.lines, facts.refunds
    qv, cv, amount = lines.qv, lines.cv, lines.amount
    pos = index_of(lines.line_id, refunds.order_line_id)
    same = (refunds.order_placed_at >= facts.start) & (refunds.order_placed_at < facts.end)
    same &= pos >= 0
    if same.any():
        qv, cv, amount = qv.copy(), cv.copy(), amount.copy()
        for column, back in ((qv, refunds.qv), (cv, refunds.cv), (amount, refunds.amount)):
            np.subtract.at(column, pos[same], back[same])
    return qv, cv, amount, same


def _run(facts: PeriodFacts, plan: Plan, prior_title: I64 | None,
         history: RankHistory, withheld: Withheld) -> RunResult:
    g, lines, refunds = facts.genealogy, facts.lines, facts.refunds
    n = g.size
    is_dist = g.kind == KIND_DISTRIBUTOR
    standing = g.status == 0
    parent = g.parent
    qv, cv, amount, same = _net_columns(facts)

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
    tree = Tree(g)
    qualified = _paid_as(plan, g, tree, pv, gv, active, active_customers, customer_volume)
    paid_as = qualified
    if plan.ranks_over_time():
        over = plan.paid_as
        paid_as = paid_over_time(qualified, active, history, [r.min_periods for r in plan.ranks],
                                 over.grace_periods if over else 0,
                                 over.lower_of_last if over else False)
    title = np.where(is_dist, paid_as, -1)
    if prior_title is not None:
        title = np.where(is_dist, np.maximum(title, prior_title), -1)

    depths = np.array([r.unilevel_depth for r in plan.ranks] + [0], dtype=np.int64)
    st = PayState(plan, facts, is_dist=is_dist, standing=standing, active=active,
                  depth_paid=depths[paid_as], tree=tree, qv=qv, cv=cv, amount=amount,
                  customer_spend=customer_spend, paid_as=paid_as, title=title)
    st.history, st.prior_title, st.pv, st.gv = history, prior_title, pv, gv
    for bonus, section in plan.bonuses.present():
        bonus.pay(st, section)
    held: list[Part] = []
    if plan.compliance is not None:
        rule = plan.compliance
        team, team_customer = team_volumes(g, lines.credited_to, cv, lines.customer_purchase)
        failing = (team > 0) & (team_customer * BP < team * rule.min_team_customer_share)
        st.pay = withhold(st.pay, st.skips, rule.governed(st.code), failing, held)
        st.pay += release(withheld, (team > 0) & ~failing, rule.release_withheld_within,
                          st.code)

    columns = dict(zip(PAY_KEYS, _columns(st.pay, len(PAY_KEYS)), strict=True))
    withheld_lines = sort_payouts(dict(zip(PAY_KEYS, _columns(held, len(PAY_KEYS)),
                                           strict=True)))
    total_cv = int(cv.sum())
    cap_limit, applied = _apply_cap(plan, columns, total_cv)
    return RunResult(
        plan_version=plan.version, payouts=Payouts(**columns), skips=Skips(*_columns(st.skips, 7)),
        pv=pv, gv=gv, active=active, paid_as=paid_as, title=title, total_cv=total_cv,
        cap_limit=cap_limit, cap_applied=applied, active_customers=active_customers,
        customer_volume=customer_volume, qualified=qualified, carry=st.carry,
        withheld=withheld_lines,
    )


def _paid_as(plan: Plan, g: Genealogy, tree: Tree, pv: I64, gv: I64, active: Bools,
             active_customers: I64, customer_volume: I64) -> I64:
    """Each member's paid-as rank index (-1: none), deepest tree level first so that the
    downline ranks a rank asks for are known."""
    n, parent = g.size, g.parent
    is_dist, has_parent = g.kind == KIND_DISTRIBUTOR, parent >= 0
    dist_child = is_dist & has_parent
    active_legs = np.bincount(parent[dist_child & active], minlength=n).astype(np.int64,
                                                                                copy=False)
    # Everything rank requirements need that does not depend on downline ranks.
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
    return paid_as


def _apply_cap(plan: Plan, columns: dict[str, I64], total_cv: int) -> tuple[int | None, bool]:
    """Scale the capped bonuses' amounts down to the plan's cap, in place (rounding toward
    zero); the limit (None: no cap) and whether it applied."""
    if plan.cap is None:
        return None, False
    in_cap = np.isin(columns["bonus"], capped_codes(plan))
    cap_limit = max(0, (2 * total_cv * plan.cap.max_share_of_cv + BP) // (2 * BP))
    subject = int(columns["amount"][in_cap].sum())
    if subject <= cap_limit:
        return cap_limit, False
    columns["amount"] = np.where(in_cap, columns["amount"] * cap_limit // subject,
                                 columns["amount"])
    return cap_limit, True


def _columns(parts: list[Part], width: int) -> list[I64]:
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
