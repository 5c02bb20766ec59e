"""Customer value services: fit and score everyone, and what a distributor sees of it.

``fit_values`` loads the facts in bulk (integer SQL into arrays), calls the pure engine
(:mod:`patronage.value.core.customers`) and writes the run, its fits and one row per member in one
transaction. The read functions answer from the latest run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from patronage.access import Principal, require_customers_of
from patronage.arrays import I64, per_member
from patronage.clock import DEFAULT_COMPANY_ZONE, Period, period_bounds, require_aware, zone
from patronage.compensation.open_volumes import open_mix
from patronage.db.bulk import fetch_rows, refresh_statistics, write_rows
from patronage.db.compensation import CommissionRun, RankRecord
from patronage.db.engine import transaction
from patronage.db.loaders import bound_time, epoch_sql, integer_matrix, load_genealogy, load_lines
from patronage.db.markets import Market
from patronage.db.tables import Member
from patronage.db.value import CustomerValue, ValueFit, ValueRun
from patronage.errors import NotFound
from patronage.facts import KIND_DISTRIBUTOR
from patronage.markets.core.conversion import Rates, from_plan, to_plan
from patronage.markets.markets import plan_currency
from patronage.markets.rates import rates_on
from patronage.network.core.genealogy import subtree_sums
from patronage.value.core.customers import (
    MODELS,
    SOURCES,
    MemberValues,
    ValueFacts,
    ValueSettings,
    risk_words,
    value_members,
)
from patronage.value.core.seven import NAMES

CUSTOMER_TARGET = 50  # customers per distributor: the 1:50 ratio


def _per_member(conn: Connection, member_id: I64, sql: str, params: dict[str, Any],
                width: int) -> list[I64]:
    """Columns 1.. of an integer query keyed by member id in column 0, spread over indexes."""
    return per_member(member_id, integer_matrix(conn, sql, params, width))


@dataclass(frozen=True)
class ValueMoney:
    """The currencies of a value run: the rates into the plan currency as of the run's day
    (``codes[0]`` is the plan currency), each member's currency (an index into ``codes``),
    and each member's past value summed in their own currency."""

    rates: Rates
    member_currency: I64
    local_past: I64


def _currency_sql(column: str, codes: tuple[str, ...]) -> str:
    """An integer expression: the index of ``column``'s currency code in ``codes`` (-1 when
    it has no rate: refused before)."""
    whens = " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(codes))
    return f"(CASE {column} {whens} ELSE -1 END)"


def _value_rates(conn: Connection, now: datetime, t: dict[str, Any]) -> Rates:
    """The rates into the plan currency on ``now``'s day (UTC) of every currency the orders
    and markets use; refused, naming the currencies, when one has none."""
    plan = plan_currency(conn)
    used = {str(c) for (c,) in conn.execute(text(
        "SELECT DISTINCT currency FROM orders WHERE placed_at < :t"), t)}
    used |= {str(c) for (c,) in conn.execute(select(Market.currency))}
    if not used - {plan}:
        return Rates(plan, {})
    with Session(bind=conn) as session:
        rates, _ = rates_on(session, used, now.astimezone(UTC).date(), base=plan,
                            place=f"customer values as of {now.astimezone(UTC).date()}")
    return rates


def load_value_facts(engine: Engine, now: datetime) -> tuple[ValueFacts, list[str]]:
    """Everything the value engine needs, as of ``now``; and the segment names by code."""
    facts, names, _ = load_value_facts_money(engine, now)
    return facts, names


