"""A synthetic company as arrays: members, catalog, orders, refunds, consents (numpy only).

Built so every integrity rule of the services holds by construction: members are numbered in
joining order, a distributor's sponsor is an earlier distributor (preferential attachment by the
copying model, which gives the heavy-tailed, shallow trees seen in the field), a customer's owner
is a distributor who joined before them, a referrer joined before the person referred, prices and
volume classification follow :mod:`patronage.orders.orders`.

The same generator serves the demo (thousands of members, 18 months) and ``patronage generate``
(millions of members, a month of orders): no Python loop per member or order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patronage.arrays import I64, Bools
from patronage.facts import (
    KIND_DISTRIBUTOR,
    KIND_PREFERRED,
    KIND_RETAIL,
    SOURCE_ENROLLMENT,
    SOURCE_ONE_TIME,
    SOURCE_RETAIL,
)

KINDS = np.array(["retail", "preferred", "distributor"])
FIRST_NAMES = np.array([
    "Sally", "Robin", "Kat", "Joseph", "Nia", "Omar", "Dana", "Cory", "Maria", "Ahmed", "Li",
    "Priya", "Jonas", "Elena", "Tom", "Grace", "Luis", "Hannah", "Ken", "Aisha", "Ben", "Chloe",
    "Diego", "Emma", "Farah", "Gus", "Hiro", "Ines", "Jack", "Kira", "Leo", "Mia", "Noah",
    "Olivia", "Pablo", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wendy", "Xavier", "Yara",
    "Zoe", "Ava", "Ethan", "Sofia", "Liam", "Amara"
])
LAST_NAMES = np.array([
    "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
    "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Okafor", "Kowalski", "Yamamoto", "Singh", "Novak"
])
#: (time zone, country, weight): most members in the US, some in Canada, the UK and Mexico
#: (the demo company's markets).
ZONES = [
    ("America/New_York", "US", 30), ("America/Chicago", "US", 25), ("America/Denver", "US", 10),
    ("America/Los_Angeles", "US", 20), ("America/Toronto", "CA", 6), ("Europe/London", "GB", 5),
    ("America/Mexico_City", "MX", 4),
]
CITIES = np.array(["Springfield", "Riverton", "Lakeside", "Fairview", "Oakdale", "Maple Grove"])
CHANNELS = np.array(["party", "social", "referral", "web"])


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    name: str
    retail_price: int
    wholesale_price: int
    qv: int
    cv: int
    is_enrollment_pack: bool
    product_line: str


CATALOG = [
    CatalogItem("PACK-STARTER", "Starter business pack", 19900, 14900, 10000, 0, True, "packs"),
    CatalogItem("PACK-BUILDER", "Builder business pack", 49900, 37900, 30000, 0, True, "packs"),
    CatalogItem("SHAKE-VAN", "Daily shake, vanilla (30 servings)", 6500, 4900, 4500, 4000, False,
                "nutrition"),
    CatalogItem("SHAKE-CHOC", "Daily shake, chocolate (30 servings)", 6500, 4900, 4500, 4000,
                False, "nutrition"),
    CatalogItem("OMEGA", "Omega-3 softgels (90)", 3900, 2900, 2500, 2200, False, "nutrition"),
    CatalogItem("GREENS", "Greens powder", 5500, 4100, 3800, 3400, False, "nutrition"),
    CatalogItem("TEA-HERB", "Herbal tea (20 bags)", 2400, 1800, 1500, 1300, False, "tea"),
    CatalogItem("TEA-SLEEP", "Sleep tea (20 bags)", 2400, 1800, 1500, 1300, False, "tea"),
    CatalogItem("SERUM", "Face serum (30 ml)", 5900, 4400, 4000, 3500, False, "skin"),
    CatalogItem("CREAM", "Night cream (50 ml)", 4900, 3700, 3300, 2900, False, "skin"),
    CatalogItem("CLEANSER", "Gentle cleanser", 2900, 2200, 1900, 1700, False, "skin"),
    CatalogItem("BAR", "Protein bars (box of 12)", 3600, 2700, 2300, 2000, False, "nutrition"),
]


@dataclass
class Members:
    """Member arrays; index ``i`` is member id ``i + 1``. ``sponsor``/``owner``/``referrer`` are
    member ids (0: none)."""

    kind: I64  # 0 retail, 1 preferred, 2 distributor
    joined_at: I64  # unix seconds
    sponsor: I64
    owner: I64
    referrer: I64
    first: I64  # index into FIRST_NAMES
    last: I64  # index into LAST_NAMES
    zone: I64  # index into ZONES
    birth_month: I64
    birth_day: I64
    birth_year: I64  # 0: not given
    channel: I64  # index into CHANNELS
    wants_autoship: Bools
    #: Upgrades: member ids (distributors now) who were customers until ``upgraded_at``, under
    #: ``former_owner``, with ``former_kind``.
    upgraded: I64
    upgraded_at: I64
    former_owner: I64
    former_kind: I64

    @property
    def size(self) -> int:
        return int(self.kind.shape[0])


@dataclass
class Orders:
    """Order and line arrays; order ``j`` has id ``j + 1``; lines point at their order index."""

    buyer: I64  # member id
    credited_to: I64  # member id (0: none)
    placed_at: I64
    source: I64  # index into ("enrollment", "autoship", "one_time", "retail")
    line_order: I64  # order index
    line_product: I64  # index into CATALOG (product id = index + 1)
    line_quantity: I64
    line_unit_price: I64
    refunded_order: I64  # order index of full refunds
    refunded_at: I64

    @property
    def size(self) -> int:
        return int(self.buyer.shape[0])


def _pick_zones(rng: np.random.Generator, n: int) -> I64:
    weights = np.array([w for _, _, w in ZONES], dtype=float)
    return rng.choice(len(ZONES), size=n, p=weights / weights.sum()).astype(np.int64)


def preferential_sponsors(rng: np.random.Generator, n: int, copy_share: float = 0.6) -> I64:
    """Sponsor positions for ``n`` distributors in joining order (``-1`` for the first).

    Copying model: distributor ``k`` picks an earlier distributor ``u`` at random and, with
    probability ``copy_share``, takes ``u``'s sponsor instead — so popular sponsors attract more.
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    k = np.arange(n)
    base = (rng.random(n) * np.maximum(k, 1)).astype(np.int64)
    copy = rng.random(n) < copy_share
    sponsor = base.copy()
    sponsor[0] = -1
    copy[0] = False
    copy &= base > 0  # the first distributor has no sponsor to copy
    for _ in range(200):
        new = np.where(copy, sponsor[base], base)
        new[0] = -1
        if np.array_equal(new, sponsor):
            break
        sponsor = new
    return sponsor


