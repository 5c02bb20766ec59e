"""Building a synthetic company in the store: the demo (realistic, 18 months) and large
generated companies for benchmarks. Both write the arrays of :mod:`patronage.demo.core.synth` in
bulk, in one transaction, into an empty database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Connection, Engine, func, select

from patronage.db.bulk import reset_sequences, write_rows
from patronage.db.tables import Member
from patronage.demo import markets as demo_markets
from patronage.demo.core import synth
from patronage.errors import PatronageError
from patronage.facts import KIND_DISTRIBUTOR, KIND_PREFERRED, KIND_RETAIL
from patronage.orders.core.pricing import price_lines

SOURCES = np.array(["enrollment", "autoship", "one_time", "retail"])
TABLES = ["members", "products", "orders", "order_lines", "refunds", "refund_lines", "consents",
          "genealogy_changes", "markets", "product_prices", "exchange_rates"]


@dataclass
class CompanySummary:
    """What was made, for the command's summary table."""

    members: int = 0
    distributors: int = 0
    preferred: int = 0
    retail: int = 0
    orders: int = 0
    order_lines: int = 0
    refunds: int = 0
    upgrades: int = 0
    max_depth: int = 0
    customers_per_distributor_median: float = 0.0
    distributors_at_50_customers: int = 0
    autoship_candidates: list[int] = field(default_factory=list)
    extra: dict[str, int | str] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str]]:
        out = [
            ("members", f"{self.members:,}"),
            ("distributors", f"{self.distributors:,}"),
            ("preferred customers", f"{self.preferred:,}"),
            ("retail customers", f"{self.retail:,}"),
            ("customers per distributor (median)", f"{self.customers_per_distributor_median:g}"),
            ("distributors with 50+ customers", f"{self.distributors_at_50_customers:,}"),
            ("deepest level of the tree", f"{self.max_depth}"),
            ("customers upgraded to distributor", f"{self.upgrades:,}"),
            ("orders (enrollment, one-time, retail)", f"{self.orders:,}"),
            ("order lines", f"{self.order_lines:,}"),
            ("refunds", f"{self.refunds:,}"),
        ]
        out += [(k, f"{v:,}" if isinstance(v, int) else v) for k, v in self.extra.items()]
        return out


def require_empty(engine: Engine) -> None:
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(Member)) or 0
    if count:
        raise PatronageError(
            f"the database already holds {count:,} members; build the company into a new "
            "database (--db) or pass --reset to empty this one first"
        )


def _depth(sponsor: np.ndarray, owner: np.ndarray) -> int:
    parent = np.where(sponsor > 0, sponsor, owner) - 1
    depth = np.zeros(len(parent), dtype=np.int64)
    # Parents always have smaller ids, so one pass in id order settles every depth.
    has = parent >= 0
    for _ in range(64):
        new = np.where(has, depth[np.maximum(parent, 0)] + 1, 0)
        if np.array_equal(new, depth):
            break
        depth = new
    return int(depth.max(initial=0))


#: Per demo time zone (:data:`synth.ZONES`): the region (ISO 3166-2) and the phone number's
#: country code and area (all numbers valid in their numbering plan, stored in E.164).
ZONE_CONTACTS = [("NY", "1", "212"), ("IL", "1", "312"), ("CO", "1", "303"), ("CA", "1", "213"),
                 ("ON", "1", "416"), ("LND", "44", "207"), ("CMX", "52", "55")]
#: The city of the zones outside the US (US members live in the generic towns).
CITY = {4: "Toronto", 5: "London", 6: "Ciudad de México"}
_POSTAL = {4: ("M5V 2T6", "M4C 1B5", "M6J 1E6"), 5: ("SW1A 1AA", "EC1Y 8SY", "N1 9GU")}


def demo_phone(zone_index: int, i: int) -> str:
    """A valid number of the member's country (US and Canada: exchange 200–999)."""
    _, code, area = ZONE_CONTACTS[zone_index]
    if code == "1":
        return f"+1{area}{200 + (i // 10000) % 800}{i % 10000:04d}"
    if code == "44":
        return f"+44{area}{i % 10_000_000:07d}"
    return f"+52{area}{i % 100_000_000:08d}"