def load_value_facts_money(engine: Engine, now: datetime
                           ) -> tuple[ValueFacts, list[str], ValueMoney]:
    """:func:`load_value_facts` with the run's money: every amount the engine reads (order
    totals net of refunds, the next autoship charge at the member's market prices) in the plan
    currency, converted at the rates of ``now``'s day (half to even, once per amount)."""
    require_aware(now, place="now")
    with engine.connect() as conn:
        g = load_genealogy(conn, now)
        n, t = g.size, {"t": bound_time(conn, now)}
        rates = _value_rates(conn, now, t)
        codes = rates.codes
        default_id = conn.scalar(select(Market.id).where(Market.is_default.is_(True)))
        (member_currency,) = _per_member(conn, g.member_id, (
            f"SELECT m.id, {_currency_sql('k.currency', codes)} FROM members m "
            "LEFT JOIN markets k ON k.id = COALESCE(m.market_id, :d) WHERE m.joined_at < :t"),
            {**t, "d": default_id}, 2)
        channels = [row[0] for row in fetch_rows(
            conn, "SELECT COALESCE(channel, '') FROM members WHERE joined_at < :t ORDER BY id",
            t)]
        names, segment = np.unique(np.array(channels, dtype=object).astype(str),
                                   return_inverse=True)
        upgraded = np.zeros(n, dtype=bool)
        ups = integer_matrix(conn, "SELECT member_id FROM genealogy_changes WHERE "
                             "field = 'kind' AND new_value = 'distributor' AND "
                             "effective_at < :t", t, 1)
        at = g.index_of(ups[:, 0])
        upgraded[at[at >= 0]] = True
        orders = integer_matrix(conn, (
            f"SELECT o.buyer_id, {epoch_sql(conn, 'o.placed_at')}, o.total - COALESCE(r.back, 0), "
            f"{_currency_sql('o.currency', codes)} FROM orders o LEFT JOIN "
            "(SELECT order_id, SUM(total) AS back FROM refunds WHERE refunded_at < :t "
            "GROUP BY order_id) r ON r.order_id = o.id "
            "WHERE o.status = 'paid' AND o.placed_at < :t"), t, 4)
        buyer = g.index_of(orders[:, 0])
        orders = orders[buyer >= 0]
        buyer = buyer[buyer >= 0]
        order_total = to_plan(orders[:, 2].copy(), orders[:, 3].copy(), rates)
        # The past value in the member's own currency: exact for orders in it; an order in
        # another currency (a member who moved market) through the plan currency.
        own = orders[:, 3] == member_currency[buyer]
        in_own = orders[:, 2].copy()
        if not own.all():
            in_own[~own] = from_plan(order_total[~own], member_currency[buyer][~own], rates)
        local_past = np.bincount(buyer, weights=in_own, minlength=n).astype(np.int64)
        lines = load_lines(conn, g, now - timedelta(days=365), now)
        credited = lines.credited_to >= 0
        own_cv = np.bincount(lines.credited_to[credited], weights=lines.cv[credited],
                             minlength=n).astype(np.int64)
        team_cv = subtree_sums(g, own_cv)
        subs = integer_matrix(conn, (
            f"SELECT s.member_id, {epoch_sql(conn, 's.created_at')}, "
            f"COALESCE({epoch_sql(conn, 's.cancelled_at')}, {epoch_sql(conn, 'x.at')}, -1), "
            "CASE WHEN s.status IN ('active', 'paused') THEN 1 ELSE 0 END, "
            "CASE WHEN s.status = 'suspended' OR s.failures > 0 THEN 1 ELSE 0 END, "
            "COALESCE(a.amount, 0) "
            "FROM subscriptions s LEFT JOIN (SELECT subscription_id, MAX(at) AS at "
            "FROM autoship_events WHERE kind = 'suspended' GROUP BY subscription_id) x "
            "ON x.subscription_id = s.id LEFT JOIN (SELECT i.subscription_id, SUM(i.quantity * "
            "CASE WHEN m.kind = 'retail' THEN COALESCE(pp.retail_price, p.retail_price) "
            "ELSE COALESCE(pp.wholesale_price, p.wholesale_price) END) "
            "AS amount FROM subscription_items i JOIN subscriptions s2 ON s2.id = "
            "i.subscription_id JOIN members m ON m.id = s2.member_id JOIN products p "
            "ON p.sku = i.sku LEFT JOIN product_prices pp ON pp.product_id = p.id AND "
            "pp.market_id = COALESCE(m.market_id, :d) GROUP BY i.subscription_id) a "
            "ON a.subscription_id = s.id WHERE s.created_at < :t"), {**t, "d": default_id}, 6)
        sub_member = g.index_of(subs[:, 0])
        subs, sub_member = subs[sub_member >= 0], sub_member[sub_member >= 0]
        # The next charge at the member's market prices, in the member's currency.
        sub_amount = to_plan(subs[:, 5].copy(), member_currency[sub_member], rates)
        answers, comments = _per_member(conn, g.member_id, (
            "SELECT member_id, COUNT(*), SUM(CASE WHEN comment <> '' THEN 1 ELSE 0 END) "
            "FROM survey_responses WHERE answered_at < :t GROUP BY member_id"), t, 3)
        given, published = _per_member(conn, g.member_id, (
            "SELECT member_id, COUNT(*), SUM(CASE WHEN status = 'published' THEN 1 ELSE 0 END) "
            "FROM testimonials WHERE submitted_at < :t GROUP BY member_id"), t, 3)
        touches, replies, last = _per_member(conn, g.member_id, (
            "SELECT member_id, COUNT(*), COUNT(replied_at), "
            f"MAX({epoch_sql(conn, 'COALESCE(done_at, sent_at)')}) FROM care_touches "
            "WHERE status IN ('sent', 'done') AND COALESCE(done_at, sent_at) < :t "
            "GROUP BY member_id"), t, 4)
        last = np.where(touches > 0, last, -1)
        previous = np.full(n, np.nan)
        latest = conn.execute(select(func.max(ValueRun.id)).where(
            ValueRun.as_of < now)).scalar()
        if latest is not None:
            rows = fetch_rows(conn, "SELECT member_id, p_alive FROM customer_values "
                                    "WHERE run_id = :r", {"r": latest})
            if rows:
                ids = np.array([r[0] for r in rows], dtype=np.int64)
                at = g.index_of(ids)
                previous[at[at >= 0]] = np.array([r[1] for r in rows])[at >= 0]
    facts = ValueFacts(
        now=int(now.timestamp()), member_id=g.member_id, is_customer=g.kind != KIND_DISTRIBUTOR,
        joined_at=g.joined_at, referrer=g.referrer, segment=segment.astype(np.int64),
        is_distributor=g.kind == KIND_DISTRIBUTOR, upgraded=upgraded, team_cv=team_cv,
        order_member=buyer, order_at=orders[:, 1].copy(), order_total=order_total,
        sub_member=sub_member, sub_started=subs[:, 1].copy(),
        sub_ended=subs[:, 2].copy(), sub_live=subs[:, 3] == 1, sub_trouble=subs[:, 4] == 1,
        sub_amount=sub_amount,
        survey_answers=answers, survey_comments=comments, testimonials_given=given,
        testimonials_published=published, touches=touches, replies=replies, last_touch=last,
        previous_p_alive=previous)
    money = ValueMoney(rates, member_currency, local_past)
    return facts, [str(x) or "(none)" for x in names.tolist()], money


