"""The demo company: the synthetic company plus the steps that bring it to life.

After the members, tree, customers and orders are written, the autoship customers' history is
produced by the real daily autoship run, day by day; then the demo runs the company's main job:
every month of its history but the last is closed (commissions committed with the example plan,
stored as the company's plan from the first month on), and the last, still open month is
previewed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import numpy as np
from sqlalchemy import Engine, func, select, update

from patronage.autoship.history import simulate_history
from patronage.clock import DEFAULT_COMPANY_ZONE, Period, zone
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.plan_versions import set_plan
from patronage.compensation.runs import commit_period, preview_period
from patronage.config import Settings
from patronage.credit.expiry import expire_credit
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.demo.company import CompanySummary, build_company
from patronage.demo.field import leave_cards
from patronage.demo.payouts import pay_demo, statement_counts
from patronage.money import format_amount
from patronage.payouts.core.files import Originator
from patronage.payouts.secrets import Vault
from patronage.shop.demo import join_through_links
from patronage.value.service import fit_values


def build_demo(engine: Engine, *, seed: int, members: int, months: int, now: datetime,
               company_zone: str = DEFAULT_COMPANY_ZONE,
               payouts: PayoutSettings | None = None) -> CompanySummary:
    """Members, tree, customers, orders, refunds and consents over ``months`` up to ``now``;
    then every closed month's commissions committed and the open month previewed; then the
    care planner's daily ticks and deliveries over the last month (emails, cards and owner
    tasks) and the customer values (lifetime, referral, the seven values, value at risk);
    then, given ``payouts`` (the keys and the company's mail settings), a few distributors'
    payout methods and tax ids."""
    summary = build_company(engine, seed=seed, members=members, months=months, now=now,
                            history=True, personal=True)
    summary.extra["customers who referred three friends"] = refer_friends(
        engine, summary.autoship_candidates, seed=seed, company_zone=company_zone)
    start = (now - timedelta(days=round(30.44 * months))).date()
    tz = zone(company_zone)
    current = Period.containing(now, tz)
    first = current
    for _ in range(months + 1):
        first = first.previous()
    # The company's plan: the example plan, stored as in force from the first month on (its
    # customer referral reward is paid as product credit, which later autoships spend).
    example = default_plan_path().read_text(encoding="utf-8")
    set_plan(engine, example, first, source=str(default_plan_path()), actor="demo", now=now)
    # From the last closed month on, the company enforces a customer-volume rule: a team whose
    # customers bought less than half its volume earns nothing on its downline that month.
    set_plan(engine, with_compliance_rule(example), max(first, current.previous()),
             source="demo: example plan with the compliance rule", actor="demo", now=now)
    closing = _Closing(engine, first, company_zone)
    # Each month is closed as the history reaches its end, so the credit it pays is spent by
    # the autoships of the months after it.
    autoship = simulate_history(engine, summary.autoship_candidates, start=start,
                                end=now.date(), seed=seed, company_zone=company_zone,
                                before_day=closing.close_ended)
    summary.extra.update({f"autoship {k}": v for k, v in autoship.items()})
    closing.close_ended(now)
    summary.extra["commission periods committed"] = closing.committed
    summary.extra["commissions paid in them"] = format_amount(closing.paid)
    summary.extra.update(credit_counts(engine))
    # Money out: the committed months are on the ledger; a prize, holds, a batch, a return.
    if payouts is not None:
        # Payout methods before the batch, so that the batch pays into them (and holds those
        # without one, without a tax id or in the cooling period) and exports their files.
        from patronage.demo.payout_methods import add_payout_methods
        from patronage.payouts.methods import method_hold_source

        summary.extra.update(add_payout_methods(
            engine, vault=payouts.vault, now=now, company=payouts.company,
            mail_from=payouts.mail_from, cooling_days=payouts.cooling_days))
        summary.extra.update(pay_demo(
            engine, now, company_zone=company_zone,
            holds=[method_hold_source(payouts.cooling_days)],
            export=(payouts.vault, demo_originator(payouts.originator, payouts.company))))
    else:
        summary.extra.update(pay_demo(engine, now, company_zone=company_zone))
    summary.extra.update(statement_counts(engine, now, company_zone))
    summary.extra["credit expired (daily run, unspent after 365 days)"] = format_amount(
        expire_credit(engine, now, 365))
    open_run = preview_period(engine, current, company_zone=company_zone)
    summary.extra[f"open period {current}: payout lines (preview)"] = open_run.result.payouts.size
    if closing.committed:
        summary.extra.update(compliance_summary(engine, current.previous(), tz))
    # Customer values as the care window opens (value-at-risk touches need them), then the
    # daily care ticks, then the values as of now (touches count in the emotional value).
    fit_values(engine, now - timedelta(days=CARE_DAYS))
    care = care_days(engine, now, days=CARE_DAYS, company_zone=company_zone)
    summary.extra[f"care touches planned (daily ticks, last {CARE_DAYS} days)"] = care.planned
    summary.extra["care emails sent (simulated outbox)"] = care.emails
    summary.extra["care cards sent (simulated outbox)"] = care.cards
    fitted = fit_values(engine, now)
    summary.extra["customers valued"] = fitted.customers
    summary.extra["people who joined through share links"] = join_through_links(
        engine, now, seed=seed, company_zone=company_zone)
    summary.extra["cards left for the demo distributor to print"] = leave_cards(engine, now)
    return summary


@dataclass(frozen=True)
class PayoutSettings:
    """What the demo's payout methods need from the settings."""

    vault: Vault
    company: str
    mail_from: str
    cooling_days: int
    #: The company's payout details (``Settings.payout_originator()``); blanks are filled with
    #: the demo's (see :func:`demo_originator`).
    originator: Originator | None = None


#: The demo company's own accounts (test numbers: a German IBAN whose check digits hold, the
#: Chase NY routing number), used where the settings leave them blank.
DEMO_ORIGINATOR = Originator("", iban="DE89370400440532013000", bic="COBADEFFXXX",
                             ach_company_id="1123456789", ach_odfi_routing="021000021")


def demo_originator(given: Originator | None, company: str) -> Originator:
    """The settings' originator with every blank detail taken from :data:`DEMO_ORIGINATOR`."""
    base = given or Originator(company)
    blanks = {f.name: getattr(DEMO_ORIGINATOR, f.name) for f in dataclasses.fields(base)
              if not getattr(base, f.name) and getattr(DEMO_ORIGINATOR, f.name)}
    return dataclasses.replace(base, name=base.name or company, **blanks)


CARE_DAYS = 30


def with_compliance_rule(plan_text: str) -> str:
    """The example plan as a new version with the 50% customer-volume rule."""
    return (plan_text.replace('version = "2026.1"', 'version = "2026.2"', 1)
            + "\n# Downline earnings only for a team whose customers bought at least half of its"
            "\n# volume in the month (withheld otherwise, and explained).\n"
            "[compliance]\nmin_team_customer_share = 0.5\n")
#: What the demo company states its distributors typically spend (the income disclosure).
DEMO_TYPICAL_EXPENSES = ("about 1,500.00 a year: products for samples and demonstrations, "
                         "events and training, travel, the website and phone")


def compliance_summary(engine: Engine, last: Period, tz: tzinfo) -> dict[str, int | str]:
    """The compliance figures of the twelve months up to ``last``, and the income disclosure of
    its year (which also keeps each run's recruitment-reward split, so the page is quick)."""
    from fractions import Fraction

    from patronage.compensation.core.codes import REASON_CUSTOMER_SHARE
    from patronage.compliance.disclosure import income_disclosure
    from patronage.compliance.evidence import load_evidence
    from patronage.compliance.periods import rolling_year
    from patronage.compliance.recruitment import reward_mix
    from patronage.compliance.teams import teams_below
    from patronage.db.compensation import CommissionRun, PayoutSkip

    first, _ = rolling_year(last)
    ev = load_evidence(engine, first, last)
    below, _ = teams_below(engine, ev.distributors, Fraction(1, 2))
    rewards = [r for r in reward_mix(engine, first, last) if r.rank is None]
    disclosure = income_disclosure(engine, last.year, tz)
    share = ev.company.customer_share
    everyone = disclosure.everyone[-1]
    index = rewards[-1].recruitment_share if rewards else None
    with engine.connect() as conn:
        withheld = conn.execute(
            select(func.count()).select_from(PayoutSkip).join(
                CommissionRun, CommissionRun.id == PayoutSkip.run_id)
            .where(CommissionRun.period == str(last),
                   PayoutSkip.reason == REASON_CUSTOMER_SHARE)).scalar_one()
    return {
        f"payments withheld by the customer-volume rule in {last}": withheld,
        "volume bought by customers (12 months)": f"{float(share or 0):.1%}",
        "teams under 50% customer volume": below,
        f"recruitment-reward index {last}": f"{float(index or 0):.1%}",
        f"income disclosure {last.year}: participants": disclosure.participants,
        f"income disclosure {last.year}: earned nothing":
            f"{float(everyone.share_earning_nothing):.1%}",
    }
class _Closing:
    """Commits every month that has ended, in order, from ``period`` on (months before the
    first with orders are passed over)."""

    def __init__(self, engine: Engine, period: Period, company_zone: str) -> None:
        self.engine, self.period, self.company_zone = engine, period, company_zone
        self.committed, self.paid = 0, 0

    def close_ended(self, now: datetime) -> None:
        current = Period.containing(now, zone(self.company_zone))
        while self.period < current:
            run = preview_period(self.engine, self.period, company_zone=self.company_zone)
            if run.facts.lines.size or self.committed:
                commit_period(self.engine, self.period, None, now=now, actor="demo",
                              company_zone=self.company_zone)
                self.committed += 1
                self.paid += run.total_paid
            self.period = self.period.next()


def refer_friends(engine: Engine, candidates: list[int], *, seed: int,
                  company_zone: str = DEFAULT_COMPANY_ZONE) -> int:
    """"Refer 3, yours is free" in the demo: some autoship customers become the referrer of three
    later customers of the same distributor who ordered in one same month (so the month's
    close pays them the reward, as credit their next autoships spend). About one autoship
    customer in forty, at least three; returns how many."""
    from sqlalchemy import select
    from sqlalchemy import update as update_

    from patronage.db.tables import Member, Order

    rng = np.random.default_rng(seed + 19)
    tz = zone(company_zone)
    with transaction(engine) as s:
        customers = s.execute(select(Member.id, Member.owner_id, Member.joined_at).where(
            Member.kind != "distributor", Member.referrer_id.is_(None))
            .order_by(Member.id)).all()
        months: dict[int, set[str]] = {}
        for buyer, placed in s.execute(select(Order.buyer_id, Order.placed_at)):
            months.setdefault(int(buyer), set()).add(str(Period.containing(placed, tz)))
        by_owner: dict[int, list[tuple[int, datetime]]] = {}
        for member, owner, joined in customers:
            if owner is not None:
                by_owner.setdefault(int(owner), []).append((int(member), joined))
        taken = set(candidates)
        wanted = max(3, len(candidates) // 40)
        made = 0
        owner_of = {int(m): int(o) for m, o, _ in customers if o is not None}
        joined_of = {int(m): j for m, _, j in customers}
        for referrer in rng.permutation(np.array(sorted(candidates), dtype=np.int64)).tolist():
            if made >= wanted:
                break
            if referrer not in owner_of:
                continue
            friends = [m for m, j in by_owner[owner_of[referrer]]
                       if m not in taken and j > joined_of[referrer] and months.get(m)]
            for month in sorted({p for m in friends for p in months[m]}):
                group = [m for m in friends if month in months[m]][:3]
                if len(group) == 3:
                    s.execute(update_(Member).where(Member.id.in_(group))
                              .values(referrer_id=referrer))
                    taken.update(group)
                    made += 1
                    break
    return made


def credit_counts(engine: Engine) -> dict[str, int]:
    """How many customers earned product credit, and how many spent some."""
    from sqlalchemy import func, select

    from patronage.db.credit import CreditEntry

    with transaction(engine) as s:
        def members(kind: str) -> int:
            return s.scalar(select(func.count(func.distinct(CreditEntry.member_id)))
                            .where(CreditEntry.kind == kind)) or 0

        return {"customers who earned product credit": members("earned"),
                "customers who spent product credit": members("applied")}


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
    settings = settings.model_copy(update={
        "demo_mode": True, "base_url": f"http://{host}:{port}",
        "typical_expenses": settings.typical_expenses or DEMO_TYPICAL_EXPENSES})
    app = create_app(settings=settings, engine=engine)
    console.print(f"\nThe back office is at [bold]http://{host}:{port}[/bold] "
                  "(API documentation at /docs). Sign in as:", soft_wrap=True)
    for s in sign_ins:
        who = f" — {s.name} (member {s.member_id})" if s.member_id else ""
        console.print(f"  {s.role:<12} {s.email}  password: {s.password}{who}",
                      highlight=False, soft_wrap=True)
    console.print("Press Ctrl+C to stop.")
    uvicorn.run(app, host=host, port=port, log_level="warning")
