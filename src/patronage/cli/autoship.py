"""``patronage autoship``: the daily run and the self-service actions."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state
from patronage.errors import PatronageError

app = typer.Typer(help="Autoship: the daily run and self-service actions.", no_args_is_help=True)

Actor = Annotated[str, typer.Option(help="Who acts.")]


def _day(text: str, place: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise PatronageError(f"{place}: {text!r} is not a date written YYYY-MM-DD") from exc


@app.command()
def run(ctx: typer.Context, day: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
        decline_rate: Annotated[float, typer.Option(help="Simulated gateway decline rate.")]
        = 0.05, seed: Annotated[int, typer.Option(help="Simulated gateway seed.")] = 0,
        now: NowOpt = None, as_json: JsonOpt = False) -> None:
    """Charge and order every subscription due on the date (safe to run again; refused while
    another run of the date is in progress). Cards are charged through the gateway the
    settings select (PATRONAGE_PAYMENT_GATEWAY: simulated, the default, or stripe)."""
    from patronage.autoship.run import run_day
    from patronage.payments.settings import make_gateway

    engine = state(ctx).engine()
    when = _day(day, "--date")
    moment = parse_now(now)
    gateway = make_gateway(engine, state(ctx).settings().payment_settings(),
                           decline_rate=decline_rate, seed=seed)
    summary = run_day(engine, when, gateway, now=moment,
                      company_zone=state(ctx).company_zone())
    if as_json:
        emit_json(summary.__dict__)
    else:
        if summary.already_ran:
            console.print(f"{when} already ran; this run charged only what became due since")
        console.print(f"{when}: {summary.due} due, {summary.approved} ordered, "
                      f"{summary.declined} declined ({summary.recovered} recovered on retry), "
                      f"{summary.suspended} suspended, {summary.resumed} resumed from pause")


@app.command("subscribe")
def subscribe_(ctx: typer.Context, member: Annotated[int, typer.Option(help="Member id.")],
               sku: Annotated[list[str], typer.Option(help="SKU (repeat for several).")],
               day: Annotated[int, typer.Option(help="Day of month.")] = 1,
               start: Annotated[str | None, typer.Option(help="First run on or after.")] = None,
               now: NowOpt = None, actor: Actor = "cli") -> None:
    """Start an autoship for a member."""
    from patronage.autoship.core.schedule import Frequency
    from patronage.autoship.subscriptions import Item, company_today, subscribe
    from patronage.db.engine import transaction

    moment = parse_now(now)
    first = _day(start, "--start") if start else company_today(moment,
                                                                 state(ctx).company_zone())
    with transaction(state(ctx).engine()) as s:
        sub = subscribe(s, member, [Item(x) for x in sku], Frequency("monthly", day),
                        start=first, now=moment, actor=actor,
                        company_zone=state(ctx).company_zone())
        console.print(f"subscription {sub.id}: next run {sub.next_run}")


@app.command()
def skip(ctx: typer.Context, subscription: int, now: NowOpt = None, actor: Actor = "cli") -> None:
    """Skip the next run."""
    from patronage.autoship.subscriptions import skip_next
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        console.print(f"next run {skip_next(s, subscription, now=moment, actor=actor)}")


@app.command("undo-skip")
def undo_skip_(ctx: typer.Context, subscription: int, now: NowOpt = None,
               actor: Actor = "cli") -> None:
    """Bring back the run the last skip moved away from."""
    from patronage.autoship.subscriptions import undo_skip
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        next_run = undo_skip(s, subscription, now=moment, actor=actor,
                             company_zone=state(ctx).company_zone())
        console.print(f"next run {next_run}")


@app.command()
def pause(ctx: typer.Context, subscription: int,
          until: Annotated[str, typer.Option(help="YYYY-MM-DD")], now: NowOpt = None,
          actor: Actor = "cli") -> None:
    """Pause until a date."""
    from patronage.autoship.subscriptions import pause_until
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        pause_until(s, subscription, _day(until, "--until"), now=moment, actor=actor,
                    company_zone=state(ctx).company_zone())
    console.print(f"paused until {until}")


@app.command("resume")
def resume_(ctx: typer.Context, subscription: int, now: NowOpt = None,
            actor: Actor = "cli") -> None:
    """End a pause now."""
    from patronage.autoship.subscriptions import resume
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        next_run = resume(s, subscription, now=moment, actor=actor,
                          company_zone=state(ctx).company_zone())
        console.print(f"next run {next_run}")


@app.command("restart")
def restart_(ctx: typer.Context, subscription: int, now: NowOpt = None,
             actor: Actor = "cli") -> None:
    """Start a cancelled autoship again."""
    from patronage.autoship.subscriptions import restart
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        next_run = restart(s, subscription, now=moment, actor=actor,
                           company_zone=state(ctx).company_zone())
        console.print(f"next run {next_run}")


@app.command("swap")
def swap_(ctx: typer.Context, subscription: int,
          sku: Annotated[str, typer.Option(help="The product to replace.")],
          to: Annotated[str, typer.Option("--to", help="The product that replaces it.")],
          quantity: Annotated[int | None, typer.Option(help="Its quantity (default: kept).")]
          = None, now: NowOpt = None, actor: Actor = "cli") -> None:
    """Replace one product by another; the other products stay."""
    from patronage.autoship.subscriptions import swap_item
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        swap_item(s, subscription, sku, to, quantity, now=moment, actor=actor)
    console.print(f"{sku} replaced by {to}")


@app.command("add")
def add_(ctx: typer.Context, subscription: int,
         sku: Annotated[str, typer.Option(help="The product to add.")],
         quantity: Annotated[int, typer.Option(help="How many.")] = 1, now: NowOpt = None,
         actor: Actor = "cli") -> None:
    """Add a product."""
    from patronage.autoship.subscriptions import Item, add_item
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        add_item(s, subscription, Item(sku, quantity), now=moment, actor=actor)
    console.print(f"{quantity}×{sku} added")


@app.command("remove")
def remove_(ctx: typer.Context, subscription: int,
            sku: Annotated[str, typer.Option(help="The product to remove.")],
            now: NowOpt = None, actor: Actor = "cli") -> None:
    """Remove a product (not the last one: pause or cancel instead)."""
    from patronage.autoship.subscriptions import remove_item
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        remove_item(s, subscription, sku, now=moment, actor=actor)
    console.print(f"{sku} removed")


@app.command("change-date")
def change_date_(ctx: typer.Context, subscription: int,
                 day: Annotated[int, typer.Option(help="New day of month.")], now: NowOpt = None,
                 actor: Actor = "cli") -> None:
    """Run on another day of the month."""
    from patronage.autoship.subscriptions import change_date
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        next_run = change_date(s, subscription, day, now=moment, actor=actor,
                               company_zone=state(ctx).company_zone())
        console.print(f"next run {next_run}")


@app.command("cancel")
def cancel_(ctx: typer.Context, subscription: int,
            reason: Annotated[str, typer.Option(help="Why.")] = "", now: NowOpt = None,
            actor: Actor = "cli") -> None:
    """Cancel in one step."""
    from patronage.autoship.subscriptions import cancel, save_offers
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        offers = save_offers(s, subscription)
        cancel(s, subscription, reason, now=moment, actor=actor)
    console.print(f"subscription {subscription} cancelled (instead, one could have: "
                  f"{'; '.join(offers)})")


@app.command()
def show(ctx: typer.Context, member: Annotated[int, typer.Option(help="Member id.")],
         as_json: JsonOpt = False) -> None:
    """A member's subscriptions."""
    from sqlalchemy import select

    from patronage.db.autoship import Subscription, SubscriptionItem
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as s:
        subs = s.scalars(select(Subscription).where(Subscription.member_id == member)).all()
        rows = [{"id": sub.id, "status": sub.status, "next_run": sub.next_run,
                 "day_of_month": sub.day_of_month, "failures": sub.failures,
                 "paused_until": sub.paused_until, "skipped_run": sub.skipped_run,
                 "items": [f"{i.quantity}×{i.sku}" for i in s.scalars(
                     select(SubscriptionItem).where(SubscriptionItem.subscription_id == sub.id))]}
                for sub in subs]
    if as_json:
        emit_json(rows)
    else:
        for r in rows:
            items = r["items"]
            assert isinstance(items, list)
            paused = f" until {r['paused_until']}" if r["paused_until"] else ""
            console.print(f"subscription {r['id']}: {r['status']}{paused}, next run "
                          f"{r['next_run']}, items {', '.join(items)}")