@dataclass
class FitSummary:
    run_id: int
    members: int
    customers: int
    fits: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def fit_values(engine: Engine, now: datetime, settings: ValueSettings | None = None,
               ) -> FitSummary:
    """Fit the models and score every member as of ``now``; stored as a new run."""
    import time

    settings = settings or ValueSettings()
    t0 = time.perf_counter()
    facts, segments, money = load_value_facts_money(engine, now)
    t1 = time.perf_counter()
    values = value_members(facts, settings)
    t2 = time.perf_counter()
    with transaction(engine) as s:
        run = ValueRun(as_of=now, created_at=now, discount_monthly=settings.discount_monthly,
                       horizon_months=settings.horizon_months,
                       referral_decay=settings.referral_decay, members=len(facts.member_id))
        s.add(run)
        s.flush()
        fits = []
        for f in values.fits:
            segment = "pooled" if f.segment < 0 else segments[f.segment]
            errors = {k: (v if np.isfinite(v) else None)
                      for k, v in f.fit.standard_errors.items()}
            s.add(ValueFit(run_id=run.id, model=f.model, segment=segment,
                           params=json.dumps(f.fit.params), log_likelihood=f.fit.log_likelihood,
                           converged=f.fit.converged, message=f.fit.message, n=f.fit.n,
                           source=f.fit.source, standard_errors=json.dumps(errors)))
            fits.append({"model": f.model, "segment": segment, "n": f.fit.n,
                         "converged": f.fit.converged, "message": f.fit.message,
                         "source": f.fit.source, "params": dict(f.fit.params),
                         "standard_errors": errors})
        s.flush()
        _write_values(s.connection(), run.id, facts, values, segments, money)
        run_id = run.id
    t3 = time.perf_counter()
    return FitSummary(run_id, len(facts.member_id), int(facts.is_customer.sum()), fits,
                      {"load": t1 - t0, "engine": t2 - t1, "store": t3 - t2})