def make_members(rng: np.random.Generator, n: int, start: int, end: int,
                 distributor_share: float = 0.16) -> Members:
    """``n`` members joining between ``start`` and ``end`` (unix seconds), growing over time."""
    joined = np.sort(start + (end - start) * np.sqrt(rng.random(n))).astype(np.int64)
    joined[0] = start  # the founder
    kind = np.where(rng.random(n) < 0.62, 0, 1).astype(np.int64)
    is_dist = rng.random(n) < distributor_share
    is_dist[0] = True
    kind[is_dist] = 2
    dist_ids = np.flatnonzero(is_dist) + 1
    sponsor = np.zeros(n, dtype=np.int64)
    pos = preferential_sponsors(rng, len(dist_ids))
    sponsor[dist_ids - 1] = np.where(pos >= 0, dist_ids[np.maximum(pos, 0)], 0)

    # Owners: distributors with heavy-tailed appeal (Pareto), among those who joined earlier.
    cust = np.flatnonzero(~is_dist)
    appeal = rng.pareto(1.3, len(dist_ids)) + 0.05
    cum = np.cumsum(appeal)
    # Distributor index joined before each customer: dist_ids are in joining order.
    n_before = np.searchsorted(dist_ids, cust + 1)  # distributors with smaller id
    n_before = np.maximum(n_before, 1)
    draw = rng.random(len(cust)) * cum[n_before - 1]
    owner_pos = np.minimum(np.searchsorted(cum, draw, side="right"), n_before - 1)
    owner = np.zeros(n, dtype=np.int64)
    owner[cust] = dist_ids[owner_pos]

    # Referral chains: a customer often was referred by the previous customer of the same owner.
    referrer = np.zeros(n, dtype=np.int64)
    order = cust[np.lexsort((cust, owner[cust]))]
    same_owner = np.zeros(len(order), dtype=bool)
    same_owner[1:] = owner[order[1:]] == owner[order[:-1]]
    referred = same_owner & (rng.random(len(order)) < 0.3)
    referrer[order[referred]] = order[np.flatnonzero(referred) - 1] + 1

    # Some distributors were customers first (upgrades): a quarter of distributors who joined
    # after the first tenth, upgraded some weeks after joining.
    later = dist_ids[(dist_ids > max(n // 10, 2)) & (rng.random(len(dist_ids)) < 0.08)]
    up_at = joined[later - 1] + rng.integers(14, 180, len(later)) * 86400
    keep = up_at < end
    later, up_at = later[keep], up_at[keep]
    former_owner = sponsor[later - 1]
    has_owner = former_owner > 0
    later, up_at, former_owner = later[has_owner], up_at[has_owner], former_owner[has_owner]

    month = rng.integers(1, 13, n)
    dim = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    day = 1 + (rng.random(n) * dim[month - 1]).astype(np.int64)
    year = rng.integers(1950, 2003, n)
    # Feb 29 only in leap years when the year is given; otherwise the year is withheld.
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    no_year = rng.random(n) < 0.3
    year = np.where(no_year | ((month == 2) & (day == 29) & ~leap), 0, year)
    wants_autoship = (kind != KIND_DISTRIBUTOR) & (
        rng.random(n) < np.where(kind == KIND_PREFERRED, 0.6, 0.2))
    return Members(
        kind=kind, joined_at=joined, sponsor=sponsor, owner=owner, referrer=referrer,
        first=rng.integers(0, len(FIRST_NAMES), n), last=rng.integers(0, len(LAST_NAMES), n),
        zone=_pick_zones(rng, n), birth_month=month, birth_day=day, birth_year=year,
        channel=rng.integers(0, len(CHANNELS), n), wants_autoship=wants_autoship,
        upgraded=later, upgraded_at=up_at.astype(np.int64), former_owner=former_owner,
        former_kind=np.ones(len(later), dtype=np.int64),
    )


def make_orders(rng: np.random.Generator, m: Members, start: int, end: int,
                refund_share: float = 0.02, history: bool = True) -> Orders:
    """Enrollment packs, first orders and occasional re-orders in ``[start, end)``.

    ``history=True`` (the demo): every member's joining order plus occasional re-orders from
    joining to ``end`` (each customer with their own rate, some stopping: the non-contractual
    pattern). ``history=False`` (generated benchmarks): about one order per member in the window.
    Autoship re-orders are not made here.
    """
    n = m.size
    ids = np.arange(1, n + 1)
    packs = np.array([i for i, c in enumerate(CATALOG) if c.is_enrollment_pack])
    goods = np.array([i for i, c in enumerate(CATALOG) if not c.is_enrollment_pack])
    is_dist = m.kind == KIND_DISTRIBUTOR
    if history:
        t_first = m.joined_at
        first_source = np.where(is_dist, SOURCE_ENROLLMENT,
                                np.where(m.kind == KIND_RETAIL, SOURCE_RETAIL, SOURCE_ONE_TIME))
        # Occasional re-orders: Poisson with a gamma-distributed rate, until a dropout time.
        rate = rng.gamma(0.8, 1.0 / 0.8, n) / (60 * 86400)  # about one every two months
        life = rng.exponential(240 * 86400, n)
        horizon = np.clip(np.minimum(m.joined_at + life, end) - m.joined_at, 0, None)
        counts = rng.poisson(rate * horizon)
        counts[m.wants_autoship] = 0
        buyer_re = np.repeat(ids, counts)
        t_re = (np.repeat(m.joined_at, counts)
                + rng.random(int(counts.sum())) * np.repeat(horizon, counts)).astype(np.int64)
        buyer = np.concatenate([ids, buyer_re])
        placed = np.concatenate([t_first, t_re])
        source = np.concatenate([first_source, np.full(len(buyer_re), 2)])
    else:
        months = max(1, round((end - start) / (30 * 86400)))
        buyer = np.tile(ids, months)
        buyer = buyer[rng.random(len(buyer)) < 0.95]
        placed = rng.integers(start, end, len(buyer))
        source = np.where(m.kind[buyer - 1] == KIND_RETAIL, SOURCE_RETAIL, SOURCE_ONE_TIME)
    order = np.argsort(placed, kind="stable")
    buyer, placed, source = buyer[order], placed[order], source[order]
    k = len(buyer)
    bkind = m.kind[buyer - 1]
    credited = np.where(bkind == KIND_DISTRIBUTOR, buyer, m.owner[buyer - 1])
    # Upgraded members bought as customers before their upgrade: credit their former owner.
    if len(m.upgraded):
        up_pos = np.full(n + 1, -1)
        up_pos[m.upgraded] = np.arange(len(m.upgraded))
        p = up_pos[buyer]
        before = (p >= 0) & (placed < m.upgraded_at[np.maximum(p, 0)])
        credited = np.where(before, m.former_owner[np.maximum(p, 0)], credited)
        bkind = np.where(before, 1, bkind)
        source = np.where(before & (source == SOURCE_ENROLLMENT), SOURCE_ONE_TIME, source)
    # Lines: enrollment orders carry a pack; others 1-2 products.
    n_lines = np.where(source == SOURCE_ENROLLMENT, 1, 1 + (rng.random(k) < 0.35))
    line_order = np.repeat(np.arange(k), n_lines)
    line_src = source[line_order]
    product = np.where(line_src == 0, rng.choice(packs, len(line_order), p=[0.75, 0.25]),
                       rng.choice(goods, len(line_order)))
    qty = np.where(line_src == 0, 1, 1 + (rng.random(len(line_order)) < 0.2))
    retail = np.array([c.retail_price for c in CATALOG])
    wholesale = np.array([c.wholesale_price for c in CATALOG])
    unit = np.where(bkind[line_order] == KIND_RETAIL, retail[product], wholesale[product])
    refunded = np.flatnonzero(rng.random(k) < refund_share)
    refunded_at = placed[refunded] + rng.integers(2, 30, len(refunded)) * 86400
    keep = refunded_at < end
    return Orders(
        buyer=buyer, credited_to=credited, placed_at=placed, source=source,
        line_order=line_order, line_product=product, line_quantity=qty, line_unit_price=unit,
        refunded_order=refunded[keep], refunded_at=refunded_at[keep],
    )
