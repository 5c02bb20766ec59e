"""The reference engine: plain Python, order by order up the sponsor chain. The oracle.

Written for obviousness, not speed; :mod:`patronage.compensation.core.engine` must agree with it
to the cent (property tests). The rules are described in
:mod:`patronage.compensation.core.results`. This module qualifies the members (net volume, PV,
GV, activity, ranks); each bonus type then pays from its own module's ``reference`` method
(:mod:`patronage.compensation.core.bonuses`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from patronage.compensation.core.bonuses.state import PAY_KEYS, ReferenceState
from patronage.compensation.core.bonuses.withheld_release import LINE as RELEASE_LINE
from patronage.compensation.core.codes import REASON_CUSTOMER_SHARE, SOURCE_MEMBER
from patronage.compensation.core.compliance import Withheld, below_share, meets_share
from patronage.compensation.core.history import RankHistory, reference_paid_over_time
from patronage.compensation.core.plan import BP, Plan
from patronage.compensation.core.results import (
    RunResult,
    Skips,
    capped_codes,
    sort_payouts,
)
from patronage.facts import KIND_DISTRIBUTOR, PeriodFacts
from patronage.money import round_half_away


@dataclass
class _Volumes:
    """Per member: PV, GV, customer volume, active, customers who ordered; per customer,
    what they spent."""

    pv: list[int]
    gv: list[int]
    customer_volume: list[int]
    customer_spend: dict[int, int]
    active: list[bool]
    active_customers: list[int]


def run_reference(facts: PeriodFacts, plan: Plan, prior_title: dict[int, int],
                  history: RankHistory | None = None,
                  withheld: Withheld | None = None) -> RunResult:
    """Run ``plan`` over ``facts``. ``prior_title`` maps member index to earlier title rank,
    ``history`` holds the ranks of the committed periods before this one, ``withheld`` the
    amounts earlier runs withheld and did not release yet."""
    g = facts.genealogy
    n = g.size
    is_dist = [int(k) == KIND_DISTRIBUTOR for k in g.kind]
    in_standing = [int(s) == 0 for s in g.status]
    parent = [int(p) for p in g.parent]
    children: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        if parent[i] >= 0:
            children[parent[i]].append(i)

    net, earlier_refund_qv = _net_lines(facts, plan)
    v = _volumes(facts, plan, net, earlier_refund_qv, is_dist, in_standing, parent, children)
    qualified = _paid_as(facts, plan, v, is_dist, children)
    if history is None:
        history = RankHistory.empty(n)
    paid_as = qualified
    if plan.ranks_over_time():
        over = plan.paid_as
        paid_as = reference_paid_over_time(
            qualified, v.active, history, [r.min_periods for r in plan.ranks],
            over.grace_periods if over else 0, over.lower_of_last if over else False)
    title = [max(paid_as[i], prior_title.get(i, -1)) if is_dist[i] else -1 for i in range(n)]
    depth_paid = [plan.ranks[paid_as[i]].unilevel_depth if paid_as[i] >= 0 else 0
                  for i in range(n)]

    st = ReferenceState(plan=plan, facts=facts, net=net, is_dist=is_dist,
                        in_standing=in_standing, active=v.active, parent=parent,
                        paid_as=paid_as, title=title, depth_paid=depth_paid,
                        customer_spend=v.customer_spend, history=history,
                        prior_title=prior_title, pv=v.pv, gv=v.gv)
    for bonus, section in plan.bonuses.present():
        bonus.reference(st, section)
    held: list[tuple[int, ...]] = []
    if plan.compliance is not None:
        held = _withhold(st, plan, facts, net, parent, withheld or Withheld.empty())

    total_cv = sum(x[1] for x in net.values())
    pay, cap_limit, applied = _apply_cap(plan, st.pay, total_cv)
    columns = {name: np.array([p[k] for p in pay], dtype=np.int64)
               for k, name in enumerate(PAY_KEYS)}
    skip_cols = [np.array([s[k] for s in st.skips], dtype=np.int64) for k in range(7)]
    return RunResult(
        plan_version=plan.version, payouts=sort_payouts(columns), skips=Skips(*skip_cols),
        pv=np.array(v.pv, dtype=np.int64), gv=np.array(v.gv, dtype=np.int64),
        active=np.array(v.active, dtype=bool), paid_as=np.array(paid_as, dtype=np.int64),
        title=np.array(title, dtype=np.int64), total_cv=total_cv, cap_limit=cap_limit,
        cap_applied=applied, active_customers=np.array(v.active_customers, dtype=np.int64),
        customer_volume=np.array(v.customer_volume, dtype=np.int64),
        qualified=np.array(qualified, dtype=np.int64), carry=st.carry,
        withheld=sort_payouts({name: np.array([p[k] for p in held], dtype=np.int64)
                               for k, name in enumerate(PAY_KEYS)}),
    )


def _withhold(st: ReferenceState, plan: Plan, facts: PeriodFacts,
              net: dict[int, list[int]], parent: list[int],
              withheld: Withheld) -> list[tuple[int, ...]]:
    """The compliance rule, member by member: each member's credited CV (and the part
    customers bought) added to them and every ancestor; a failing team's governed lines
    become withheld skips (and are returned whole); earlier withheld amounts of a team that
    meets the rule are released, one line per member and earlier period."""
    rule = plan.compliance
    assert rule is not None
    lines, n = facts.lines, facts.genealogy.size
    team, team_customer = [0] * n, [0] * n
    for j in range(lines.size):
        member = int(lines.credited_to[j])
        cv = net[int(lines.line_id[j])][1]
        bought = bool(lines.customer_purchase[j])
        while member >= 0:
            team[member] += cv
            if bought:
                team_customer[member] += cv
            member = parent[member]
    governed = rule.governed(plan.bonuses.registry.code)
    kept, held = [], []
    for line in st.pay:
        earner, code, kind, source, level = line[:5]
        if code in governed and below_share(team_customer[earner], team[earner],
                                            rule.min_team_customer_share):
            st.skips.append((code, kind, source, level, earner, REASON_CUSTOMER_SHARE, -1))
            held.append(tuple(line))
        else:
            kept.append(line)
    st.pay = kept
    release_code = plan.bonuses.registry.code.get(RELEASE_LINE)
    if release_code is None:
        return held
    released: dict[tuple[int, int], int] = defaultdict(int)
    for j in range(withheld.size):
        member, age = int(withheld.member[j]), int(withheld.age[j])
        if not 0 <= member < n or not 0 <= age < rule.release_withheld_within:
            continue
        if meets_share(team_customer[member], team[member], rule.min_team_customer_share):
            released[(member, age)] += int(withheld.amount[j])
    for (member, age), amount in sorted(released.items()):
        st.pay.append((member, release_code, SOURCE_MEMBER, member, age + 1, amount, 0,
                       amount))
    return held


def _net_lines(facts: PeriodFacts, plan: Plan) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Each order line's [QV, CV, amount] net of refunds recorded in this period against
    orders of this period; and by member, the QV of refunds of earlier orders (which only
    lower PV)."""
    lines, refunds = facts.lines, facts.refunds
    net = {int(lines.line_id[j]): [int(lines.qv[j]), int(lines.cv[j]), int(lines.amount[j])]
           for j in range(lines.size)}
    earlier_refund_qv: dict[int, int] = defaultdict(int)
    for k in range(refunds.size):
        line_id = int(refunds.order_line_id[k])
        if facts.start <= int(refunds.order_placed_at[k]) < facts.end and line_id in net:
            net[line_id][0] -= int(refunds.qv[k])
            net[line_id][1] -= int(refunds.cv[k])
            net[line_id][2] -= int(refunds.amount[k])
        else:
            who = _pv_owner(plan, bool(refunds.customer_purchase[k]), int(refunds.buyer[k]),
                            int(refunds.credited_to[k]))
            if who >= 0:
                earlier_refund_qv[who] += int(refunds.qv[k])
    return net, earlier_refund_qv