def _write_values(conn: Connection, run_id: int, facts: ValueFacts, v: MemberValues,
                  segments: list[str], money: ValueMoney) -> None:
    n = facts.member_id.shape[0]
    cur = money.member_currency
    local_future, local_referral, local_at_risk = (
        from_plan(np.asarray(a, dtype=np.int64), cur, money.rates)
        for a in (v.future_value, v.referral_value, v.value_at_risk))
    names = np.array(segments, dtype=object)
    columns: dict[str, Any] = {
        "run_id": np.full(n, run_id, dtype=np.int64), "member_id": facts.member_id,
        "owner_id": _owners_now(conn, facts.member_id),
        "model": np.array(MODELS, dtype=object)[v.model].tolist(),
        "source": np.array(SOURCES, dtype=object)[v.source].tolist(),
        "segment": names[facts.segment].tolist(),
        "p_alive": np.round(v.p_alive, 6).tolist(),
        "expected_orders": np.round(v.expected_orders, 4).tolist(),
        "past_value": v.past_value, "future_value": v.future_value,
        "referral_value": v.referral_value, "risk": np.round(v.risk, 4).tolist(),
        "value_at_risk": v.value_at_risk, "risk_flags": v.risk_flags.astype(np.int64),
        "rainmaker_amount": v.amounts[:, 3],
        "currency": np.array(money.rates.codes, dtype=object)[cur].tolist(),
        "local_lifetime": money.local_past + local_future,
        "local_referral": local_referral, "local_at_risk": local_at_risk,
    }
    for i, name in enumerate(NAMES):
        columns[name] = v.scores[:, i].tolist()
    write_rows(conn, "customer_values", columns)
    refresh_statistics(conn, "customer_values", n)


def _owners_now(conn: Connection, member_id: I64) -> list[int | None]:
    """Each member's owner as the members table has it now (not as of the run: the value
    rows' ``owner_id`` follows ``members.owner_id``), None for distributors. Read in the run's
    write transaction: on SQLite no move can come between; on PostgreSQL one committed in
    between leaves the moved customer under the old owner's sums until the next run, never in
    another distributor's lists (those check the member's owner too)."""
    rows = integer_matrix(conn, "SELECT id, COALESCE(owner_id, 0) FROM members ORDER BY id",
                          {}, 2)
    owner = rows[np.searchsorted(rows[:, 0], member_id), 1]
    return [int(o) if o else None for o in owner.tolist()]


def latest_run(session: Session) -> ValueRun | None:
    """The newest value run, or None before the first fit."""
    return session.scalars(select(ValueRun).order_by(ValueRun.id.desc()).limit(1)).first()


def _describe(row: CustomerValue, member: Member) -> dict[str, Any]:
    return {
        "member_id": row.member_id, "name": member.name, "kind": member.kind,
        "owner_id": member.owner_id, "model": row.model, "source": row.source,
        "segment": row.segment,
        "p_alive": row.p_alive, "expected_orders": row.expected_orders,
        "past_value": row.past_value, "future_value": row.future_value,
        "lifetime_value": row.past_value + row.future_value,
        "referral_value": row.referral_value, "risk": row.risk,
        "value_at_risk": row.value_at_risk, "risk_reasons": risk_words(row.risk_flags),
        "seven_values": {name: getattr(row, name) for name in NAMES},
        "amounts": {"consumption": row.future_value, "referral": row.referral_value,
                    "rainmaker": row.rainmaker_amount},
    }


