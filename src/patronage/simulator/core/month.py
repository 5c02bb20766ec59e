"""One simulated month: who joins (saturating with the market), what everyone orders, who
leaves. Each step takes its random numbers from the generator in a fixed order, so a seed
gives one run."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patronage.arrays import F64, I64, Bools
from patronage.facts import (
    KIND_DISTRIBUTOR,
    KIND_PREFERRED,
    KIND_RETAIL,
    SOURCE_AUTOSHIP,
    SOURCE_ENROLLMENT,
    SOURCE_ONE_TIME,
    SOURCE_RETAIL,
    OrderLines,
    RefundLines,
)
from patronage.simulator.core.params import WEEKS_PER_MONTH, Models, Params
from patronage.simulator.core.population import Population, roll_up

DAY = 86_400
TENURE_YEAR = 12


def stochastic_round(expected: F64, u: F64) -> I64:
    """Whole counts whose mean is ``expected``: the integer part, plus one with the
    probability of the fraction (no randomness at all when ``expected`` is whole)."""
    base = np.floor(expected)
    return (base + (u < expected - base)).astype(np.int64)


def uniform(rng: np.random.Generator, n: int) -> F64:
    """``n`` uniform draws in [0, 1)."""
    return rng.random(int(n), dtype=np.float64)


def saturation(reached: int, market: int) -> float:
    """The share of the market not yet reached (1 without a market limit)."""
    return 1.0 if market == 0 else max(0.0, 1.0 - reached / market)


@dataclass(frozen=True)
class Joined:
    people: I64  # indexes of the new people
    upgraded: I64  # customers who became distributors this month


def join(pop: Population, p: Params, models: Models, month: int,
         rng: np.random.Generator) -> Joined:
    """New distributors and customers (brought by distributors, referred by customers), never
    more than the market has left; customers who upgrade."""
    n = pop.size
    dist = pop.distributors()
    alive_kind = pop.kind[:n]
    cust = np.flatnonzero(pop.alive[:n] & (alive_kind != KIND_DISTRIBUTOR))
    s = saturation(n, p.market)
    pull: F64 = np.asarray(1.0 + p.attachment * pop.recruits[dist], dtype=np.float64)
    mean_pull = float(pull.mean()) if dist.shape[0] else 1.0
    recruits = stochastic_round((p.recruits_per_distributor * s / mean_pull) * pull,
                                uniform(rng, dist.shape[0]))
    brought = stochastic_round(np.full(dist.shape[0], p.customers_per_distributor * s),
                               uniform(rng, dist.shape[0]))
    referred = stochastic_round(np.full(cust.shape[0], p.referrals_per_customer * s),
                                uniform(rng, cust.shape[0]))
    parent = np.concatenate([np.repeat(dist, recruits), np.repeat(dist, brought),
                             np.repeat(pop.parent[cust], referred)])
    referrer = np.concatenate([np.full(int(recruits.sum() + brought.sum()), -1, np.int64),
                               np.repeat(cust, referred)])
    is_dist = np.zeros(parent.shape[0], dtype=bool)
    is_dist[:int(recruits.sum())] = True
    room = parent.shape[0] if p.market == 0 else max(0, p.market - n)
    if parent.shape[0] > room:
        keep = np.sort(rng.choice(parent.shape[0], room, replace=False))
        parent, referrer, is_dist = parent[keep], referrer[keep], is_dist[keep]
    autoship = uniform(rng, parent.shape[0]) < p.autoship_share
    kind = np.where(is_dist, KIND_DISTRIBUTOR, np.where(autoship, KIND_PREFERRED, KIND_RETAIL))
    # Upgrades are drawn among the customers there before this month's joins.
    upgraded = cust[uniform(rng, cust.shape[0]) < p.upgrade_rate]
    people = pop.add(kind.astype(np.int64), parent, referrer, month)
    np.add.at(pop.recruits, parent[is_dist & (parent >= 0)], 1)
    _customer_traits(pop, people[~is_dist], models, rng)
    pop.kind[upgraded] = KIND_DISTRIBUTOR
    pop.since[upgraded] = month
    return Joined(people, upgraded)


def _customer_traits(pop: Population, people: I64, models: Models,
                     rng: np.random.Generator) -> None:
    """Each new customer's own churn (sBG θ ~ Beta(α, β)), purchase rate and drop-out after a
    purchase (BG/NBD λ ~ Gamma(r, α), p ~ Beta(a, b)) and spend scale (Gamma-Gamma ν)."""
    k = people.shape[0]
    sbg, bg, gg = models.sbg, models.bgnbd, models.gamma_gamma
    pop.theta[people] = rng.beta(sbg["alpha"], sbg["beta"], k)
    pop.lam[people] = rng.gamma(bg["r"], 1.0 / bg["alpha"], k) * WEEKS_PER_MONTH
    pop.drop[people] = rng.beta(bg["a"], bg["b"], k)
    pop.nu[people] = rng.gamma(gg["q"], 1.0 / gg["gamma"], k)


@dataclass(frozen=True)
class Orders:
    """The month's order lines (by population index) and how many purchases each occasional
    buyer made (BG/NBD drop-out happens after purchases)."""

    buyer: I64
    credited_to: I64
    amount: I64
    qv: I64
    cv: I64
    source: I64
    promotional: Bools
    customer_purchase: Bools
    retail_total: I64
    wholesale_total: I64
    refunded: Bools
    purchases: I64  # per population index of this month's occasional buyers (0 for others)


def order(pop: Population, p: Params, models: Models, month: int, joined: Joined,
          rng: np.random.Generator) -> Orders:
    n = pop.size
    alive, kind = pop.alive[:n], pop.kind[:n]
    dist = np.flatnonzero(alive & (kind == KIND_DISTRIBUTOR))
    fresh = dist[pop.since[dist] == month]
    packs = fresh[uniform(rng, fresh.shape[0]) < p.pack_share]
    own = dist[uniform(rng, dist.shape[0]) < p.own_order_share]
    auto = np.flatnonzero(alive & (kind == KIND_PREFERRED))
    retail = np.flatnonzero(alive & (kind == KIND_RETAIL))
    count = rng.poisson(pop.lam[retail])
    buying = count > 0
    buyers, k = retail[buying], count[buying]
    spend = rng.gamma(k * models.gamma_gamma["p"], 1.0 / pop.nu[buyers])
    spend_amount = np.maximum(1, np.rint(spend)).astype(np.int64)
    purchases = np.zeros(n, dtype=np.int64)
    purchases[buyers] = k

    def volume(amount: I64, rate: float) -> I64:
        out: I64 = np.rint(amount * rate).astype(np.int64)
        return out

    own_amount = np.full(own.shape[0], p.own_order, np.int64)
    auto_amount = np.full(auto.shape[0], p.autoship_order, np.int64)
    pack_amount = np.full(packs.shape[0], p.pack_price, np.int64)
    parts = [  # buyer, credited, amount, qv, cv, source, promotional, customer
        (packs, packs, pack_amount, np.full(packs.shape[0], p.pack_qv, np.int64),
         np.zeros(packs.shape[0], np.int64), SOURCE_ENROLLMENT, True, False),
        (own, own, own_amount, volume(own_amount, p.qv_per_unit),
         volume(own_amount, p.cv_per_unit), SOURCE_ONE_TIME, False, False),
        (auto, pop.parent[auto], auto_amount, volume(auto_amount, p.qv_per_unit),
         volume(auto_amount, p.cv_per_unit), SOURCE_AUTOSHIP, False, True),
        (buyers, pop.parent[buyers], spend_amount, volume(spend_amount, p.qv_per_unit),
         volume(spend_amount, p.cv_per_unit), SOURCE_RETAIL, False, True),
    ]
    cat = np.concatenate
    buyer = cat([x[0] for x in parts])
    amount = cat([x[2] for x in parts])
    size = [x[0].shape[0] for x in parts]
    retail_buyer = np.repeat([False, False, False, True], size)
    wholesale = np.where(retail_buyer, volume(amount, p.wholesale_ratio), amount)
    return Orders(
        buyer=buyer, credited_to=cat([x[1] for x in parts]), amount=amount,
        qv=cat([x[3] for x in parts]), cv=cat([x[4] for x in parts]),
        source=np.repeat([x[5] for x in parts], size).astype(np.int64),
        promotional=np.repeat([x[6] for x in parts], size).astype(bool),
        customer_purchase=np.repeat([x[7] for x in parts], size).astype(bool),
        retail_total=amount, wholesale_total=wholesale,
        refunded=uniform(rng, buyer.shape[0]) < p.refund_rate, purchases=purchases)


@dataclass(frozen=True)
class Left:
    distributors: int
    customers: int


def leave(pop: Population, p: Params, orders: Orders, month: int,
          rng: np.random.Generator) -> Left:
    """The month's drop-outs: distributors by tenure, autoship customers by their sBG θ,
    occasional buyers after each purchase (BG/NBD); then the tree rolls up past them."""
    n = pop.size
    live = pop.live()
    kind = pop.kind[live]
    u = uniform(rng, live.shape[0])
    gone = leaving(kind, (month - pop.since[live]).astype(np.int64), pop.theta[live],
                   pop.drop[live], orders.purchases[live], u, p)
    leaving_now = live[gone]
    pop.alive[leaving_now] = False
    if leaving_now.shape[0]:
        pop.parent[:n] = roll_up(pop.parent[:n], pop.alive[:n])
    left_dist = int((kind[gone] == KIND_DISTRIBUTOR).sum())
    return Left(left_dist, int(leaving_now.shape[0]) - left_dist)


def leaving(kind: I64, tenure: I64, theta: F64, drop: F64, purchases: I64, u: F64,
            p: Params) -> Bools:
    """Who leaves at the end of the month, given one uniform draw ``u`` each: a distributor
    with the drop-out of their tenure, an autoship customer with their θ, an occasional buyer
    unless they stay after each of their purchases (probability 1 − p each)."""
    hazard = np.where(tenure < TENURE_YEAR, p.first_year_dropout, p.later_dropout)
    stay_retail = (1.0 - p.churn_scale * drop) ** purchases
    out: Bools = np.where(kind == KIND_DISTRIBUTOR, u < hazard,
                          np.where(kind == KIND_PREFERRED, u < p.churn_scale * theta,
                                   u >= stay_retail))
    return out


def order_lines(o: Orders, pos: I64, start: int, end: int, joined_at: I64,
                first_line: int) -> tuple[OrderLines, RefundLines]:
    """The month's orders as engine arrays over the compacted members (``pos`` maps a
    population index to a member index); each order is one line; refunds in the month."""
    m = o.buyer.shape[0]
    buyer = pos[o.buyer]
    credited = np.where(o.credited_to >= 0, pos[np.maximum(o.credited_to, 0)], -1)
    line_id = np.arange(first_line, first_line + m, dtype=np.int64)
    placed = np.minimum(np.maximum(start + 15 * DAY, joined_at[buyer] + 3600), end - 1)
    placed = np.where(o.promotional, np.minimum(joined_at[buyer] + 3600, end - 1), placed)
    lines = OrderLines(
        line_id=line_id, order_id=line_id, buyer=buyer, credited_to=credited,
        product_id=np.where(o.promotional, 1, 2).astype(np.int64), placed_at=placed,
        source=o.source.astype(np.int8), promotional=o.promotional,
        customer_purchase=o.customer_purchase, qv=o.qv, cv=o.cv, amount=o.amount,
        retail_total=o.retail_total, wholesale_total=o.wholesale_total)
    r = np.flatnonzero(o.refunded)
    refunds = RefundLines(
        refund_line_id=line_id[r], order_line_id=line_id[r], order_id=line_id[r],
        buyer=buyer[r], credited_to=credited[r], refunded_at=np.minimum(placed[r] + DAY, end - 1),
        order_placed_at=placed[r], promotional=o.promotional[r],
        customer_purchase=o.customer_purchase[r], qv=o.qv[r], cv=o.cv[r], amount=o.amount[r])
    return lines, refunds
