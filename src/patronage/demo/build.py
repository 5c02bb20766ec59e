"""The demo company: the synthetic company plus the steps that bring it to life.

After the members, tree, customers and orders are written, the autoship customers' history is
produced by the real daily autoship run, day by day; then the demo runs the company's main job:
every month of its history but the last is closed (commissions committed with the example plan,
stored as the company's plan from the first month on), and the last, still open month is
previewed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func, select, update

from patronage.autoship.history import simulate_history
from patronage.clock import DEFAULT_COMPANY_ZONE, Period, Week, zone
from patronage.compensation.committed import locked_run
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.plan_versions import set_plan
from patronage.compensation.runs import commit_period, next_to_commit, preview_period
from patronage.config import Settings
from patronage.credit.expiry import expire_credit
from patronage.db.care import Touch
from patronage.db.compensation import CommissionRun
from patronage.db.engine import transaction
from patronage.demo.binary import (
    binary_from_open_month,
    binary_what_if,
    link_places_on_the_right,
    place_demo_tree,
    placed_on_joining,
)
from patronage.demo.company import CompanySummary, build_company
from patronage.demo.compliance import LoadingPlant, compliance_story, plant_flags
from patronage.demo.field import leave_cards
from patronage.demo.payouts import pay_demo, statement_counts
from patronage.demo.playbooks import demo_playbooks
from patronage.demo.response import respond_to_attention
from patronage.money import format_amount
from patronage.orders.open_period import open_window
from patronage.payouts.core.files import Originator
from patronage.payouts.secrets import Vault
from patronage.shop.demo import join_through_links
from patronage.value.service import fit_values


def build_demo(engine: Engine, *, seed: int, members: int, months: int, now: datetime,
               company_zone: str = DEFAULT_COMPANY_ZONE,
               payouts: PayoutSettings | None = None, settings: Settings | None = None,
               outbox_dir: Path | None = None) -> CompanySummary:
    """Members, tree, customers, orders, refunds and consents over ``months`` up to ``now``;
    then every closed month's commissions committed and the open month previewed; then the
    care planner's daily ticks and deliveries over the last month (emails, cards and owner
    tasks) and the customer values (lifetime, referral, the seven values, value at risk);
    then, given ``payouts`` (the keys and the company's mail settings), a few distributors'
    payout methods and tax ids. Texts and mailed cards are written to ``outbox_dir`` when
    given (:mod:`patronage.demo.outbox`); ``settings`` sign the links in them."""
    summary = build_company(engine, seed=seed, members=members, months=months, now=now,
                            history=True, personal=True)
    summary.extra["customers who referred three friends"] = refer_friends(
        engine, summary.autoship_candidates, seed=seed, company_zone=company_zone)
    # The distributors are placed in a binary tree too, as they joined, so that the shipped
    # binary hybrid plan can be run over the history as a what-if.
    summary.extra["distributors placed in the binary tree"] = place_demo_tree(engine, now)
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
    # Three months before the last closed one, leadership bonuses join the plan: a rank
    # advancement bonus in instalments, two pools, and a grace month for paid-as ranks.
    leading = current.previous().previous().previous()
    if first < leading:
        example = with_leadership_bonuses(example)
        set_plan(engine, example, leading, source="demo: example plan with leadership bonuses",
                 actor="demo", now=now)
    # From two months back on, the company enforces a customer-volume rule: a team whose
    # customers bought less than half its volume earns nothing on its downline that month.
    last = current.previous()
    set_plan(engine, with_compliance_rule(example), max(first, last.previous()),
             source="demo: example plan with the compliance rule", actor="demo", now=now)
    # From the last closed month on it runs the leaders' plan (the same rule): rates by rank,
    # infinity, generation and matching bonuses, a bonus on new customers' first orders; the
    # committed run's pages explain each payment.
    # The leadership bonuses stay (their instalments go on being paid). Its fast start is paid
    # by the week: each week is committed as it ends, beside the months.
    leaders = default_plan_path().parent / "leaders.toml"
    leaders_text = weekly_fast_start(leaders.read_text(encoding="utf-8"))
    if first < leading:
        leaders_text = (leaders_text.replace('version = "2026.3"', 'version = "2026.3-leadership"',
                                             1) + LEADERSHIP_BONUSES)
    set_plan(engine, leaders_text, max(first, last), source=str(leaders), actor="demo", now=now)
    if first < current:
        # From the open month on the plan also pays a binary bonus: the shop's new
        # distributors are placed at once.
        binary_from_open_month(engine, leaders_text, current, now=now)
    # Just before the last closed month ends, a distributor loads up on inventory.
    loading = LoadingPlant(engine, current.previous(), tz)
    closing = _Closing(engine, first, company_zone, before_commit=loading)
    # Each month is closed as the history reaches its end, so the credit it pays is spent by
    # the autoships of the months after it.
    autoship = simulate_history(engine, summary.autoship_candidates, start=start,
                                end=now.date(), seed=seed, company_zone=company_zone,
                                before_day=closing.close_ended)
    summary.extra.update({f"autoship {k}": v for k, v in autoship.items()})
    closing.close_ended(now)
    summary.extra["commission periods committed"] = closing.committed
    summary.extra["commissions paid in them"] = format_amount(closing.paid)
    summary.extra.update(closing.weekly_summary())
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
    # The agreement version, a forbidden phrase and a buy-back (claws back in the open month).
    summary.extra.update(compliance_story(engine, now, seed=seed, company_zone=company_zone))
    summary.extra.update(plant_flags(engine, now, company_zone=company_zone))
    summary.extra.update(statement_counts(engine, now, company_zone))
    summary.extra["credit expired (daily run, unspent after 365 days)"] = format_amount(
        expire_credit(engine, now, 365))
    open_run = preview_period(engine, current, company_zone=company_zone)
    summary.extra[f"open period {current}: payout lines (preview)"] = open_run.result.payouts.size
    if closing.committed:
        last_run = locked_run(engine, last)
        by_bonus = last_run.by_bonus if last_run is not None else {}
        for line in ("matching", "unilevel_generation", "unilevel_infinity",
                     "customer_first_order", "generation"):
            summary.extra[f"{last}: {line.replace('_', ' ')} paid (leaders' plan)"] = \
                format_amount(by_bonus.get(line, 0))
    if closing.committed:
        summary.extra.update(compliance_summary(engine, current.previous(), tz))
        summary.extra.update(binary_what_if(engine, months=3))
    # Customer values as the care window opens (value-at-risk touches need them), then the
    # daily care ticks, then the values as of now (touches count in the emotional value).
    fit_values(engine, now - timedelta(days=CARE_DAYS))
    adopted = demo_playbooks(engine, now - timedelta(days=CARE_DAYS + 1), now)
    # Gifts are orders: they are sent from the open commission period on (after the last
    # committed month or week, whichever ends later: a weekly market's week may be committed
    # inside the open month).
    with transaction(engine) as s:
        opens = open_window(s, now, company_zone=company_zone).since
    care = care_days(engine, now, days=CARE_DAYS, company_zone=company_zone,
                     gifts_from=opens, settings=settings, outbox_dir=outbox_dir)
    summary.extra.update(adopted)
    summary.extra["customers who ordered again after a touch (demo effect)"] = \
        respond_to_attention(engine, now, seed=seed, not_before=opens)
    summary.extra[f"care touches planned (daily ticks, last {CARE_DAYS} days)"] = care.planned
    summary.extra["care emails sent (simulated outbox)"] = care.emails
    summary.extra["care cards sent (simulated outbox)"] = care.cards
    summary.extra["care texts sent (demo text adapter)"] = care.texts
    summary.extra[f"care cards mailed (demo print-and-mail adapter, last {MAILED_DAYS} days)"] \
        = care.mailed
    summary.extra["care gifts sent with cards (zero-price orders)"] = care.gifts
    fitted = fit_values(engine, now)
    summary.extra["customers valued"] = fitted.customers
    if closing.committed:  # the simulation uses the plan in force and the fitted models
        from patronage.demo.simulations import simulate_demo

        summary.extra.update(simulate_demo(engine, now, company_zone))
    if first < current:
        link_places_on_the_right(engine, now=now)
    summary.extra["people who joined through share links"] = join_through_links(
        engine, now, seed=seed, company_zone=company_zone)
    summary.extra["distributors placed on joining through the shop"] = placed_on_joining(engine)
    summary.extra["cards left for the demo distributor to print"] = leave_cards(engine, now)
    summary.extra.update(worker_round(engine, now, company_zone))
    return summary


def worker_round(engine: Engine, now: datetime, company_zone: str) -> dict[str, int | str]:
    """The scheduled jobs' worker looks at the schedule once at ``now`` (what Company → Jobs
    shows): today's autoship run and care tick (done already by the history above, so they find
    nothing left), the close reminder, the count of the company dashboard's figures and of the
    open period's volumes. The value fit ran just above; the simulated outbox stands in for the
    email delivery."""
    from patronage.operations.worker import run_pending

    settings = Settings(company_timezone=company_zone, payment_gateway="simulated")
    ran = run_pending(engine, now, settings, worker="demo",
                      only={"autoship-run", "care-tick", "close-reminder",
                            "company-figures", "open-volumes"})
    return {"scheduled jobs run by the worker": ", ".join(f"{r.job} {r.outcome}" for r in ran)}


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


#: What the demo company adds to the example plan three months before its last closed month.
LEADERSHIP_BONUSES = """
# Leadership bonuses. A paid-as rank is kept one month after failing it (while active).
[paid_as]
grace_periods = 1