def customer_value(engine: Engine, member_id: int) -> dict[str, Any]:
    """A member's values from the latest run."""
    with transaction(engine) as s:
        run = latest_run(s)
        if run is None:
            raise NotFound("no customer values yet: run `patronage value fit` first")
        row = s.get(CustomerValue, (run.id, member_id))
        member = s.get(Member, member_id)
        if row is None or member is None:
            raise NotFound(f"member {member_id} has no values in the latest run ({run.as_of})")
        return {"as_of": run.as_of.isoformat(), **_describe(row, member)}


def distributor_customers(engine: Engine, distributor_id: int, *, order_by: str = "value",
                          limit: int = 50, viewer: Principal | None = None
                          ) -> list[dict[str, Any]]:
    """A distributor's customers from the latest run, ranked by lifetime plus referral value
    (``order_by="value"``) or by value at risk (``"risk"``). With ``viewer``, only if they may
    see this distributor's customers (the company, or the distributor themself)."""
    key = {"value": CustomerValue.past_value + CustomerValue.future_value
           + CustomerValue.referral_value, "risk": CustomerValue.value_at_risk}.get(order_by)
    if key is None:
        raise ValueError(f"order_by: {order_by!r} is not value or risk")
    with transaction(engine) as s:
        _require_distributor(s, distributor_id, viewer)
        run = latest_run(s)
        if run is None:
            return []
        # Through the values' own owner column and its index (the top rows at once, however
        # many customers); the member's owner is checked too.
        rows = s.execute(select(CustomerValue, Member)
                         .join(Member, Member.id == CustomerValue.member_id)
                         .where(CustomerValue.run_id == run.id,
                                CustomerValue.owner_id == distributor_id,
                                Member.owner_id == distributor_id,
                                Member.kind != "distributor")
                         .order_by(key.desc(), CustomerValue.member_id).limit(limit)).all()
        return [_describe(row, member) for row, member in rows]


def _require_distributor(s: Session, distributor_id: int,
                         viewer: Principal | None = None) -> Member:
    if viewer is not None:
        return require_customers_of(s, viewer, distributor_id)
    member = s.get(Member, distributor_id)
    if member is None or member.kind != "distributor":
        raise NotFound(f"distributor {distributor_id} does not exist")
    return member


@dataclass
class DistributorOverview:
    """What a distributor's customer base is worth and how their volume is made up."""

    distributor_id: int
    customers: int
    active_customers: int  # ordered in the last 90 days
    target: int
    base_value: int  # future + referral value of their customers, minor units
    at_risk_value: int
    consumption_cv: int  # hundredths of a point, last 12 months, credited to them
    promotional_cv: int
    customer_cv: int  # of which bought by customers
    at_risk: list[dict[str, Any]] = field(default_factory=list)

    @property
    def consumption_share(self) -> float:
        total = self.consumption_cv + self.promotional_cv
        return self.consumption_cv / total if total else 0.0

    @property
    def customer_share(self) -> float:
        total = self.consumption_cv + self.promotional_cv
        return self.customer_cv / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "consumption_share": round(self.consumption_share, 4),
                "customer_share": round(self.customer_share, 4)}


#: "The last 12 months" of a distributor's volume: this period and the eleven before it.
MIX_PERIODS = 12

_LIVE_MIX_SQL = (
    "SELECT COALESCE(SUM(CASE WHEN l.volume_kind = 'consumption' THEN l.cv END), 0), "
    "COALESCE(SUM(CASE WHEN l.volume_kind = 'promotional' THEN l.cv END), 0), "
    "COALESCE(SUM(CASE WHEN l.buyer_class = 'customer' THEN l.cv END), 0) "
    "FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "WHERE o.credited_to_id = :d AND o.status = 'paid' AND o.placed_at >= :since "
    "AND o.placed_at < :t")


