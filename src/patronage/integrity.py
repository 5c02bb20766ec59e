"""Integrity you can check: ``patronage check``.

Some references are not foreign keys, for speed (orders' buyer and credited distributor, charge
attempts and autoship events, commission results, customer values: see
docs/decisions/order-member-keys.md). Members are never deleted (a database trigger refuses
it), and this module finds whatever is wrong anyway, each rule a small function of set-based
SQL (one scan per table, never a query per row):

- **references**: every id that is not a foreign key names an existing row (:data:`REFERENCES`);
- **commission runs**: every committed period's snapshot, run again with its own plan, gives
  exactly the payout lines stored for it (:func:`patronage.compensation.runs.rerun_committed`);
- **earnings ledger**: every committed run's lines are on the earnings ledger, per currency, as
  they are stored, and each posted run's record (``ledger_postings``, which says a run is posted)
  counts the movements on the ledger (:func:`unposted_runs`);
- **subscriptions**: each subscription's schedule and state fields agree with its status, and
  nothing the daily run should already have done is left undone (:data:`SUBSCRIPTION_RULES`);
- **open volumes**: the open period's volumes as the ``open-volumes`` job stored them are those
  of the orders and refunds its count holds, counted again (:func:`stale_volumes`);
- **care**: no email or card touch is still planned past its window, the care rules'
  ``lookback_days`` after it fell due (:func:`late_touches`).

Each problem is reported with its count and a few examples; an empty report means none.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from patronage.care.core.rules import Rules, load_rules
from patronage.clock import DEFAULT_COMPANY_ZONE, parse_any_period, require_aware, zone
from patronage.compensation.core.results import SOURCE_MEMBER, SOURCE_ORDER
from patronage.db.loaders import bound_time, day_sql, epoch_sql
from patronage.errors import PatronageError
from patronage.markets.core.currencies import by_numeric, numeric

#: How many examples each problem lists.
EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    """One kind of problem: what is wrong, how many rows, and a few of them."""

    check: str
    problem: str
    count: int
    examples: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "problem": self.problem, "count": self.count,
                "examples": self.examples}


@dataclass
class IntegrityReport:
    """Every problem found as of ``now``, and how long each group of checks took."""

    now: datetime
    findings: list[Finding] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def problems(self) -> int:
        return sum(f.count for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "now": self.now.isoformat(), "problems": self.problems,
                "findings": [f.as_dict() for f in self.findings],
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
                "total_seconds": round(sum(self.seconds.values()), 3)}


@dataclass(frozen=True)
class RowRule:
    """Rows of ``table`` (aliased ``t``, joined as ``join`` says, if anything) for which
    ``where`` holds are a problem; an example names the row by ``key`` and shows ``shown``
    (SQL expressions, labelled)."""

    check: str
    table: str
    problem: str
    where: str
    key: str = "id"
    shown: tuple[tuple[str, str], ...] = ()
    join: str = ""


def _rows_where(conn: Connection, table: str, rules: list[RowRule], params: dict[str, Any],
                examples: int) -> list[Finding]:
    """Every rule of one table counted in one scan (its joins hashed or merged, not looked up
    row by row); examples read only for the rules broken."""
    if not rules:
        return []
    sums = ", ".join(f"SUM(CASE WHEN {r.where} THEN 1 ELSE 0 END)" for r in rules)
    joins = " ".join(r.join for r in rules if r.join)
    counts = conn.execute(text(f"SELECT {sums} FROM {table} t {joins}"), params).one()
    found = []
    for rule, count in zip(rules, counts, strict=True):
        if not count:
            continue
        shown = [(rule.key, rule.key), *rule.shown]
        rows = conn.execute(text(
            f"SELECT {', '.join(f't.{k}' if k == rule.key else k for k, _ in shown)} "
            f"FROM {table} t {rule.join} WHERE {rule.where} "
            f"ORDER BY t.{rule.key} LIMIT {int(examples)}"),
            params).all()
        found.append(Finding(rule.check, rule.problem, int(count), [
            f"{table} {row[0]}" + "".join(f", {label} {_text(value)}" for (_, label), value
                                          in zip(shown[1:], row[1:], strict=True))
            for row in rows]))
    return found


_SQLITE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?")


def _text(value: Any) -> str:
    """A value of an example as text, times in ISO 8601 UTC on both databases (SQLite stores
    them as naive UTC text)."""
    if isinstance(value, str) and _SQLITE_TIME.fullmatch(value):
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def _by_table(conn: Connection, rules: tuple[RowRule, ...], params: dict[str, Any],
              examples: int) -> list[Finding]:
    tables: dict[str, list[RowRule]] = {}
    for rule in rules:
        tables.setdefault(rule.table, []).append(rule)
    return [f for table, group in tables.items()
            for f in _rows_where(conn, table, group, params, examples)]


# --- references -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """``table.column`` names a row of ``target`` by ``target_column`` without a database key
    (``when``: only rows where this holds, e.g. a source of the order kind)."""

    table: str
    column: str
    target: str
    target_column: str = "id"
    when: str | None = None
    key: str = "id"

    def rule(self, alias: str) -> RowRule:
        """The rule, its target joined as ``alias`` (an outer join: no match is the problem;
        the target column is unique, so the join adds no rows)."""
        on = f"{alias}.{self.target_column} = t.{self.column}"
        condition = f"t.{self.column} IS NOT NULL"
        if self.when:
            on += f" AND t.{self.when}"
            condition += f" AND t.{self.when}"
        kind = f" ({self.when})" if self.when else ""
        return RowRule(
            check=f"reference {self.table}.{self.column}{kind}",
            table=self.table,
            problem=f"{self.table}.{self.column}{kind} names no row of {self.target}",
            where=f"{condition} AND {alias}.{self.target_column} IS NULL",
            key=self.key, shown=((f"t.{self.column}", self.column),),
            join=f"LEFT JOIN {self.target} {alias} ON {on}")


_ORDER, _MEMBER = f"source_kind = {SOURCE_ORDER}", f"source_kind = {SOURCE_MEMBER}"

#: Every reference the database does not check (found in db/tables.py and the migrations that
#: dropped keys: 0003_autoship_bulk, 0003_compensation_results, 0006_autoship_order_member_keys,
#: and tables made without them). tests/integration/test_integrity.py fails when an id column
#: without a key is missing here.
REFERENCES: tuple[Reference, ...] = (
    Reference("orders", "buyer_id", "members"),
    Reference("orders", "credited_to_id", "members"),
    Reference("orders", "subscription_id", "subscriptions"),
    Reference("shop_checkouts", "subscription_id", "subscriptions"),
    Reference("subscription_items", "sku", "products", "sku"),
    Reference("autoship_attempts", "subscription_id", "subscriptions"),
    Reference("autoship_attempts", "order_id", "orders"),
    Reference("autoship_events", "subscription_id", "subscriptions"),
    Reference("autoship_events", "member_id", "members"),
    Reference("care_gifts", "touch_id", "care_touches"),
    Reference("binary_carry", "member_id", "members", key="run_id"),
    Reference("commission_snapshots", "run_id", "commission_runs", key="run_id"),
    Reference("payout_lines", "run_id", "commission_runs"),
    Reference("payout_lines", "earner_id", "members"),
    Reference("payout_lines", "source_id", "orders", when=_ORDER),
    Reference("payout_lines", "source_id", "members", when=_MEMBER),
    Reference("payout_lines", "clawback_of", "payout_lines"),
    Reference("rank_records", "run_id", "commission_runs"),
    Reference("rank_records", "member_id", "members"),
    Reference("payout_skips", "run_id", "commission_runs"),
    Reference("payout_skips", "member_id", "members"),
    Reference("payout_skips", "passed_to_id", "members"),
    Reference("payout_skips", "source_id", "orders", when=_ORDER),
    Reference("payout_skips", "source_id", "members", when=_MEMBER),
    Reference("customer_values", "run_id", "value_runs", key="member_id"),
    Reference("customer_values", "member_id", "members", key="member_id"),
    Reference("customer_values", "owner_id", "members", key="member_id"),
    Reference("members", "market_id", "markets"),
    Reference("commission_run_rates", "run_id", "commission_runs"),
    Reference("ledger_entries", "member_id", "members"),
    Reference("ledger_entries", "source_id", "commission_runs",
              when="kind IN ('earned', 'clawed_back')"),
    Reference("ledger_entries", "source_id", "payout_adjustments", when="kind = 'adjusted'"),
    Reference("ledger_entries", "source_id", "payout_payments",
              when="kind IN ('paid', 'returned')"),
    Reference("payout_adjustments", "member_id", "members"),
    Reference("payout_holds", "member_id", "members"),
    Reference("payout_payments", "batch_id", "payout_batches"),
    Reference("payout_payments", "member_id", "members"),
    Reference("credit_entries", "member_id", "members"),
    Reference("credit_entries", "run_id", "commission_runs"),
    Reference("credit_entries", "payout_line_id", "payout_lines"),
    Reference("credit_entries", "order_id", "orders"),
    Reference("credit_entries", "subscription_id", "subscriptions"),
    Reference("payment_customers", "member_id", "members", key="member_id"),
    Reference("payment_methods", "member_id", "members"),
    Reference("payment_charges", "member_id", "members"),
    Reference("open_volume_counts", "run_id", "commission_runs", key="period"),
)


def _moved_members(conn: Connection) -> tuple[RowRule, ...]:
    """A sponsor or owner move names the members before and after it as text
    (``genealogy_changes.old_value``, ``new_value``): each must be a member's id (a text that
    is not a number is one that names nobody)."""
    moves = "t.field IN ('sponsor', 'owner')"
    rules = []
    for i, column in enumerate(("old_value", "new_value")):
        value = f"t.{column}"
        number = (f"{value} ~ '^[0-9]+$'" if conn.dialect.name == "postgresql" else
                  f"{value} <> '' AND {value} NOT GLOB '*[^0-9]*'")
        member = (f"CASE WHEN {moves} AND {value} IS NOT NULL THEN CASE WHEN {number} "
                  f"THEN CAST({value} AS BIGINT) ELSE -1 END END")
        alias = f"g{i}"
        rules.append(RowRule(
            check=f"reference genealogy_changes.{column} (sponsor or owner moves)",
            table="genealogy_changes",
            problem=f"genealogy_changes.{column} of a sponsor or owner move names no member",
            where=f"{moves} AND {value} IS NOT NULL AND {alias}.id IS NULL",
            shown=(("t.field", "field"), (value, column)),
            join=f"LEFT JOIN members {alias} ON {alias}.id = {member}"))
    return tuple(rules)


def dangling_references(conn: Connection, examples: int = EXAMPLES) -> list[Finding]:
    """Ids without a database key that name no row (:data:`REFERENCES`, and the members a
    sponsor or owner move names as text)."""
    rules = tuple(r.rule(f"r{i}") for i, r in enumerate(REFERENCES))
    return _by_table(conn, rules + _moved_members(conn), {}, examples)


# --- commission runs --------------------------------------------------------------------------

def unreplayable_runs(engine: Engine, examples: int = EXAMPLES) -> list[Finding]:
    """Committed periods whose snapshot, run again with the run's own plan, does not give
    exactly the payout lines stored for it (clawbacks aside), or cannot be run again."""
    from patronage.compensation.runs import rerun_committed

    with engine.connect() as conn:
        periods = [p for (p,) in conn.execute(text(
            "SELECT period FROM commission_runs ORDER BY calendar, period"))]
    bad = []
    for period in periods:
        try:
            same, _ = rerun_committed(engine, parse_any_period(period))
        except PatronageError as exc:
            bad.append(f"period {period}: {exc}")
            continue
        if not same:
            bad.append(f"period {period}: the replay differs from the stored payout lines")
    if not bad:
        return []
    return [Finding("commission runs replay", "committed periods that do not replay to their "
                    "stored payout lines", len(bad), bad[:examples])]


def unposted_runs(conn: Connection, examples: int = EXAMPLES) -> list[Finding]:
    """Committed runs whose lines are not on the earnings ledger as they are stored: per run
    and currency, the earned and clawed-back movements must sum to the run's lines."""
    plan = conn.execute(text("SELECT currency FROM markets WHERE is_default")).scalar()
    number = numeric(plan) if plan else 0
    lines = {(int(r), int(c)): int(a) for r, c, a in conn.execute(text(
        "SELECT run_id, COALESCE(currency, :p), SUM(COALESCE(paid_amount, amount)) "
        "FROM payout_lines GROUP BY run_id, COALESCE(currency, :p)"), {"p": number})}
    posted: dict[tuple[int, int], int] = {}
    moved: dict[int, int] = {}
    for r, c, a, n in conn.execute(text(
            "SELECT source_id, currency, SUM(amount), COUNT(*) FROM ledger_entries "
            "WHERE kind IN ('earned', 'clawed_back') GROUP BY source_id, currency")):
        posted[(int(r), int(c))] = int(a)
        moved[int(r)] = moved.get(int(r), 0) + int(n)
    periods: dict[int, str] = {int(r): str(p) for r, p in conn.execute(text(
        "SELECT id, period FROM commission_runs"))}
    bad = [f"run {run} ({periods.get(run, '?')}), {by_numeric(currency)}: lines "
           f"{lines.get((run, currency), 0)}, on the ledger {posted.get((run, currency), 0)}"
           for run, currency in sorted(set(lines) | set(posted))
           if lines.get((run, currency), 0) != posted.get((run, currency), 0)]
    # Whether a run is posted is read from its posting record: it must match the movements.
    recorded = {int(r): int(n) for r, n in conn.execute(text(
        "SELECT run_id, movements FROM ledger_postings"))}
    unrecorded = [f"run {run} ({periods.get(run, '?')}): {moved.get(run, 0)} movements on the "
                  f"ledger, {recorded.get(run, 'no')} recorded as posted"
                  for run in sorted(set(moved) | set(recorded))
                  if moved.get(run, 0) != recorded.get(run, -1)]
    found = []
    if bad:
        found.append(Finding("earnings ledger", "committed runs whose lines are not on the "
                             "earnings ledger as stored (patronage payouts post posts a run "
                             "not yet posted)", len(bad), bad[:examples]))
    if unrecorded:
        found.append(Finding("ledger postings", "runs whose movements on the ledger differ "
                             "from the posting recorded for them", len(unrecorded),
                             unrecorded[:examples]))
    return found