def demo_postal(zone_index: int, i: int) -> str:
    """A postal code in the format of the member's country."""
    codes = _POSTAL.get(zone_index)
    return codes[i % len(codes)] if codes else f"{(i * 7919) % 90000 + 10000}"


def _market_of(m: synth.Members) -> np.ndarray:
    """Each member's demo market (an index into :data:`demo_markets.MARKETS`), by country."""
    codes = [dm.code for dm in demo_markets.MARKETS]
    by_zone = np.array([codes.index(c) for _, c, _ in synth.ZONES])
    return by_zone[m.zone]


def member_locales(ids: np.ndarray, countries: np.ndarray) -> np.ndarray:
    """Each demo member's locale: their country's (:data:`demo_markets.LOCALES`), and one
    member in eight in the US speaks Spanish (``es-US``), so that messages and pages show in
    Spanish beyond Mexico too."""
    locales = np.full(len(countries), "en-US", dtype="<U5")
    for country, locale in demo_markets.LOCALES.items():
        locales[countries == country] = locale
    locales[(countries == "US") & (ids % 8 == 3)] = "es-US"
    return locales


def _write_members(conn: Connection, m: synth.Members, personal: bool,
                   rng: np.random.Generator, market_ids: dict[str, int]) -> None:
    n = m.size
    ids = np.arange(1, n + 1)
    first = synth.FIRST_NAMES[m.first]
    last = synth.LAST_NAMES[m.last]
    zones = np.array([z for z, _, _ in synth.ZONES])[m.zone]
    countries = np.array([c for _, c, _ in synth.ZONES])[m.zone]

    def ref_or_none(values: np.ndarray) -> list[int | None]:
        return [None if v == 0 else v for v in values.tolist()]

    cols: dict[str, object] = {
        "id": ids,
        "ref": [f"M{i:08d}" for i in ids.tolist()],
        "kind": synth.KINDS[m.kind],
        "status": np.full(n, "active"),
        "first_name": first,
        "last_name": last,
        "timezone": zones,
        "locale": member_locales(ids, countries),
        "market_id": np.array([market_ids[dm.code] for dm in demo_markets.MARKETS])[
            _market_of(m)],
        "country": countries,
        "birth_month": m.birth_month,
        "birth_day": m.birth_day,
        "birth_year": [None if y == 0 else y for y in m.birth_year.tolist()],
        "joined_at": m.joined_at,
        "channel": synth.CHANNELS[m.channel],
        "sponsor_id": ref_or_none(m.sponsor),
        "owner_id": ref_or_none(m.owner),
        "referrer_id": ref_or_none(m.referrer),
    }
    if personal:
        cols["email"] = [f"{f.lower()}.{s.lower()}.{i}@example.com"
                         for f, s, i in zip(first.tolist(), last.tolist(), ids.tolist(),
                                            strict=True)]
        zone_index = m.zone.tolist()
        cols["phone"] = [demo_phone(z, i) for z, i in zip(zone_index, ids.tolist(), strict=True)]
        cols["address_line1"] = [f"{(i * 37) % 9000 + 100} {ln} Street"
                                 for i, ln in zip(ids.tolist(), last.tolist(), strict=True)]
        cities = synth.CITIES[rng.integers(0, len(synth.CITIES), n)]
        cols["city"] = [CITY.get(z, c) for z, c in zip(zone_index, cities.tolist(), strict=True)]
        cols["region"] = np.array([r for r, _, _ in ZONE_CONTACTS])[m.zone]
        cols["postal_code"] = [demo_postal(z, i)
                               for z, i in zip(zone_index, ids.tolist(), strict=True)]
    write_rows(conn, "members", cols, times=["joined_at"])