def _volume_mix(s: Session, distributor_id: int, now: datetime,
                company_zone: str) -> tuple[int, int, int]:
    """Consumption CV, promotional CV and CV bought by customers credited to the distributor
    from the start of the period eleven before ``now``'s to ``now``: committed periods from
    their rank records (the close adds them up once), the others from the order lines."""
    tz = zone(company_zone)
    current = Period.containing(now, tz)
    first = current
    for _ in range(MIX_PERIODS - 1):
        first = first.previous()
    committed = {period: run_id for period, run_id in s.execute(
        select(CommissionRun.period, CommissionRun.id).where(
            CommissionRun.period >= str(first), CommissionRun.period < str(current),
            CommissionRun.volume_mix.is_(True), CommissionRun.calendar == "month"))}
    totals = [0, 0, 0]
    if committed:
        row = s.execute(select(
            func.coalesce(func.sum(RankRecord.consumption_cv), 0),
            func.coalesce(func.sum(RankRecord.promotional_cv), 0),
            func.coalesce(func.sum(RankRecord.customer_cv), 0),
        ).where(RankRecord.run_id.in_(committed.values()),
                RankRecord.member_id == distributor_id)).one()
        totals = [int(v) for v in row]
    # The open period as last counted, and the orders after the count.
    counted = open_mix(s, distributor_id, now, tz)
    if counted is not None:
        totals = [t + int(v) for t, v in zip(totals, counted, strict=True)]
    # The rest, read from the orders: runs of periods not committed, merged where they touch.
    spans: list[list[datetime]] = []
    period = first
    while period <= current:
        if str(period) not in committed and (counted is None or period != current):
            start, end = period_bounds(period, tz)
            end = min(end, now)
            if spans and spans[-1][1] == start:
                spans[-1][1] = end
            elif start < end:
                spans.append([start, end])
        period = period.next()
    conn = s.connection()
    for start, end in spans:
        live = fetch_rows(conn, _LIVE_MIX_SQL, {"d": distributor_id,
                                                "since": bound_time(conn, start),
                                                "t": bound_time(conn, end)})[0]
        totals = [t + int(v) for t, v in zip(totals, live, strict=True)]
    return totals[0], totals[1], totals[2]


def distributor_overview(engine: Engine, distributor_id: int, now: datetime,
                         at_risk: int = 10, viewer: Principal | None = None, *,
                         company_zone: str = DEFAULT_COMPANY_ZONE) -> DistributorOverview:
    """Customers against the 1:50 target, the base's value, consumption vs promotional volume
    over the last 12 months (this period and the eleven before it, months in
    ``company_zone``), and the customers most at risk by value. With ``viewer``, only if they
    may see this distributor's customers."""
    require_aware(now, place="now")
    with transaction(engine) as s:
        _require_distributor(s, distributor_id, viewer)
        conn = s.connection()
        customers = s.scalar(select(func.count()).select_from(Member).where(
            Member.owner_id == distributor_id, Member.kind != "distributor",
            Member.status.in_(("active", "inactive")))) or 0
        # The customers in id order: their probes into the buyers' index then walk it in
        # order (a third less time than in the owner index's order for 21,000 customers).
        active = fetch_rows(conn, (
            "SELECT COUNT(*) FROM (SELECT id FROM members WHERE owner_id = :d "
            "AND kind <> 'distributor' ORDER BY id) m "
            "WHERE EXISTS (SELECT 1 FROM orders o WHERE o.buyer_id = m.id AND o.status = 'paid' "
            "AND o.placed_at >= :since AND o.placed_at < :t)"),
            {"d": distributor_id, "since": bound_time(conn, now - timedelta(days=90)),
             "t": bound_time(conn, now)})[0][0]
        volume = _volume_mix(s, distributor_id, now, company_zone)
        run = latest_run(s)
        base = risk_total = 0
        if run is not None:
            base, risk_total = s.execute(
                select(func.coalesce(func.sum(CustomerValue.future_value
                                              + CustomerValue.referral_value), 0),
                       func.coalesce(func.sum(CustomerValue.value_at_risk), 0))
                .where(CustomerValue.run_id == run.id,
                       CustomerValue.owner_id == distributor_id)).one()
    return DistributorOverview(
        distributor_id, int(customers), int(active), CUSTOMER_TARGET, int(base), int(risk_total),
        int(volume[0]), int(volume[1]), int(volume[2]),
        distributor_customers(engine, distributor_id, order_by="risk", limit=at_risk,
                              viewer=viewer)
        if at_risk > 0 else [])