# --- subscriptions ----------------------------------------------------------------------------

#: The subscriber, joined once for the scan (a key: every subscription has one).
_SUBSCRIBER = "LEFT JOIN members sm ON sm.id = t.member_id"
_MEMBER_CAN_ORDER = "sm.status NOT IN ('terminated', 'erased')"
_SHOWN_SCHEDULE = (("t.status", "status"), ("t.next_run", "next run"),
                   ("t.retry_on", "retry on"), ("t.paused_until", "paused until"))


def subscription_rules(conn: Connection) -> tuple[RowRule, ...]:
    """What a consistent subscription is (``:today`` is the company's date of ``now``; the
    daily run of every day before it has run; ``:created_day_offset`` the company's offset from
    UTC in seconds). See docs/integrity.md."""
    next_day, retry_day = day_sql(conn, "t.next_run"), day_sql(conn, "t.retry_on")
    paused_day, today = day_sql(conn, "t.paused_until"), ":today"
    created_day = f"(({epoch_sql(conn, 't.created_at')} + :created_day_offset) / 86400)"

    def rule(name: str, problem: str, where: str, join: str = "") -> RowRule:
        return RowRule(f"subscriptions {name}", "subscriptions", problem, where,
                       shown=_SHOWN_SCHEDULE, join=join)

    return (
        rule("before creation", "next run before the day the subscription was created",
             f"t.status IN ('active', 'paused') AND {next_day} < {created_day}"),
        rule("overdue", "active, member can order, and due (next run or retry) before today: "
             "the daily run of that day would have charged it and moved it on",
             f"t.status = 'active' AND COALESCE({retry_day}, {next_day}) < {today} "
             f"AND {_MEMBER_CAN_ORDER}", join=_SUBSCRIBER),
        rule("pause over", "paused with no end date, or a pause that ended before today "
             "(the daily run resumes a pause on its last day)",
             f"t.status = 'paused' AND (t.paused_until IS NULL OR {paused_day} < {today})"),
        rule("active state", "active but cancelled, churned or paused fields set",
             "t.status = 'active' AND (t.cancelled_at IS NOT NULL OR t.churn IS NOT NULL "
             "OR t.paused_until IS NOT NULL)"),
        rule("retry state", "active, and a retry date without failures or failures without "
             "a retry date after the cycle's date",
             f"t.status = 'active' AND ((t.retry_on IS NULL AND t.failures <> 0) OR "
             f"(t.retry_on IS NOT NULL AND (t.failures = 0 OR {retry_day} <= {next_day})))"),
        rule("paused state", "paused but cancelled or churned",
             "t.status = 'paused' AND (t.cancelled_at IS NOT NULL OR t.churn IS NOT NULL)"),
        rule("suspended state", "suspended without involuntary churn, or still retrying",
             "t.status = 'suspended' AND (t.churn IS NULL OR t.churn <> 'involuntary' "
             "OR t.retry_on IS NOT NULL)"),
        rule("cancelled state", "cancelled without a cancel time or churn, or still retrying",
             "t.status = 'cancelled' AND (t.cancelled_at IS NULL OR t.churn IS NULL "
             "OR t.retry_on IS NOT NULL)"),
    )