def _volumes(facts: PeriodFacts, plan: Plan, net: dict[int, list[int]],
             earlier_refund_qv: dict[int, int], is_dist: list[bool], in_standing: list[bool],
             parent: list[int], children: dict[int, list[int]]) -> _Volumes:
    """PV, customer volume and spend line by line; activity; GV down the tree; customers."""
    lines, n = facts.lines, facts.genealogy.size
    pv = [0] * n
    customer_volume = [0] * n
    customer_spend: dict[int, int] = defaultdict(int)
    for j in range(lines.size):
        qv, _cv, amount = net[int(lines.line_id[j])]
        buyer, credited = int(lines.buyer[j]), int(lines.credited_to[j])
        customer = bool(lines.customer_purchase[j])
        who = _pv_owner(plan, customer, buyer, credited)
        if who >= 0:
            pv[who] += qv
        if customer and credited >= 0:
            customer_volume[credited] += qv
            customer_spend[buyer] += amount
    for who, qv in earlier_refund_qv.items():
        pv[who] -= qv

    active = [is_dist[i] and in_standing[i] and pv[i] >= plan.active_min_pv for i in range(n)]
    gv = [0] * n

    def group(i: int) -> int:
        total = pv[i] + sum(group(c) for c in children[i])
        gv[i] = total
        return total

    for i in range(n):
        if parent[i] < 0:
            group(i)

    active_customers = [0] * n
    for i in range(n):
        if not is_dist[i] and parent[i] >= 0 and customer_spend.get(i, 0) > 0:
            active_customers[parent[i]] += 1
    return _Volumes(pv, gv, customer_volume, customer_spend, active, active_customers)