def _write_consents(conn: Connection, m: synth.Members, end: int,
                    rng: np.random.Generator) -> int:
    n = m.size
    ids = np.arange(1, n + 1)
    member_id, channel, granted, at, method = [], [], [], [], []
    for ch, share in (("email", 0.8), ("post", 0.9), ("sms", 0.3)):
        given = ids[rng.random(n) < share]
        member_id.append(given)
        channel.append(np.full(len(given), ch))
        granted.append(np.ones(len(given), dtype=bool))
        at.append(m.joined_at[given - 1])
        method.append(np.full(len(given), "enrolment form"))
    # A few withdraw email consent later (through an unsubscribe link).
    email_given = member_id[0]
    quit_ = email_given[rng.random(len(email_given)) < 0.05]
    quit_at = m.joined_at[quit_ - 1] + rng.integers(10, 300, len(quit_)) * 86400
    keep = quit_at < end
    member_id.append(quit_[keep])
    channel.append(np.full(int(keep.sum()), "email"))
    granted.append(np.zeros(int(keep.sum()), dtype=bool))
    at.append(quit_at[keep])
    method.append(np.full(int(keep.sum()), "unsubscribe link"))
    cols = {"member_id": np.concatenate(member_id), "channel": np.concatenate(channel),
            "granted": np.concatenate(granted), "at": np.concatenate(at),
            "method": np.concatenate(method)}
    return write_rows(conn, "consents", cols, times=["at"])


def _write_upgrades(conn: Connection, m: synth.Members, now: int) -> None:
    k = len(m.upgraded)
    if not k:
        return
    member = np.repeat(m.upgraded, 3)
    field_ = np.tile(np.array(["kind", "owner", "sponsor"]), k)
    old = np.empty(3 * k, dtype=object)
    new = np.empty(3 * k, dtype=object)
    old[0::3] = synth.KINDS[m.former_kind]
    new[0::3] = "distributor"
    old[1::3] = m.former_owner.astype(str)
    new[1::3] = None
    old[2::3] = None
    new[2::3] = m.sponsor[m.upgraded - 1].astype(str)
    write_rows(conn, "genealogy_changes", {
        "member_id": member, "field": field_, "old_value": old.tolist(),
        "new_value": new.tolist(), "effective_at": np.repeat(m.upgraded_at, 3),
        "recorded_at": np.repeat(m.upgraded_at, 3),
        "actor": np.full(3 * k, "member"), "reason": np.full(3 * k, "customer upgraded"),
    }, times=["effective_at", "recorded_at"])


def _write_orders(conn: Connection, o: synth.Orders, market: np.ndarray) -> None:
    """The orders, each in its buyer's market (``market``: by member index) and currency,
    priced and classified as place_order does (:mod:`patronage.orders.core.pricing`)."""
    cat = synth.CATALOG
    retail_prices, wholesale_prices = demo_markets.price_table()
    buyer_market = market[o.buyer - 1]
    line_market = buyer_market[o.line_order]
    # The generator priced each line in dollars: whoever paid the retail price pays it here.
    pays_retail = o.line_unit_price == np.array([c.retail_price for c in cat])[o.line_product]
    priced = price_lines(
        retail=retail_prices[o.line_product, line_market],
        wholesale=wholesale_prices[o.line_product, line_market],
        qv=np.array([c.qv for c in cat])[o.line_product],
        cv=np.array([c.cv for c in cat])[o.line_product], quantity=o.line_quantity,
        pays_retail=pays_retail,
        by_distributor=o.credited_to[o.line_order] == o.buyer[o.line_order],
        promotional=np.array([c.is_enrollment_pack for c in cat])[o.line_product],
        volume_when_free=np.zeros(len(o.line_order), dtype=bool))
    qv, cv, amount = priced.qv, priced.cv, priced.amount
    retail, whole = priced.retail_total, priced.wholesale_total
    totals = np.bincount(o.line_order, weights=amount, minlength=o.size).astype(np.int64)
    order_ids = np.arange(1, o.size + 1)
    write_rows(conn, "orders", {
        "id": order_ids, "buyer_id": o.buyer,
        "credited_to_id": [None if c == 0 else c for c in o.credited_to.tolist()],
        "placed_at": o.placed_at,
        "currency": np.array([dm.currency for dm in demo_markets.MARKETS])[buyer_market],
        "source": SOURCES[o.source], "status": np.full(o.size, "paid"), "total": totals,
    }, times=["placed_at"])
    line_ids = np.arange(1, len(o.line_order) + 1)
    write_rows(conn, "order_lines", {
        "id": line_ids, "order_id": o.line_order + 1, "product_id": o.line_product + 1,
        "quantity": o.line_quantity, "unit_price": priced.unit_price, "amount": amount,
        "qv": qv, "cv": cv, "retail_total": retail, "wholesale_total": whole,
        "volume_kind": priced.volume_kinds(), "buyer_class": priced.buyer_classes(),
    })
    if len(o.refunded_order):
        r = len(o.refunded_order)
        write_rows(conn, "refunds", {
            "id": np.arange(1, r + 1), "order_id": o.refunded_order + 1,
            "refunded_at": o.refunded_at, "reason": np.full(r, "returned"),
            "total": totals[o.refunded_order],
        }, times=["refunded_at"])
        refund_of = np.full(o.size, -1)
        refund_of[o.refunded_order] = np.arange(r)
        lines = np.flatnonzero(refund_of[o.line_order] >= 0)
        write_rows(conn, "refund_lines", {
            "refund_id": refund_of[o.line_order[lines]] + 1, "order_line_id": line_ids[lines],
            "quantity": o.line_quantity[lines], "amount": amount[lines], "qv": qv[lines],
            "cv": cv[lines],
        })