def inconsistent_subscriptions(conn: Connection, now: datetime, examples: int = EXAMPLES, *,
                               company_zone: str = DEFAULT_COMPANY_ZONE) -> list[Finding]:
    """Subscriptions whose schedule or state is not consistent (:func:`subscription_rules`),
    days counted in ``company_zone``."""
    tz = zone(company_zone)
    local = now.astimezone(tz)
    offset = local.utcoffset() or timedelta(0)
    today = (local.date() - datetime(1970, 1, 1).date()).days
    return _by_table(conn, subscription_rules(conn), {
        "today": today, "created_day_offset": int(offset.total_seconds())}, examples)


# --- care -------------------------------------------------------------------------------------

#: Channels whose touches are delivered at a time and so have a window: a touch is sent
#: within the care rules' ``lookback_days`` after it fell due, or dropped as late. Tasks stay
#: on the distributor's list at most 30 days (``care.sweep.TASK_WINDOW``), then expire.
WINDOWED_CHANNELS = ("email", "card", "sms")
TASK_WINDOW_DAYS = 30


def late_touches(conn: Connection, now: datetime, rules: Rules,
                 examples: int = EXAMPLES) -> list[Finding]:
    """Touches still planned although their window closed (a delivery run closes them)."""
    channels = ", ".join(f"'{c}'" for c in WINDOWED_CHANNELS)
    cutoff = now - timedelta(days=rules.settings.lookback_days)
    rule = RowRule(
        "care touches past their window", "care_touches",
        f"{', '.join(WINDOWED_CHANNELS)} touches still planned more than "
        f"{rules.settings.lookback_days} days (the care rules' lookback) after they fell due, "
        f"or tasks more than {TASK_WINDOW_DAYS} days",
        f"t.status = 'planned' AND ((t.channel IN ({channels}) AND t.due_at < :cutoff "
        "AND t.card_batch_id IS NULL AND t.attempts = 0) "
        "OR (t.channel = 'task' AND t.due_at < :task_cutoff))",
        shown=(("t.channel", "channel"), ("t.due_at", "due")))
    return _rows_where(conn, "care_touches", [rule], {
        "cutoff": bound_time(conn, cutoff),
        "task_cutoff": bound_time(conn, now - timedelta(days=TASK_WINDOW_DAYS))}, examples)


