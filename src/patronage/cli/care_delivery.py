"""``patronage care`` (delivery): the outbox, cards, tasks, contacts, testimonials, templates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, failed_exit, parse_now, state
from patronage.errors import PatronageError, Problems

if TYPE_CHECKING:
    from patronage.care.channels.cards import CardBatch
    from patronage.care.dispatch import ChannelReport

app = typer.Typer(help="Care delivery.", no_args_is_help=True)
cards_app = typer.Typer(help="Printed cards.", no_args_is_help=True)
contacts_app = typer.Typer(help="A distributor's contacts.", no_args_is_help=True)
testimonial_app = typer.Typer(help="Testimonials.", no_args_is_help=True)
templates_app = typer.Typer(help="Message templates.", no_args_is_help=True)
app.add_typer(cards_app, name="cards")
app.add_typer(contacts_app, name="contacts")
app.add_typer(testimonial_app, name="testimonial")
app.add_typer(templates_app, name="templates")

RulesFile = Annotated[Path | None, typer.Option(
    "--rules", help="Rules file (TOML; default: the shipped rules): its lookback_days is how "
    "late a touch may still go out.")]
Distributor = Annotated[int | None, typer.Option(
    "--distributor", help="The distributor's member id (omit for customer service).")]


@app.command("deliver")
def deliver_command(ctx: typer.Context, now: NowOpt = None,
                    cards_dir: Annotated[Path | None, typer.Option(
                        "--cards-dir", help="Also export the due cards into this folder.")]
                    = None, rules: RulesFile = None, as_json: JsonOpt = False) -> None:
    """Send the emails that are due (and export the cards); safe to run again at any time.

    A touch that fails on its own (a bad stored address...) is recorded as failed with the
    reason and the others go on; the exit code is 1 when any failed."""
    from patronage.care.core.rules import load_rules
    from patronage.care.deliver import deliver_due

    report = deliver_due(state(ctx).engine(), parse_now(now), cards_dir=cards_dir,
                         rules=load_rules(rules), settings=state(ctx).settings())
    batch = report.cards
    failed = len(report.failed) + (len(batch.failed) if batch else 0) + sum(
        len(r.failed) for r in (report.texts, report.mailed) if r is not None)
    data = {
        "sent": len(report.sent), "dropped": report.dropped, "deferred": report.deferred,
        "failed": report.failed, "cards_exported": len(batch.touch_ids) if batch else 0,
        "cards_file": str(batch.path) if batch and batch.path else None,
        "cards_dropped": batch.dropped if batch else {},
        "cards_failed": batch.failed if batch else {},
        "cards_waiting": report.cards_waiting, "sms_waiting": report.sms_waiting,
        "closed": report.closed.as_dict() if report.closed else {},
        "gifts_sent": len(report.gifts.sent) if report.gifts else 0,
        "gifts_dropped": report.gifts.dropped if report.gifts else {},
        "texts": _channel(report.texts), "mailed_cards": _channel(report.mailed),
    }
    if as_json:
        emit_json(data)
        failed_exit(failed)
        return
    console.print(f"{data['sent']} emails sent, {len(report.dropped)} dropped, "
                  f"{len(report.deferred)} deferred (will retry), {len(report.failed)} failed")
    for touch_id, reason in {**report.dropped, **report.deferred, **report.failed}.items():
        console.print(f"  touch {touch_id}: {reason}", highlight=False)
    if batch is not None:
        _print_batch(batch)
    for what, channel in (("texts", report.texts), ("cards mailed", report.mailed)):
        if channel is not None:
            console.print(f"{len(channel.sent)} {what} through {channel.provider}, "
                          f"{len(channel.dropped)} dropped, {len(channel.deferred)} deferred "
                          f"(will retry), {len(channel.failed)} failed")
            for touch_id, reason in {**channel.dropped, **channel.deferred,
                                     **channel.failed}.items():
                console.print(f"  touch {touch_id}: {reason}", highlight=False)
    if report.cards_waiting and report.mailed is None:
        console.print(f"{report.cards_waiting} cards wait for export (--cards-dir)")
    if report.sms_waiting:
        console.print(f"{report.sms_waiting} texts wait: no SMS provider is set "
                      "(PATRONAGE_SMS_PROVIDER)")
    if report.gifts and (report.gifts.sent or report.gifts.dropped):
        console.print(f"{len(report.gifts.sent)} gifts sent (cost "
                      f"{report.gifts.cost / 100:,.2f}), {len(report.gifts.dropped)} cards "
                      "dropped for their gift")
        for touch_id, reason in report.gifts.dropped.items():
            console.print(f"  touch {touch_id}: {reason}", highlight=False)
    if report.closed and (report.closed.dropped or report.closed.expired):
        console.print(f"past their window: {report.closed.dropped} dropped as late, "
                      f"{report.closed.expired} tasks expired")
    failed_exit(failed)


def _channel(report: ChannelReport | None) -> dict[str, object] | None:
    if report is None:
        return None
    return {"provider": report.provider, "sent": len(report.sent), "dropped": report.dropped,
            "deferred": report.deferred, "failed": report.failed}


@app.command("bounces")
def bounces_command(ctx: typer.Context,
                    maildir: Annotated[Path, typer.Option(
                        "--maildir", help="The Maildir folder bounces and complaints are "
                        "delivered to (its new/ messages are read, then moved to cur/).")],
                    now: NowOpt = None, as_json: JsonOpt = False) -> None:
    """Read bounce (DSN) and complaint (ARF) messages from a Maildir folder: hard bounces and
    complaints suppress the address; each message is read once."""
    from patronage.care.mailbox import read_maildir

    cfg = state(ctx).settings()
    done = read_maildir(state(ctx).engine(), maildir, now=parse_now(now),
                        suppression_key=cfg.suppression_secret())
    if as_json:
        emit_json({"read": done.read, "suppressed": done.suppressed, "already": done.already,
                   "soft_bounces": done.soft, "other": done.other})
        return
    console.print(f"{done.read} messages read: {len(done.suppressed)} addresses suppressed, "
                  f"{done.already} already suppressed, {done.soft} soft bounces, "
                  f"{len(done.other)} neither a bounce nor a complaint")
    for address in done.suppressed:
        console.print(f"  suppressed {address}", highlight=False)


def _print_batch(batch: CardBatch) -> None:
    if batch.path is None:
        console.print(f"{len(batch.touch_ids)} cards in (no batch: none due)")
    else:
        resumed = " (finished the batch an interrupted export left open)" if batch.resumed else ""
        console.print(f"{len(batch.touch_ids)} cards, {batch.pages} pages: {batch.path}"
                      f"{resumed}")
    console.print(f"{len(batch.touch_ids)} cards printed, {len(batch.dropped)} dropped, "
                  f"{len(batch.failed)} failed")
    for touch_id, reason in {**batch.dropped, **batch.failed}.items():
        console.print(f"  touch {touch_id} not printed: {reason}", highlight=False)


@app.command("requeue")
def requeue_command(ctx: typer.Context,
                    touches: Annotated[list[int], typer.Argument(help="Failed touch ids.")],
                    now: NowOpt = None) -> None:
    """Give failed touches another round of delivery attempts (all or none)."""
    from patronage.care.deliver import requeue
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as session:
        for touch_id in touches:
            requeue(session, touch_id, now=moment)
    console.print(f"{len(touches)} touches planned again")


@cards_app.command("export")
def cards_export(ctx: typer.Context,
                 out: Annotated[Path, typer.Option("--out", help="Folder for the PDF batch.")],
                 now: NowOpt = None, rules: RulesFile = None) -> None:
    """Export the due cards as one print-ready PDF and mark them sent (or first finish the
    batch an interrupted export left open). Exit code 1 when a card failed."""
    from patronage.care.channels.cards import export_cards
    from patronage.care.core.rules import load_rules

    batch = export_cards(state(ctx).engine(), parse_now(now), out, rules=load_rules(rules),
                         settings=state(ctx).settings())
    if batch.path is None and not batch.dropped and not batch.failed:
        console.print("no cards due")
    else:
        _print_batch(batch)
    failed_exit(len(batch.failed))


@app.command("tasks")
def tasks_command(ctx: typer.Context, distributor: Distributor = None,
                  days: Annotated[int, typer.Option(help="Days ahead.")] = 7, now: NowOpt = None,
                  as_json: JsonOpt = False) -> None:
    """A distributor's personal tasks: overdue, today and the next days."""
    from rich.table import Table

    from patronage.care.tasks import tasks_for
    from patronage.db.engine import transaction

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as session:
        tasks = tasks_for(session, distributor, moment, days=days, settings=state(ctx).settings())
    if as_json:
        emit_json([t.__dict__ for t in tasks])
        return
    table = Table("task", "due", "member", "to do")
    for t in tasks:
        due = t.due_at.date().isoformat() + (" (overdue)" if t.overdue else "")
        table.add_row(str(t.touch_id), due, t.member_name, t.line)
    console.print(table if tasks else "no tasks")