# Paid once when a rank is first reached, in three monthly parts while it is held (the rest
# is forfeited the first month it is not).
[bonuses.rank_advancement]
amounts = { "Senior Consultant" = 50.00, "Manager" = 250.00, "Director" = 1000.00 }
instalments = 3
held_as = "paid_as"

# 1% of the month's CV shared by Senior Consultants and up (Managers two shares, Directors
# four), and 0.5% shared by Managers and up by group volume.
[bonuses.pool]
[[bonuses.pool.pools]]
name = "Leadership pool"
share_of_cv = 0.01
min_rank = "Senior Consultant"
shares = { "Manager" = 2, "Director" = 4 }

[[bonuses.pool.pools]]
name = "Manager pool"
share_of_cv = 0.005
min_rank = "Manager"
divide = "gv"
"""


def with_leadership_bonuses(plan_text: str) -> str:
    """The example plan as a new version with a rank advancement bonus, pools and a grace
    month (:data:`LEADERSHIP_BONUSES`)."""
    return (plan_text.replace('version = "2026.1"', 'version = "2026.1-leadership"', 1)
            + LEADERSHIP_BONUSES)


def with_compliance_rule(plan_text: str) -> str:
    """The example plan as a new version with the 50% customer-volume rule."""
    return (plan_text.replace('version = "2026.1', 'version = "2026.2', 1)
            + "\n# Downline earnings only for a team whose customers bought at least half of its"
            "\n# volume in the month (withheld otherwise, and explained), released in the first"
            "\n# of the next two committed months whose team meets the rule.\n"
            "[compliance]\nmin_team_customer_share = 0.5\nrelease_withheld_within = 2\n")
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
    from patronage.db.compensation import PayoutSkip

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
    from patronage.compliance.loading import load_loading_flags

    flags = load_loading_flags(engine, last)
    from patronage.compensation.withheld import FORFEITED, PENDING, RELEASED, withheld_summary

    kept = withheld_summary(engine, limit=0)
    return {
        f"payments withheld by the customer-volume rule in {last}": withheld,
        "withheld amounts pending release": f"{kept.counts[PENDING]} "
                                            f"({format_amount(kept.totals[PENDING])})",
        "withheld amounts released": f"{kept.counts[RELEASED]} "
                                     f"({format_amount(kept.totals[RELEASED])})",
        "withheld amounts forfeited": f"{kept.counts[FORFEITED]} "
                                      f"({format_amount(kept.totals[FORFEITED])})",
        f"distributors flagged for inventory loading in {last}": len(flags),
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

    def __init__(self, engine: Engine, period: Period, company_zone: str,
                 before_commit: Callable[[Period], None] | None = None) -> None:
        self.engine, self.period, self.company_zone = engine, period, company_zone
        self.before_commit = before_commit
        self.committed, self.paid = 0, 0
        self.week: Week | None = None

    def close_ended(self, now: datetime) -> None:
        self._close_months(now)
        self._close_weeks(now)

    def _close_weeks(self, now: datetime) -> None:
        """Commits every week that has ended, in order, while the plan pays by the week."""
        week = Week.containing(now, zone(self.company_zone))
        if week == self.week:
            return
        self.week = week
        while True:
            nxt = next_to_commit(self.engine, now, company_zone=self.company_zone,
                                 calendar="week")
            if nxt.refusal is not None:
                return
            commit_period(self.engine, nxt.period, None, now=now, actor="demo",
                          company_zone=self.company_zone)

    def weekly_summary(self) -> dict[str, int | str]:
        """How many weeks were committed and what they paid (nothing when no plan pays by the
        week)."""
        with transaction(self.engine) as s:
            weeks, paid = s.execute(select(func.count(), func.coalesce(func.sum(
                CommissionRun.total_paid), 0)).where(CommissionRun.calendar == "week")).one()
        if not weeks:
            return {}
        return {"weeks committed (fast start paid by the week)": int(weeks),
                "commissions paid in the weeks": format_amount(int(paid))}

    def _close_months(self, now: datetime) -> None:
        current = Period.containing(now, zone(self.company_zone))
        while self.period < current:
            if self.before_commit is not None:
                self.before_commit(self.period)
            run = preview_period(self.engine, self.period, company_zone=self.company_zone)
            if run.facts.lines.size or self.committed:
                commit_period(self.engine, self.period, None, now=now, actor="demo",
                              company_zone=self.company_zone)
                self.committed += 1
                self.paid += run.total_paid
            self.period = self.period.next()


def weekly_fast_start(plan_text: str) -> str:
    """``plan_text`` with its fast start paid by the week (``period = "week"``)."""
    section = "[bonuses.fast_start]\n"
    if section not in plan_text:
        raise ValueError("the plan has no [bonuses.fast_start] section")
    return plan_text.replace(section, section + 'period = "week"\n', 1)


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
    gifts: int = 0
    texts: int = 0
    mailed: int = 0


#: The demo's last days, in which its cards go to the print-and-mail service (the demo's
#: stand-in, :mod:`patronage.demo.outbox`) instead of the simulated print batch.
MAILED_DAYS = 7


#: How many days a birthday or holiday task stays on a distributor's list (the default).
GRACE_DAYS = int(Settings.model_fields["occasion_grace_days"].default)
#: The channels the demo's simulated outbox delivers (tasks wait for their distributor).
OUTBOX_CHANNELS = ("email", "card")


def care_days(engine: Engine, now: datetime, *, days: int,
              company_zone: str = DEFAULT_COMPANY_ZONE,
              gifts_from: datetime | None = None, settings: Settings | None = None,
              outbox_dir: Path | None = None) -> CareDays:
    """Each of the last ``days`` days as the company lives it: the care tick at that day's
    ``now``, then the day's delivery through the demo's simulated outbox (the demo has no mail
    server and no print shop: the emails and cards due are recorded as sent at that moment, as
    the simulated payment gateway charges nobody). Texts, and in the last
    :data:`MAILED_DAYS` days the cards, go through the real outbox to the demo's text and
    print-and-mail adapters (:mod:`patronage.demo.outbox`; writing to ``outbox_dir`` when
    given). So no touch is left planned past its window (``patronage check``). From
    ``gifts_from`` on (the open commission period: a gift is an order), the samples and gifts
    of the cards due are sent first."""
    from patronage.care.core.rules import load_rules
    from patronage.care.dispatch import deliver_mailed_cards, deliver_texts
    from patronage.care.gifts import send_gifts
    from patronage.care.sweep import close_passed
    from patronage.care.tick import tick
    from patronage.demo.outbox import demo_senders

    rules = load_rules()
    cfg = settings or Settings(company_timezone=company_zone)
    mail_from = now - timedelta(days=MAILED_DAYS)
    done = CareDays()
    for back in range(days, -1, -1):
        moment = now - timedelta(days=back)
        done.planned += tick(engine, moment, company_zone=company_zone).planned
        if gifts_from is not None and moment >= gifts_from:
            with transaction(engine) as s:  # the samples and gifts of the cards due
                done.gifts += len(send_gifts(s, moment, rules).sent)
        texts, mail = demo_senders(outbox_dir, moment)
        if moment >= mail_from:
            done.mailed += len(deliver_mailed_cards(engine, moment, settings=cfg, sender=mail,
                                                    rules=rules).sent)
        sent = simulated_outbox(engine, moment)
        done.emails += sent["email"]
        done.cards += sent["card"]
        done.texts += len(deliver_texts(engine, moment, settings=cfg, sender=texts,
                                        rules=rules).sent)
        with transaction(engine) as s:  # and the run's end: nothing planned past its window
            close_passed(s, moment, rules, grace_days=GRACE_DAYS)
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