def write_company(engine: Engine, m: synth.Members, o: synth.Orders, *, now: int,
                  personal: bool, seed: int) -> CompanySummary:
    """Write members, catalog, orders, refunds, consents and upgrades in one transaction."""
    rng = np.random.default_rng(seed + 1)
    with engine.begin() as conn:
        cat = synth.CATALOG
        write_rows(conn, "products", {
            "id": np.arange(1, len(cat) + 1), "sku": [c.sku for c in cat],
            "name": [c.name for c in cat], "retail_price": [c.retail_price for c in cat],
            "wholesale_price": [c.wholesale_price for c in cat], "qv": [c.qv for c in cat],
            "cv": [c.cv for c in cat], "is_enrollment_pack": [c.is_enrollment_pack for c in cat],
            "product_line": [c.product_line for c in cat], "active": [True] * len(cat),
        })
        market_ids = demo_markets.write_markets(conn)
        demo_markets.write_prices(conn, market_ids)
        demo_markets.write_rates(conn, int(m.joined_at.min(initial=now)), now)
        _write_members(conn, m, personal, rng, market_ids)
        _write_upgrades(conn, m, now)
        if personal:
            _write_consents(conn, m, now, rng)
        _write_orders(conn, o, _market_of(m))
        reset_sequences(conn, TABLES)
    dist = m.kind == KIND_DISTRIBUTOR
    per_dist = np.bincount(m.owner[~dist], minlength=m.size + 1)[np.flatnonzero(dist) + 1]
    return CompanySummary(
        members=m.size, distributors=int(dist.sum()),
        preferred=int((m.kind == KIND_PREFERRED).sum()), retail=int((m.kind == KIND_RETAIL).sum()),
        orders=o.size, order_lines=len(o.line_order),
        refunds=len(o.refunded_order), upgrades=len(m.upgraded),
        max_depth=_depth(m.sponsor, m.owner),
        customers_per_distributor_median=float(np.median(per_dist)) if len(per_dist) else 0.0,
        distributors_at_50_customers=int((per_dist >= 50).sum()),
        autoship_candidates=(np.flatnonzero(m.wants_autoship) + 1).tolist(),
    )


def build_company(engine: Engine, *, seed: int, members: int, months: int, now: datetime,
                  history: bool, personal: bool) -> CompanySummary:
    """Generate and write a company whose history spans ``months`` months up to ``now``."""
    if members < 2:
        raise PatronageError("--members: a company needs at least 2 members")
    if months < 1:
        raise PatronageError("--months: at least 1")
    require_empty(engine)
    rng = np.random.default_rng(seed)
    end = int(now.astimezone(UTC).timestamp())
    start = int((now - timedelta(days=round(30.44 * months))).timestamp())
    if history:
        m = synth.make_members(rng, members, start, end)
    else:
        m = synth.make_members(rng, members, start - 365 * 86400, start)
    o = synth.make_orders(rng, m, start, end, history=history)
    return write_company(engine, m, o, now=end, personal=personal, seed=seed)