@app.command("tasks-feed")
def tasks_feed(ctx: typer.Context, out: Annotated[Path, typer.Option("--out", help="FILE.ics")],
               distributor: Distributor = None, now: NowOpt = None) -> None:
    """Write the iCalendar feed of a distributor's open tasks."""
    from patronage.care.tasks import ical_feed
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as session:
        data = ical_feed(session, distributor, parse_now(now), settings=state(ctx).settings())
    out.write_bytes(data)
    console.print(f"{data.count(b'BEGIN:VEVENT')} tasks written to {out}")


@contacts_app.command("import")
def contacts_import(ctx: typer.Context,
                    file: Annotated[Path, typer.Argument(help="A .vcf or .csv file.")],
                    distributor: Annotated[int, typer.Option("--distributor")],
                    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
                    now: NowOpt = None, as_json: JsonOpt = False) -> None:
    """Import contacts with birthdays; duplicates are skipped and reported."""
    from patronage.care.contacts import import_contacts
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as session:
        report = import_contacts(session, distributor, file, now=parse_now(now),
                                 dry_run=dry_run)
    if as_json:
        emit_json({"imported": [r.name for r in report.imported], "dry_run": dry_run,
                   "skipped": [s.__dict__ for s in report.skipped],
                   "dropped_phones": [s.__dict__ for s in report.dropped_phones]})
        return
    verb = "would import" if dry_run else "imported"
    console.print(f"{verb} {len(report.imported)} contacts, skipped {len(report.skipped)}")
    for s in report.skipped:
        console.print(f"  {s.place}: {s.name or '(no name)'}: {s.reason}", highlight=False)
    for s in report.dropped_phones:
        console.print(f"  {s.place}: {s.name}: kept without {s.reason}", highlight=False)