# --- open volumes -----------------------------------------------------------------------------

def stale_volumes(conn: Connection, examples: int = EXAMPLES) -> list[Finding]:
    """Distributors whose stored open-period volumes differ from the orders and refunds the
    count holds (pages add what came after the count to them)."""
    from patronage.compensation.open_volumes import stale_open_volumes

    count, bad = stale_open_volumes(conn, examples)
    if not count:
        return []
    return [Finding("open volumes", "stored open-period volumes that differ from the orders "
                    "and refunds of their count (the open-volumes job counts them again)",
                    count, bad)]


# --- all of it --------------------------------------------------------------------------------

def check_integrity(engine: Engine, now: datetime, *, rules: Rules | None = None,
                    examples: int = EXAMPLES,
                    company_zone: str = DEFAULT_COMPANY_ZONE) -> IntegrityReport:
    """Run every check as of ``now`` (days in ``company_zone``); the report lists every problem
    found (none: ``ok``)."""
    require_aware(now, place="now")
    care_rules = rules or load_rules()
    report = IntegrityReport(now)
    steps: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("references", lambda: _on(engine, lambda c: dangling_references(c, examples))),
        ("commission runs", lambda: unreplayable_runs(engine, examples)),
        ("earnings ledger", lambda: _on(engine, lambda c: unposted_runs(c, examples))),
        ("open volumes", lambda: _on(engine, lambda c: stale_volumes(c, examples))),
        ("subscriptions",
         lambda: _on(engine, lambda c: inconsistent_subscriptions(
             c, now, examples, company_zone=company_zone))),
        ("care touches", lambda: _on(engine, lambda c: late_touches(c, now, care_rules,
                                                                     examples))),
    ]
    for name, step in steps:
        started = time.perf_counter()
        report.findings.extend(step())
        report.seconds[name] = time.perf_counter() - started
    return report


def _on(engine: Engine, work: Callable[[Connection], list[Finding]]) -> list[Finding]:
    with engine.connect() as conn:
        return work(conn)
