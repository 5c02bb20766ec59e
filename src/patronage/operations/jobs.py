"""The scheduled jobs: one registry (:data:`JOBS`) of what the worker runs and when. A job is a
function of a :class:`JobContext` that returns one line saying what it did; every job is
idempotent (a slot run twice, or again after a run was killed, does nothing twice). A new job is
one :func:`register` line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from patronage.clock import Period
from patronage.config import Settings
from patronage.db.compensation import CommissionRun
from patronage.db.engine import transaction
from patronage.languages import N_
from patronage.operations.schedule import Daily, Every, Schedule


@dataclass(frozen=True)
class JobContext:
    """What a job runs with: the store, the settings, the time it is, and its slot."""

    engine: Engine
    settings: Settings
    now: datetime
    slot: datetime

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.company_zone()


@dataclass(frozen=True)
class Job:
    name: str
    schedule: Schedule
    run: Callable[[JobContext], str]
    description: str


#: Every scheduled job by name, in the order a worker looks at them.
JOBS: dict[str, Job] = {}


def register(name: str, schedule: Schedule, description: str) -> Callable[
        [Callable[[JobContext], str]], Callable[[JobContext], str]]:
    """Add a job to :data:`JOBS` (as a decorator)."""
    def add(run: Callable[[JobContext], str]) -> Callable[[JobContext], str]:
        JOBS[name] = Job(name, schedule, run, description)
        return run
    return add


@register("value-fit", Daily(time(3, 0)), N_("fit the customer value models and score members"))
def value_fit(ctx: JobContext) -> str:
    from patronage.value.core.customers import ValueSettings
    from patronage.value.service import fit_values

    summary = fit_values(ctx.engine, ctx.now, ValueSettings())
    return f"run {summary.run_id}: {summary.members} members valued"


@register("care-tick", Daily(time(5, 0)), N_("plan the care touches due in the next day"))
def care_tick(ctx: JobContext) -> str:
    from patronage.care.core.rules import load_rules
    from patronage.care.tick import tick

    summary = tick(ctx.engine, ctx.now, load_rules(), company_zone=ctx.settings.company_timezone)
    failed = f"; {len(summary.failed)} members failed" if summary.failed else ""
    return f"{summary.planned} touches planned, {summary.already} already planned{failed}"


@register("autoship-run", Daily(time(6, 0)), N_("charge and order the subscriptions due today"))
def autoship_run(ctx: JobContext) -> str:
    from patronage.autoship.run import run_day
    from patronage.payments.settings import make_gateway

    day = ctx.slot.astimezone(ctx.zone).date()
    gateway = make_gateway(ctx.engine, ctx.settings.payment_settings())
    summary = run_day(ctx.engine, day, gateway, now=ctx.now,
                      company_zone=ctx.settings.company_timezone)
    return (f"{day}: {summary.due} due, {summary.approved} ordered, {summary.declined} "
            f"declined, {summary.suspended} suspended")


@register("care-deliver", Every(5), N_("send the care emails, texts and cards that are due"))
def care_deliver(ctx: JobContext) -> str:
    from patronage.care.core.rules import load_rules
    from patronage.care.deliver import deliver_due

    report = deliver_due(ctx.engine, ctx.now, settings=ctx.settings, rules=load_rules())
    line = (f"{len(report.sent)} sent, {len(report.deferred)} deferred, "
            f"{len(report.failed)} failed")
    for what, channel in (("texts", report.texts), ("cards mailed", report.mailed)):
        if channel is not None:
            line += (f"; {what}: {len(channel.sent)} sent, {len(channel.deferred)} deferred, "
                     f"{len(channel.failed)} failed")
    return line


@register("care-bounces", Every(15),
          N_("read bounces and complaints from the mailbox (PATRONAGE_BOUNCES_MAILDIR)"))
def care_bounces(ctx: JobContext) -> str:
    from pathlib import Path

    from patronage.care.mailbox import read_maildir

    if not ctx.settings.bounces_maildir:
        return "no mailbox set (PATRONAGE_BOUNCES_MAILDIR)"
    done = read_maildir(ctx.engine, Path(ctx.settings.bounces_maildir), now=ctx.now,
                        suppression_key=ctx.settings.suppression_secret())
    return (f"{done.read} messages read: {len(done.suppressed)} addresses suppressed, "
            f"{done.already} already, {done.soft} soft bounces")


@register("close-reminder", Daily(time(8, 0)),
          N_("remind staff when last month's commissions are not committed"))
def close_reminder(ctx: JobContext) -> str:
    month = Period.containing(ctx.now, ctx.zone).previous()
    with transaction(ctx.engine) as session:
        committed = session.scalar(select(CommissionRun.id)
                                   .where(CommissionRun.period == str(month)))
    if committed is not None:
        return f"{month} is committed"
    return (f"{month} is not committed yet: preview and commit it "
            f"(patronage commissions commit --period {month})")


@register("company-figures", Every(15), N_("count the company dashboard's figures"))
def company_figures(ctx: JobContext) -> str:
    from patronage.web.views.figures import count_figures

    figures = count_figures(ctx.engine, ctx.now)
    return f"dashboard figures counted as of {figures.as_of.isoformat()}"


@register("open-volumes", Every(15),
          N_("count the open period's volumes of every distributor"))
def open_volumes(ctx: JobContext) -> str:
    from patronage.compensation.open_volumes import count_open_volumes

    mark, members = count_open_volumes(ctx.engine, ctx.now, ctx.zone)
    return (f"open volumes of {mark.period} counted as of {mark.as_of.isoformat()}: "
            f"{members} members, orders to {mark.order_id}, refunds to {mark.refund_id}")


@register("credit-expiry", Daily(time(2, 0)), N_("expire product credit past its date"))
def credit_expiry(ctx: JobContext) -> str:
    from patronage.credit.expiry import expire_credit

    expired = expire_credit(ctx.engine, ctx.now, ctx.settings.credit_expiry_days)
    return f"credit expiry: {expired} expired (minor units)"