@testimonial_app.command("moderate")
def testimonial_moderate(
    ctx: typer.Context, testimonial: Annotated[int, typer.Argument(help="Testimonial id.")],
    approve: Annotated[bool | None, typer.Option("--approve/--reject")] = None,
    by: Annotated[str, typer.Option(help="Who moderates.")] = "cli",
    publish_now: Annotated[bool, typer.Option("--publish", help="Publish once approved.")]
    = False, now: NowOpt = None,
) -> None:
    """Approve or reject a testimonial (and publish it when approved and consented)."""
    from patronage.care.testimonials import moderate, publish
    from patronage.db.engine import transaction

    if approve is None:
        raise PatronageError("say --approve or --reject")
    moment = parse_now(now)
    with transaction(state(ctx).engine()) as session:
        row = moderate(session, testimonial, approve=approve, by=by, now=moment)
        if approve and publish_now:
            row = publish(session, testimonial, now=moment)
        console.print(f"testimonial {row.id}: {row.status}")


@templates_app.command("check")
def templates_check(directory: Annotated[Path | None, typer.Argument(
        help="A folder of templates (default: the shipped ones).")] = None) -> None:
    """Load every template: commercial content or unknown variables are refused."""
    from patronage.care.content import TemplateSet

    tset = TemplateSet(directory) if directory else TemplateSet()
    problems = tset.check_all()
    if problems:
        raise Problems(f"{len(problems)} template problem(s)", problems)
    console.print(f"{len(tset.names())} templates ok in {tset.directory}")
