"""A company in three markets (USD, CAD, JPY): orders priced in each market's currency, the
engine fed plan-currency money and paying each earner in their currency at the frozen rates,
rounding per currency, replay after the rates change, and the refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select, update

from patronage.clock import Period
from patronage.compensation.core.results import BONUSES
from patronage.compensation.runs import (
    PlanSource,
    commit_period,
    preview_period,
    rerun_committed,
)
from patronage.db.compensation import PayoutLine
from patronage.db.engine import transaction
from patronage.db.markets import ExchangeRate, RunRate
from patronage.db.tables import Order, OrderLine
from patronage.errors import IntegrityViolation, PatronageError
from patronage.markets.core.currencies import numeric
from patronage.markets.markets import NewMarket, add_market, place_in_market
from patronage.markets.prices import MarketPrice, set_price
from patronage.markets.rates import import_rates
from patronage.orders.catalog import NewProduct, add_product, product_by_sku
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import customer, distributor

PLAN = PlanSource.from_text("""
[plan]
name = "markets"
version = "m1"
[active]
min_pv = 0
[[ranks]]
name = "Member"
min_pv = 0
unilevel_depth = 1
[bonuses.retail_profit]
enabled = true
[bonuses.unilevel]
rates = [0.10]
[bonuses.customer_referral]
referrals = 1
cap = 150.00
""")
OCT = Period(2026, 10)
MID_OCT = datetime(2026, 10, 15, 12, tzinfo=UTC)
MID_NOV = datetime(2026, 11, 15, 12, tzinfo=UTC)
RATES = "day,currency,rate\n2026-10-30,CAD,0.75\n2026-10-30,JPY,0.0067\n"


def _company(engine: Engine) -> dict[str, int]:
    """US (the default market, USD), CA (CAD) and JP (JPY): one shake priced in each; a
    distributor in each market with a retail customer in the same market."""
    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 8000, 10000, 10000))
        shake = product_by_sku(s, "SHAKE")
        ca = add_market(s, NewMarket("CA", "Canada", "CAD", ["en-CA", "fr-CA"],
                                     "America/Toronto", shipping_countries=["CA"],
                                     autoship_last_day=28, cooling_off_days=10))
        jp = add_market(s, NewMarket("JP", "Japan", "JPY", ["ja-JP"], "Asia/Tokyo",
                                     tax_inclusive=True, shipping_countries=["JP"],
                                     cooling_off_days=8))
        set_price(s, shake, ca, MarketPrice(13000, 10400, 10000, 10000))
        set_price(s, shake, jp, MarketPrice(15000, 12000, 10000, 10000))
        ids: dict[str, int] = {}
        top = distributor(s, "Uma")
        ids["us"] = sponsor = top
        for code in ("CA", "JP"):  # Uma (US) sponsors DCA (CA), who sponsors DJP (JP)
            d = sponsor = distributor(s, f"D{code}", sponsor=sponsor)
            c = customer(s, d, f"C{code}", referrer_id=d)
            place_in_market(s, d, code)
            place_in_market(s, c, code)
            ids[code.lower()], ids[f"{code.lower()}_customer"] = d, c
        import_rates(s, RATES, name="rates.csv", base="USD", now=MID_OCT)
    return ids


def _order(engine: Engine, buyer: int, **kw: object) -> tuple[Order, list[OrderLine]]:
    with transaction(engine) as s:
        placed = place_order(s, NewOrder(buyer, MID_OCT, [LineRequest("SHAKE")],
                                         **kw), now=MID_OCT)  # type: ignore[arg-type]
        s.expunge_all()
        return placed.order, placed.lines


def test_orders_are_priced_in_the_buyers_market_and_currency(engine: Engine) -> None:
    ids = _company(engine)
    us, _ = _order(engine, ids["us"])
    ca, ca_lines = _order(engine, ids["ca_customer"])
    jp, jp_lines = _order(engine, ids["jp"])
    assert (us.currency, us.total) == ("USD", 8000)  # a distributor pays wholesale
    assert (ca.currency, ca.total) == ("CAD", 13000)  # a retail customer pays retail
    assert (ca_lines[0].retail_total, ca_lines[0].wholesale_total) == (13000, 10400)
    assert (jp.currency, jp.total) == ("JPY", 12000)  # yen: no minor unit
    assert (jp_lines[0].qv, jp_lines[0].cv) == (10000, 10000)  # volume in points everywhere


def test_an_order_in_another_currency_than_the_buyers_market_is_refused(engine: Engine) -> None:
    ids = _company(engine)
    with pytest.raises(PatronageError, match=r"currency USD is not the currency of buyer "
                                             r"\d+'s market JP \(JPY\)"):
        _order(engine, ids["jp"], currency="USD", idempotency_key="k1")
    with pytest.raises(PatronageError, match="'ZZZ' is not an ISO 4217 currency"):
        _order(engine, ids["jp"], currency="ZZZ")
    with transaction(engine) as s:
        assert s.scalar(select(Order.id)) is None  # nothing written


def test_a_product_without_a_price_in_the_buyers_market_is_refused(engine: Engine) -> None:
    ids = _company(engine)
    with transaction(engine) as s:
        add_product(s, NewProduct("TEA", "Tea", 2000, 1500, 1000, 1000))  # US price only
    with transaction(engine) as s, pytest.raises(
            IntegrityViolation, match=r"line 2: product 'TEA' has no price in buyer \d+'s "
                                      r"market CA"):
        place_order(s, NewOrder(ids["ca"], MID_OCT, [LineRequest("SHAKE"), LineRequest("TEA")]),
                    now=MID_OCT)
    with transaction(engine) as s:
        assert s.scalar(select(Order.id)) is None


def test_a_run_without_a_rate_for_a_currency_it_needs_is_refused(engine: Engine) -> None:
    ids = _company(engine)
    _order(engine, ids["jp_customer"])
    with transaction(engine) as s:
        s.execute(ExchangeRate.__table__.delete().where(ExchangeRate.currency == "JPY"))
    with pytest.raises(PatronageError, match=r"period 2026-10: no exchange rate into USD on or "
                                             r"before 2026-10-31 for JPY"):
        commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")
    with transaction(engine) as s:
        assert s.scalar(select(PayoutLine.id)) is None


def test_the_engine_pays_in_plan_currency_and_each_earner_in_theirs(engine: Engine) -> None:
    ids = _company(engine)
    _order(engine, ids["ca_customer"])  # CAD 130.00 retail, 104.00 wholesale
    _order(engine, ids["jp_customer"])  # ¥15,000 retail, ¥12,000 wholesale
    run = preview_period(engine, OCT, PLAN)
    p = run.result.payouts
    paid, currency = run.earner_amounts()
    lines = {(run.member_id(int(e)), int(b), int(a), int(q), int(c)) for e, b, a, q, c in zip(
        p.earner, p.bonus, p.amount, paid, currency, strict=True)}
    from patronage.compensation.core.results import BONUSES

    rp, uni, ref = (BONUSES.index(b) for b in ("retail_profit", "unilevel",
                                               "customer_referral"))
    cad, jpy, usd = numeric("CAD"), numeric("JPY"), numeric("USD")
    # Retail profit: CAD 26.00 = USD 19.50 (0.75), paid back as CAD 26.00.
    assert (ids["ca"], rp, 1950, 2600, cad) in lines
    # ¥3,000 = USD 20.10 (0.0067); back in yen: 2010 × 100 / 67 = ¥3,000.
    assert (ids["jp"], rp, 2010, 3000, jpy) in lines
    # Referral: the referred customer's order, USD 97.50 (not CAD 130.00 taken as dollars).
    assert (ids["ca"], ref, 9750, 13000, cad) in lines
    # ¥15,000 is USD 100.50, under the USD 150.00 cap (as dollars it would hit the cap).
    assert (ids["jp"], ref, 10050, 15000, jpy) in lines
    # Unilevel on points: 10% of DJP's 100 CV (his customer's) to DCA: USD 10.00 in CAD at
    # 0.75 is 13.333…, rounded to CAD 13.33; Uma (US) gets 10% of DCA's in dollars.
    assert (ids["ca"], uni, 1000, 1333, cad) in lines
    assert (ids["us"], uni, 1000, 1000, usd) in lines
    assert len(lines) == 6


def test_a_run_replayed_after_the_rates_change_gives_the_same_lines(engine: Engine) -> None:
    ids = _company(engine)
    _order(engine, ids["ca_customer"])
    _order(engine, ids["jp_customer"])
    commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")
    with transaction(engine) as s:
        frozen = {r.currency: (r.rate, r.day) for r in s.scalars(select(RunRate))}
        before = sorted(tuple(r) for r in s.execute(select(
            PayoutLine.earner_id, PayoutLine.bonus, PayoutLine.amount, PayoutLine.currency,
            PayoutLine.paid_amount)).all())
        s.execute(update(ExchangeRate).values(rate=ExchangeRate.rate * 2))
        import_rates(s, "day,currency,rate\n2026-10-31,JPY,0.01\n", name="late.csv",
                     base="USD", now=MID_NOV)
    assert frozen == {"CAD": (750_000_000, date(2026, 10, 30)),
                      "JPY": (6_700_000, date(2026, 10, 30))}
    same, again = rerun_committed(engine, OCT)
    assert same
    g, p = again.facts.genealogy, again.result.payouts
    paid, currency = again.earner_amounts()
    replayed = sorted(zip(g.member_id[p.earner].tolist(), [BONUSES[b] for b in p.bonus.tolist()],
                          p.amount.tolist(), currency.tolist(), paid.tolist(), strict=True))
    assert replayed == before
    assert len(before) == 6