def _paid_as(facts: PeriodFacts, plan: Plan, v: _Volumes, is_dist: list[bool],
             children: dict[int, list[int]]) -> list[int]:
    """Paid-as ranks, deepest members first so that downline ranks are known."""
    g, n = facts.genealogy, facts.genealogy.size
    paid_as = [-1] * n
    best_below = [-1] * n  # highest paid-as rank anywhere in each member's subtree
    for i in sorted(range(n), key=lambda m: -int(g.depth[m])):
        if is_dist[i] and v.active[i]:
            for r in range(len(plan.ranks) - 1, -1, -1):
                if _qualifies(plan, r, i, v, children, is_dist, best_below):
                    paid_as[i] = r
                    break
        best_below[i] = max([paid_as[i]] + [best_below[c] for c in children[i]])
    return paid_as


def _apply_cap(plan: Plan, pay: list[tuple[int, int, int, int, int, int, int, int]],
               total_cv: int) -> tuple[list[tuple[int, ...]], int | None, bool]:
    """The lines with the capped bonuses scaled down to the cap (rounding toward zero), the
    limit (None: no cap) and whether it applied."""
    if plan.cap is None:
        return list(pay), None, False
    capped = set(capped_codes(plan))
    cap_limit = max(0, round_half_away(total_cv * plan.cap.max_share_of_cv, BP))
    subject = sum(p[7] for p in pay if p[1] in capped)
    if subject <= cap_limit:
        return list(pay), cap_limit, False
    return ([(*p[:7], (p[7] * cap_limit) // subject) if p[1] in capped else p for p in pay],
            cap_limit, True)


def _pv_owner(plan: Plan, customer: bool, buyer: int, credited: int) -> int:
    """Whose PV a line counts toward: the buyer's own purchase, or the owner's customer's."""
    if customer:
        return credited if plan.customer_orders_count_as_pv else -1
    return buyer


def _qualifies(plan: Plan, r: int, i: int, v: _Volumes, children: dict[int, list[int]],
               is_dist: list[bool], best_below: list[int]) -> bool:
    rank = plan.ranks[r]
    legs = [c for c in children[i] if is_dist[c]]
    cap = rank.min_gv * rank.leg_cap // BP
    group = v.pv[i] + sum(min(v.gv[c], cap) for c in legs)
    if v.pv[i] < rank.min_pv or group < rank.min_gv:
        return False
    if sum(1 for c in legs if v.active[c]) < rank.min_active_legs:
        return False
    if rank.legs_with_rank is not None:
        target = plan.rank_index(rank.legs_with_rank.rank)
        if sum(1 for c in legs if best_below[c] >= target) < rank.legs_with_rank.count:
            return False
    return (v.active_customers[i] >= rank.min_active_customers
            and v.customer_volume[i] >= rank.min_customer_volume)