@app.command()
def report(ctx: typer.Context,
           what: Annotated[str, typer.Argument(help="retention, churn, distributors or forecast")],
           now: NowOpt = None,
           months: Annotated[int, typer.Option(help="Forecast horizon in months.")] = 6,
           as_json: JsonOpt = False) -> None:
    """Retention by start cohort, churn by kind, per distributor, or a forecast."""
    from datetime import timedelta

    from patronage.autoship import reports

    engine = state(ctx).engine()
    moment = parse_now(now)
    data: object
    if what == "retention":
        rows = reports.retention_by_cohort(engine, moment)
        data = [r.__dict__ for r in rows]
        if not as_json:
            for r in rows:
                shares = " ".join(f"{x:.0%}" for x in r.retained[:12])
                console.print(f"{r.cohort}: {r.started:5d} started; retained by month: {shares}")
    elif what == "churn":
        data = reports.churn_by_kind(engine, moment)
        if not as_json:
            console.print(data)
    elif what == "distributors":
        dist = reports.by_distributor(engine, moment - timedelta(days=30), moment)
        data = [d.__dict__ for d in dist]
        if not as_json:
            for d in sorted(dist, key=lambda x: -x.cv)[:25]:
                console.print(f"distributor {d.distributor_id}: {d.active} active, "
                              f"{d.voluntary} cancelled, {d.involuntary} payment-failed, "
                              f"{d.orders} orders, CV {d.cv / 100:,.2f} in the last 30 days")
    elif what == "forecast":
        rows_f = reports.forecast(engine, moment, months)
        data = [r.__dict__ for r in rows_f]
        if not as_json:
            for f in rows_f:
                console.print(f"month +{f.month}: {f.subscriptions:,.0f} subscriptions, "
                              f"CV {f.cv / 100:,.2f}")
    else:
        raise PatronageError(f"report: {what!r} is not retention, churn, distributors or forecast")
    if as_json:
        emit_json(data)
