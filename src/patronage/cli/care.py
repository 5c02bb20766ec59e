"""``patronage care``: the rules, the daily tick, what a member would get, the holdout."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patronage.cli.care_playbooks import app as playbook_app
from patronage.cli.care_playbooks import gift_app
from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, failed_exit, parse_now, state

if TYPE_CHECKING:
    from patronage.care.core.rules import Rules

app = typer.Typer(help="Care: automated appreciation (rules, planner, delivery).",
                  no_args_is_help=True)
rules_app = typer.Typer(help="The care rules file.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(playbook_app, name="playbook")
app.add_typer(gift_app, name="gifts")

RulesFile = Annotated[Path | None, typer.Option("--rules", help="Rules file (TOML; default: "
                                                "the shipped rules).")]


def _rules(path: Path | None) -> Rules:
    from patronage.care.core.rules import load_rules

    return load_rules(path)


@app.command("tick")
def tick_command(ctx: typer.Context, now: NowOpt = None, rules: RulesFile = None,
                 as_json: JsonOpt = False) -> None:
    """Plan the touches due from now to a day ahead (idempotent: tick again, nothing doubles)."""
    from patronage.care.tick import tick

    summary = tick(state(ctx).engine(), parse_now(now), _rules(rules),
                   company_zone=state(ctx).company_zone())
    if as_json:
        emit_json(summary.as_dict())
        failed_exit(len(summary.failed))
        return
    dropped = ", ".join(f"{k} {v:,}" for k, v in summary.dropped.items()) or "none"
    console.print(f"care tick at {summary.now.isoformat()}: {summary.members:,} members; "
                  f"{summary.planned:,} touches planned; dropped: {dropped}; "
                  f"{summary.already:,} already planned; {summary.written:,} rows written")
    if summary.zone_fallbacks:
        console.print(f"{summary.zone_fallbacks:,} members have a time zone that is not a known "
                      "zone name: planned in the company's zone (settings.company_timezone)")
    if summary.failed:
        console.print(f"{len(summary.failed):,} member{'s' if len(summary.failed) != 1 else ''} "
                      "failed (left out of this tick, everyone else planned):")
        for member_id, reason in summary.failed.items():
            console.print(f"  member {member_id}: {reason}", highlight=False)
    failed_exit(len(summary.failed))


@rules_app.command("check")
def rules_check(path: Annotated[Path, typer.Argument(help="The rules file.")]) -> None:
    """Validate a rules file: every problem at once, or a summary of the rules."""
    from rich.table import Table

    from patronage.care.core.rules import load_rules

    rules = load_rules(path)
    s = rules.settings
    console.print(f"{path}: {len(rules.active)} rules, {len(rules.holidays)} holidays; "
                  f"send at {s.send_time:%H:%M}, quiet {s.quiet_start:%H:%M}-"
                  f"{s.quiet_end:%H:%M}, holdout {s.holdout_share:.0%}")
    table = Table("rule", "occasion", "channel", "template", "priority", "audience")
    for r in rules.active:
        table.add_row(r.key, r.occasion, r.channel, r.template, str(r.priority), r.audience)
    console.print(table)


@app.command("plan")
def plan_command(ctx: typer.Context, member: Annotated[int, typer.Option("--member")],
                 now: NowOpt = None, rules: RulesFile = None, as_json: JsonOpt = False) -> None:
    """What a tick now would plan for one member, rule by rule, and why not (writes nothing)."""
    from rich.table import Table

    from patronage.care.tick import explain_member

    result = explain_member(state(ctx).engine(), member, parse_now(now), _rules(rules),
                            company_zone=state(ctx).company_zone())
    if as_json:
        emit_json({"member_id": result.member_id, "rules": result.lines})
        return
    table = Table("rule", "occasion", "channel", "outcome", "key", "due (UTC)")
    for line in result.lines:
        table.add_row(line["rule"], line["occasion"], line["channel"], line["outcome"],
                      line.get("occasion_key", ""), line.get("due_at", ""))
    console.print(table)


@app.command("holdout")
def holdout_command(ctx: typer.Context, now: NowOpt = None, rules: RulesFile = None,
                    window: Annotated[int, typer.Option(help="Retention window in days.")] = 90,
                    as_json: JsonOpt = False) -> None:
    """Customers in the holdout (no automated touches) against the treated: retention, lift."""
    from rich.table import Table

    from patronage.care.holdout import holdout_report

    report = holdout_report(state(ctx).engine(), parse_now(now), _rules(rules),
                            window_days=window)
    if as_json:
        emit_json(report.as_dict())
        return
    table = Table("group", "customers", "retained", "retention", "touches made")
    for name, g in (("treated", report.treated), ("holdout", report.holdout)):
        table.add_row(name, f"{g.members:,}", f"{g.retained:,}", f"{g.retention:.1%}",
                      f"{g.touches:,}")
    console.print(table)
    console.print(f"lift: {report.lift * 100:+.1f} points of retention (z = {report.z:.2f}; "
                  f"holdout share {report.share:.0%}, window {report.window_days} days)")
    lines = [("all", report.overall)] if report.overall else []
    detail = Table("customers", "treated", "holdout", "lift (points, 95% interval)", "p",
                   "spend difference (95% interval)")
    for name, m in [*lines, *report.cohorts, *report.rules]:
        detail.add_row(name, f"{m.treated:,}", f"{m.holdout:,}",
                       f"{m.lift.estimate * 100:+.1f} [{m.lift.low * 100:+.1f}, "
                       f"{m.lift.high * 100:+.1f}]", f"{m.p_value:.3f}",
                       f"{m.spend.estimate / 100:+.2f} [{m.spend.low / 100:+.2f}, "
                       f"{m.spend.high / 100:+.2f}]")
    console.print(detail)
