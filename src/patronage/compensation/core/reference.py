"""The reference engine: plain Python, order by order up the sponsor chain. The oracle.

Written for obviousness, not speed; :mod:`patronage.compensation.core.engine` must agree with
it to the cent (property tests). The rules are described in
:mod:`patronage.compensation.core.results`.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from patronage.compensation.core.plan import BP, Plan
from patronage.compensation.core.results import (
    BONUS_CODE,
    REASON_INACTIVE,
    REASON_NOT_BROKEN_AWAY,
    REASON_NOT_IN_STANDING,
    REASON_RANK_DEPTH,
    SOURCE_MEMBER,
    SOURCE_ORDER,
    RunResult,
    Skips,
    capped_codes,
    sort_payouts,
)
from patronage.facts import KIND_DISTRIBUTOR, PeriodFacts
from patronage.money import round_half_away


def run_reference(facts: PeriodFacts, plan: Plan, prior_title: dict[int, int]) -> RunResult:
    """Run ``plan`` over ``facts``. ``prior_title`` maps member index to earlier title rank."""
    g, lines, refunds = facts.genealogy, facts.lines, facts.refunds
    n = g.size
    is_dist = [int(k) == KIND_DISTRIBUTOR for k in g.kind]
    in_standing = [int(s) == 0 for s in g.status]
    parent = [int(p) for p in g.parent]

    # Net each line of refunds recorded in this period against orders of this period.
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
    children: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        if parent[i] >= 0:
            children[parent[i]].append(i)

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

    # Ranks, deepest members first so that downline ranks are known.
    paid_as = [-1] * n
    best_below = [-1] * n  # highest paid-as rank anywhere in each member's subtree
    for i in sorted(range(n), key=lambda m: -int(g.depth[m])):
        if is_dist[i] and active[i]:
            for r in range(len(plan.ranks) - 1, -1, -1):
                if _qualifies(plan, r, i, pv, gv, active, children, is_dist, best_below,
                              active_customers, customer_volume):
                    paid_as[i] = r
                    break
        best_below[i] = max([paid_as[i]] + [best_below[c] for c in children[i]])
    title = [max(paid_as[i], prior_title.get(i, -1)) if is_dist[i] else -1 for i in range(n)]

    depth_paid = [plan.ranks[paid_as[i]].unilevel_depth if paid_as[i] >= 0 else 0
                  for i in range(n)]

    def reason(member: int, level: int) -> int:
        if not in_standing[member]:
            return REASON_NOT_IN_STANDING
        if not active[member]:
            return REASON_INACTIVE
        return REASON_RANK_DEPTH if depth_paid[member] < level else 0

    pay: list[tuple[int, int, int, int, int, int, int, int]] = []
    skips: list[tuple[int, int, int, int, int, int, int]] = []

    # Retail profit: what a retail customer paid above the wholesale price, to the owner.
    if plan.bonuses.retail_profit is not None and plan.bonuses.retail_profit.enabled:
        per_order: dict[tuple[int, int], list[int]] = {}
        for j in range(lines.size):
            credited = int(lines.credited_to[j])
            if not lines.customer_purchase[j] or credited < 0:
                continue
            if int(g.kind[int(lines.buyer[j])]) != 0 or not is_dist[credited]:
                continue
            _qv, _cv, amount = net[int(lines.line_id[j])]
            gross = int(lines.amount[j])
            margin = gross - int(lines.wholesale_total[j])
            if gross <= 0 or margin <= 0:
                continue
            profit = round_half_away(margin * amount, gross)
            entry = per_order.setdefault((credited, int(lines.order_id[j])), [0, 0])
            entry[0] += amount
            entry[1] += profit
        for (earner, order), (volume, profit) in per_order.items():
            if profit:
                pay.append((earner, BONUS_CODE["retail_profit"], SOURCE_ORDER, order, 0, volume,
                            0, profit))

    # Fast start: a new distributor's orders in their first days, to the enrollers above.
    fs = plan.bonuses.fast_start
    if fs is not None:
        window = fs.window_days * 86400
        base: dict[tuple[int, int], int] = defaultdict(int)
        for j in range(lines.size):
            buyer = int(lines.buyer[j])
            if lines.customer_purchase[j] or not is_dist[buyer]:
                continue
            if fs.promotional_only and not lines.promotional[j]:
                continue
            if not 0 <= int(lines.placed_at[j]) - int(g.joined_at[buyer]) < window:
                continue
            qv, cv, _amount = net[int(lines.line_id[j])]
            base[(int(lines.order_id[j]), buyer)] += qv if fs.volume == "qv" else cv
        for (order, buyer), volume in sorted(base.items()):
            if volume <= 0:
                continue
            below = buyer
            for level, rate in enumerate(fs.rates, start=1):
                first = parent[below]
                if first < 0:
                    break
                if not fs.roll_up:
                    if active[first]:
                        pay.append((first, BONUS_CODE["fast_start"], SOURCE_ORDER, order, level,
                                    volume, rate, round_half_away(volume * rate, BP)))
                    else:
                        skips.append((BONUS_CODE["fast_start"], SOURCE_ORDER, order, level,
                                      first, reason(first, 0), -1))
                    below = first
                    continue
                payee = first
                while payee >= 0 and not active[payee]:
                    payee = parent[payee]
                if payee != first:
                    skips.append((BONUS_CODE["fast_start"], SOURCE_ORDER, order, level, first,
                                  reason(first, 0), payee))
                if payee < 0:
                    break
                pay.append((payee, BONUS_CODE["fast_start"], SOURCE_ORDER, order, level, volume,
                            rate, round_half_away(volume * rate, BP)))
                below = payee

    def personal_cv(include_promotional: bool) -> dict[int, int]:
        """Net CV credited to each distributor (packs only when the bonus includes them)."""
        out: dict[int, int] = defaultdict(int)
        for j in range(lines.size):
            if lines.promotional[j] and not include_promotional:
                continue
            credited = int(lines.credited_to[j])
            if credited >= 0 and is_dist[credited]:
                out[credited] += net[int(lines.line_id[j])][1]
        return out

    # Unilevel on consumption volume, by level up the sponsor chain.
    uni = plan.bonuses.unilevel
    if uni is not None:
        volume_of = personal_cv(uni.include_promotional)
        code = BONUS_CODE["unilevel"]
        for source in sorted(volume_of):
            volume = volume_of[source]
            if volume <= 0:
                continue
            if not active[source]:
                skips.append((code, SOURCE_MEMBER, source, 0, source, reason(source, 0), -1))
                continue
            below = source
            for level, rate in enumerate(uni.rates, start=1):
                first = parent[below]
                if first < 0:
                    break
                if uni.compression == "none":
                    payee = first if reason(first, level) == 0 else -1
                    next_below = first
                elif uni.compression == "static":
                    walker = first
                    while walker >= 0 and not active[walker]:
                        walker = parent[walker]
                    if walker < 0:
                        skips.append((code, SOURCE_MEMBER, source, level, first,
                                      reason(first, level), -1))
                        break
                    payee = walker if depth_paid[walker] >= level else -1
                    next_below = walker
                else:
                    walker = first
                    while walker >= 0 and reason(walker, level) != 0:
                        walker = parent[walker]
                    payee = walker
                    next_below = walker
                if payee != first:
                    skips.append((code, SOURCE_MEMBER, source, level, first,
                                  reason(first, level), payee))
                if payee >= 0:
                    pay.append((payee, code, SOURCE_MEMBER, source, level, volume, rate,
                                round_half_away(volume * rate, BP)))
                if next_below < 0:
                    break
                below = next_below

    # Stair-step differential on group CV, with breakaway generation overrides.
    ss = plan.bonuses.stair_step
    if ss is not None:
        rate_of = [ss.rates.get(rank.name, 0) for rank in plan.ranks]
        step_rate = [rate_of[paid_as[i]] if active[i] and paid_as[i] >= 0 else 0
                     for i in range(n)]
        breakaway_index = (plan.rank_index(ss.breakaway_rank)
                           if ss.breakaway_rank is not None else len(plan.ranks))
        broke = [paid_as[i] >= breakaway_index for i in range(n)]
        cv_of = personal_cv(ss.include_promotional)
        group_cv = [0] * n  # group CV, cut below broken-away members
        for i in sorted(range(n), key=lambda m: -int(g.depth[m])):
            group_cv[i] += cv_of.get(i, 0)
            if parent[i] >= 0 and not broke[i]:
                group_cv[parent[i]] += group_cv[i]
        for source in sorted(cv_of):
            volume = cv_of[source]
            if volume <= 0:
                continue
            walker, paid_rate = source, 0
            while walker >= 0:
                if step_rate[walker] > paid_rate:
                    diff = step_rate[walker] - paid_rate
                    pay.append((walker, BONUS_CODE["stair_step"], SOURCE_MEMBER, source, 0,
                                volume, diff, round_half_away(volume * diff, BP)))
                    paid_rate = step_rate[walker]
                if broke[walker]:
                    break
                walker = parent[walker]
        code = BONUS_CODE["generation"]
        for b in range(n):
            if not broke[b] or group_cv[b] <= 0:
                continue
            walker = parent[b]
            for gen, gen_rate in enumerate(ss.generation_rates, start=1):
                if ss.generational_compression:
                    while walker >= 0 and not broke[walker]:
                        walker = parent[walker]
                    if walker < 0:
                        break
                    pay.append((walker, code, SOURCE_MEMBER, b, gen, group_cv[b], gen_rate,
                                round_half_away(group_cv[b] * gen_rate, BP)))
                else:
                    while walker >= 0 and title[walker] < breakaway_index:
                        walker = parent[walker]
                    if walker < 0:
                        break
                    if broke[walker]:
                        pay.append((walker, code, SOURCE_MEMBER, b, gen, group_cv[b], gen_rate,
                                    round_half_away(group_cv[b] * gen_rate, BP)))
                    else:
                        skips.append((code, SOURCE_MEMBER, b, gen, walker,
                                      REASON_NOT_BROKEN_AWAY, -1))
                walker = parent[walker]

    # Customer acquisition: new customers with an order this period, to their owner.
    ca = plan.bonuses.customer_acquisition
    if ca is not None:
        for c in range(n):
            if is_dist[c] or not facts.start <= int(g.joined_at[c]) < facts.end:
                continue
            owner = parent[c]
            if owner < 0 or customer_spend.get(c, 0) <= 0:
                continue
            if ca.requires_active and not active[owner]:
                skips.append((BONUS_CODE["customer_acquisition"], SOURCE_MEMBER, c, 0, owner,
                              reason(owner, 0), -1))
                continue
            pay.append((owner, BONUS_CODE["customer_acquisition"], SOURCE_MEMBER, c, 0, 0, 0,
                        ca.amount))

    # Customer referral reward: refer N customers who order; average of the N largest, capped.
    cr = plan.bonuses.customer_referral
    if cr is not None:
        spends: dict[int, list[int]] = defaultdict(list)
        for c in range(n):
            ref = int(g.referrer[c])
            if ref >= 0 and not is_dist[c] and customer_spend.get(c, 0) > 0:
                spends[ref].append(customer_spend[c])
        for ref, values in sorted(spends.items()):
            if len(values) < cr.referrals:
                continue
            top = sorted(values, reverse=True)[: cr.referrals]
            credit = min(cr.cap, round_half_away(sum(top), cr.referrals))
            pay.append((ref, BONUS_CODE["customer_referral"], SOURCE_MEMBER, ref, 0, sum(top),
                        0, credit))

    total_cv = sum(v[1] for v in net.values())
    cap_limit, applied = None, False
    if plan.cap is not None:
        capped = set(capped_codes(plan))
        cap_limit = max(0, round_half_away(total_cv * plan.cap.max_share_of_cv, BP))
        subject = sum(p[7] for p in pay if p[1] in capped)
        if subject > cap_limit:
            applied = True
            pay = [(*p[:7], (p[7] * cap_limit) // subject) if p[1] in capped else p for p in pay]

    columns = {
        name: np.array([p[k] for p in pay], dtype=np.int64)
        for k, name in enumerate(("earner", "bonus", "source_kind", "source", "level", "volume",
                                  "rate_bp", "amount"))
    }
    skip_cols = [np.array([s[k] for s in skips], dtype=np.int64) for k in range(7)]
    return RunResult(
        plan_version=plan.version, payouts=sort_payouts(columns), skips=Skips(*skip_cols),
        pv=np.array(pv, dtype=np.int64), gv=np.array(gv, dtype=np.int64),
        active=np.array(active, dtype=bool), paid_as=np.array(paid_as, dtype=np.int64),
        title=np.array(title, dtype=np.int64), total_cv=total_cv, cap_limit=cap_limit,
        cap_applied=applied, active_customers=np.array(active_customers, dtype=np.int64),
        customer_volume=np.array(customer_volume, dtype=np.int64),
    )


def _pv_owner(plan: Plan, customer: bool, buyer: int, credited: int) -> int:
    """Whose PV a line counts toward: the buyer's own purchase, or the owner's customer's."""
    if customer:
        return credited if plan.customer_orders_count_as_pv else -1
    return buyer


def _qualifies(plan: Plan, r: int, i: int, pv: list[int], gv: list[int], active: list[bool],
               children: dict[int, list[int]], is_dist: list[bool], best_below: list[int],
               active_customers: list[int], customer_volume: list[int]) -> bool:
    rank = plan.ranks[r]
    legs = [c for c in children[i] if is_dist[c]]
    cap = rank.min_gv * rank.leg_cap // BP
    group = pv[i] + sum(min(gv[c], cap) for c in legs)
    if pv[i] < rank.min_pv or group < rank.min_gv:
        return False
    if sum(1 for c in legs if active[c]) < rank.min_active_legs:
        return False
    if rank.legs_with_rank is not None:
        target = plan.rank_index(rank.legs_with_rank.rank)
        if sum(1 for c in legs if best_below[c] >= target) < rank.legs_with_rank.count:
            return False
    return (active_customers[i] >= rank.min_active_customers
            and customer_volume[i] >= rank.min_customer_volume)
