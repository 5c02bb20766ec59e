"""The demo company: the synthetic company plus the steps that bring it to life.

After the members, tree, customers and orders are written, the autoship customers' history is
produced by the real daily autoship run, day by day; then the demo runs the company's main job:
every month of its history but the last is closed (commissions committed with the example plan,
stored as the company's plan from the first month on), and the last, still open month is
previewed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, update

from patronage.autoship.history import simulate_history
from patronage.clock import DEFAULT_COMPANY_ZONE, Period, zone
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.plan_versions import set_plan
from patronage.compensation.runs import commit_period, preview_period
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.demo.company import CompanySummary, build_company
from patronage.demo.field import leave_cards
from patronage.money import format_amount
from patronage.value.service import fit_values


def build_demo(engine: Engine, *, seed: int, members: int, months: int, now: datetime,
               company_zone: str = DEFAULT_COMPANY_ZONE) -> CompanySummary:
    """Members, tree, customers, orders, refunds and consents over ``months`` up to ``now``;
    then every closed month's commissions committed and the open month previewed; then the
    care planner's daily ticks and deliveries over the last month (emails, cards and owner
    tasks) and the customer values (lifetime, referral, the seven values, value at risk)."""
    summary = build_company(engine, seed=seed, members=members, months=months, now=now,
                            history=True, personal=True)
    start = (now - timedelta(days=round(30.44 * months))).date()
    autoship = simulate_history(engine, summary.autoship_candidates, start=start,
                                end=now.date(), seed=seed, company_zone=company_zone)
    summary.extra.update({f"autoship {k}": v for k, v in autoship.items()})
    tz = zone(company_zone)
    current = Period.containing(now, tz)
    period = current
    for _ in range(months + 1):
        period = period.previous()
    # The company's plan: the example plan, stored as in force from the first month on.
    set_plan(engine, default_plan_path().read_text(encoding="utf-8"), period,
             source=str(default_plan_path()), actor="demo", now=now)
    committed, paid = 0, 0
    while period < current:
        run = preview_period(engine, period, company_zone=company_zone)
        if run.facts.lines.size or committed:
            commit_period(engine, period, None, now=now, actor="demo", company_zone=company_zone)
            committed += 1
            paid += run.total_paid
        period = period.next()
    open_run = preview_period(engine, current, company_zone=company_zone)
    summary.extra["commission periods committed"] = committed
    summary.extra["commissions paid in them"] = format_amount(paid)
    summary.extra[f"open period {current}: payout lines (preview)"] = open_run.result.payouts.size
    # Customer values as the care window opens (value-at-risk touches need them), then the
    # daily care ticks, then the values as of now (touches count in the emotional value).
    fit_values(engine, now - timedelta(days=CARE_DAYS))
    care = care_days(engine, now, days=CARE_DAYS, company_zone=company_zone)
    summary.extra[f"care touches planned (daily ticks, last {CARE_DAYS} days)"] = care.planned
    summary.extra["care emails sent (simulated outbox)"] = care.emails
    summary.extra["care cards sent (simulated outbox)"] = care.cards
    fitted = fit_values(engine, now)
    summary.extra["customers valued"] = fitted.customers
    summary.extra["cards left for the demo distributor to print"] = leave_cards(engine, now)
    return summary


CARE_DAYS = 30


def care_ticks(engine: Engine, now: datetime, *, days: int,
               company_zone: str = DEFAULT_COMPANY_ZONE) -> int:
    """The care planner's daily tick for each of the last ``days`` days, at that day's ``now``;
    returns the touches planned."""
    from patronage.care.tick import tick

    return sum(tick(engine, now - timedelta(days=back), company_zone=company_zone).planned
               for back in range(days, -1, -1))


@dataclass
class CareDays:
    planned: int = 0
    emails: int = 0
    cards: int = 0


#: The channels the demo's simulated outbox delivers (tasks wait for their distributor).
OUTBOX_CHANNELS = ("email", "card")


def care_days(engine: Engine, now: datetime, *, days: int,
              company_zone: str = DEFAULT_COMPANY_ZONE) -> CareDays:
    """Each of the last ``days`` days as the company lives it: the care tick at that day's
    ``now``, then the day's delivery through the demo's simulated outbox (the demo has no mail
    server and no print shop: the emails and cards due are recorded as sent at that moment, as
    the simulated payment gateway charges nobody). So no touch is left planned past its
    window (``patronage check``)."""
    from patronage.care.tick import tick

    done = CareDays()
    for back in range(days, -1, -1):
        moment = now - timedelta(days=back)
        done.planned += tick(engine, moment, company_zone=company_zone).planned
        sent = simulated_outbox(engine, moment)
        done.emails += sent["email"]
        done.cards += sent["card"]
    return done


def simulated_outbox(engine: Engine, now: datetime) -> dict[str, int]:
    """The demo's outbox: every email and card touch due by ``now`` and still planned is
    recorded as sent at ``now``; returns how many per channel."""
    sent = {}
    with transaction(engine) as s:
        for channel in OUTBOX_CHANNELS:
            result = s.execute(
                update(Touch).where(Touch.status == "planned", Touch.channel == channel,
                                    Touch.due_at <= now)
                .values(status="sent", sent_at=now)
                .execution_options(synchronize_session=False))
            sent[channel] = int(result.rowcount)  # type: ignore[attr-defined]
    return sent


def serve_demo(engine: Engine, *, settings: Settings, host: str = "127.0.0.1",
               port: int = 8000) -> None:
    """Create the demo sign-ins, print them, and serve the back office (demo mode) until
    interrupted."""
    import uvicorn

    from patronage.cli.common import console
    from patronage.clock import SystemClock
    from patronage.server import create_app
    from patronage.web.demo import demo_sign_ins

    sign_ins = demo_sign_ins(engine, SystemClock().now())
    settings = settings.model_copy(update={"demo_mode": True,
                                           "base_url": f"http://{host}:{port}"})
    app = create_app(settings=settings, engine=engine)
    console.print(f"\nThe back office is at [bold]http://{host}:{port}[/bold] "
                  "(API documentation at /docs). Sign in as:", soft_wrap=True)
    for s in sign_ins:
        who = f" — {s.name} (member {s.member_id})" if s.member_id else ""
        console.print(f"  {s.role:<12} {s.email}  password: {s.password}{who}",
                      highlight=False, soft_wrap=True)
    console.print("Press Ctrl+C to stop.")
    uvicorn.run(app, host=host, port=port, log_level="warning")
