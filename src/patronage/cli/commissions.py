"""``patronage commissions``: preview, commit, explain, rank card, plan comparison."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patronage.cli.common import (
    JsonOpt,
    NowOpt,
    PeriodOpt,
    RunPeriodOpt,
    ThisPeriodOpt,
    console,
    emit_json,
    parse_now,
    parse_period,
    state,
)
from patronage.clock import Period, parse_any_period
from patronage.fastpath.allocator import reused_memory
from patronage.money import format_amount

if TYPE_CHECKING:
    from patronage.compensation.runs import PlanSource

app = typer.Typer(help="Commission runs: preview, commit, explain, rank card, compare plans.",
                  no_args_is_help=True)

PlanOpt = Annotated[Path | None, typer.Option("--plan", help="Plan file (TOML) for a what-if; "
                                              "default: the stored plan in force for the "
                                              "period (patronage plan show).")]


@app.callback()
def _batch(ctx: typer.Context) -> None:
    # A batch command: its runs reuse freed arrays until the command ends (the server's runs
    # leave the allocator alone, see patronage.fastpath.allocator).
    ctx.with_resource(reused_memory())


def _plan(path: Path | None) -> PlanSource | None:
    from patronage.compensation.runs import PlanSource

    return PlanSource.from_file(path) if path is not None else None


@app.command()
def run(ctx: typer.Context, period: RunPeriodOpt, plan: PlanOpt = None,
        as_json: JsonOpt = False) -> None:
    """Preview the period: nothing is written. A committed period shows its locked run."""
    from rich.table import Table

    from patronage.cli.locked import show_locked_run
    from patronage.compensation.runs import preview_period

    engine, when = state(ctx).engine(), parse_any_period(period)
    if show_locked_run(engine, when, plan, as_json=as_json):
        return
    result = preview_period(engine, when, _plan(plan), company_zone=state(ctx).company_zone())
    r = result.result
    totals = result.totals_by_bonus()
    if as_json:
        emit_json({"period": period, "plan_version": r.plan_version, "total_cv": r.total_cv,
                   "total_paid": result.total_paid, "by_bonus": totals,
                   "payout_lines": r.payouts.size, "clawbacks": len(result.clawbacks),
                   "skips": r.skips.size, "cap_applied": r.cap_applied,
                   "active_distributors": int(r.active.sum())})
        return
    table = Table(title=f"Commissions {period} (preview, plan {r.plan_version})")
    table.add_column("bonus")
    table.add_column("paid", justify="right")
    for bonus, amount in totals.items():
        table.add_row(bonus.replace("_", " "), format_amount(amount))
    table.add_row("[b]total[/b]", f"[b]{format_amount(result.total_paid)}[/b]")
    console.print(table)
    share = result.total_paid / r.total_cv if r.total_cv else 0.0
    console.print(f"CV {format_amount(r.total_cv)}; paid {share:.1%} of CV; "
                  f"{r.payouts.size:,} payout lines, {len(result.clawbacks)} clawbacks, "
                  f"{r.skips.size:,} payments passed over or lapsed (see explain); "
                  f"global cap {'applied' if r.cap_applied else 'not reached'}")


@app.command()
def commit(ctx: typer.Context, period: RunPeriodOpt, plan: PlanOpt = None,
           now: NowOpt = None,
           actor: Annotated[str, typer.Option(help="Who commits.")] = "cli",
           as_json: JsonOpt = False) -> None:
    """Lock the period with a snapshot of its facts, the plan in force and the results
    (committed at --now)."""
    from patronage.cli.locked import refuse_commit_plan_file
    from patronage.compensation.runs import commit_period, rerun_committed

    engine = state(ctx).engine()
    moment = parse_now(now)
    when = parse_any_period(period)
    refuse_commit_plan_file(plan, when)
    run_id = commit_period(engine, when, None, now=moment, actor=actor,
                           company_zone=state(ctx).company_zone())
    same, _ = rerun_committed(engine, when)
    if as_json:
        emit_json({"period": period, "run_id": run_id, "reproduces": same})
    else:
        console.print(f"period {period} committed (run {run_id}); re-running the snapshot "
                      f"{'reproduces every line' if same else 'DIFFERS'}")


@app.command()
def explain(ctx: typer.Context, member: Annotated[int, typer.Option(help="Member id.")],
            period: PeriodOpt, plan: PlanOpt = None, as_json: JsonOpt = False) -> None:
    """Every payment to a member, and every payment that passed them over, in words."""
    from patronage.compensation.reports import explain_member

    lines = explain_member(state(ctx).engine(), member, parse_any_period(period), _plan(plan),
                           company_zone=state(ctx).company_zone())
    if as_json:
        emit_json(lines)
    else:
        for line in lines:
            console.print(line, highlight=False)


@app.command()
def card(ctx: typer.Context, member: Annotated[int, typer.Option(help="Member id.")],
         period: ThisPeriodOpt = None, plan: PlanOpt = None, as_json: JsonOpt = False) -> None:
    """The rank report card: each requirement of the next rank, met or how far off."""
    from patronage.compensation.reports import rank_card

    when = parse_period(ctx, period)
    current, target, reqs = rank_card(state(ctx).engine(), member, when, _plan(plan),
                                      company_zone=state(ctx).company_zone())
    if as_json:
        emit_json({"paid_as": current, "next_rank": target, "requirements": [
            {"name": r.name, "needed": r.needed, "actual": r.actual, "met": r.met,
             "unit": r.unit} for r in reqs]})
        return
    console.print(f"paid as {current}; next rank: {target or '(highest rank reached)'}")
    for r in reqs:
        fmt = format_amount if r.unit == "points" else str
        mark = "[green]met[/green]" if r.met else f"[yellow]{fmt(r.gap())} to go[/yellow]"
        console.print(f"  {r.name}: {fmt(r.actual)} of {fmt(r.needed)} — {mark}")


@app.command()
def compare(ctx: typer.Context,
            plans: Annotated[list[Path], typer.Option("--plan", help="Two plan files; with "
                                                      "--periods, the proposed plan.")],
            period: Annotated[str | None, typer.Option(
                "--period", help="The month, YYYY-MM (two plans).")] = None,
            periods: Annotated[int | None, typer.Option(
                min=1, max=36, help="What-if over the last N committed months: the proposed "
                "plan against the plans they were committed with.")] = None,
            as_json: JsonOpt = False) -> None:
    """Two plans over the same period: differences by bonus and by rank, share of CV; or, with
    --periods, a proposed plan over the last committed months, its carry chained month to month:
    by month, by rank, and the income disclosure before and after."""
    from rich.table import Table

    from patronage.compensation.reports import compare_plans
    from patronage.compensation.runs import PlanSource

    if periods is not None:
        from patronage.cli.simulate import print_replay
        from patronage.simulator.replay import replay_plan

        if len(plans) != 1 or period is not None:
            raise typer.BadParameter("with --periods give one --plan (the proposed one) and "
                                     "no --period", param_hint="--plan")
        print_replay(replay_plan(state(ctx).engine(), PlanSource.from_file(plans[0]), periods),
                     as_json=as_json)
        return
    if len(plans) != 2:
        raise typer.BadParameter("give exactly two --plan files", param_hint="--plan")
    if period is None:
        raise typer.BadParameter("give the month to compare (or --periods N)",
                                 param_hint="--period")
    a, b = compare_plans(state(ctx).engine(), Period.parse(period),
                         PlanSource.from_file(plans[0]), PlanSource.from_file(plans[1]),
                         company_zone=state(ctx).company_zone())
    if as_json:
        emit_json({"a": a.__dict__, "b": b.__dict__})
        return
    table = Table(title=f"{period}: plan {a.version} vs plan {b.version}")
    for col in ("", a.version, b.version, "difference"):
        table.add_column(col, justify="right" if col else "left")
    for bonus in sorted(set(a.by_bonus) | set(b.by_bonus)):
        x, y = a.by_bonus.get(bonus, 0), b.by_bonus.get(bonus, 0)
        table.add_row(bonus, format_amount(x), format_amount(y), format_amount(y - x))
    for rank in a.by_rank:
        (na, pa), (nb, pb) = a.by_rank[rank], b.by_rank.get(rank, (0, 0))
        table.add_row(f"rank {rank} ({na} vs {nb})", format_amount(pa), format_amount(pb),
                      format_amount(pb - pa))
    table.add_row("total", format_amount(a.total_paid), format_amount(b.total_paid),
                  format_amount(b.total_paid - a.total_paid))
    table.add_row("share of CV", f"{a.share_of_cv:.1%}", f"{b.share_of_cv:.1%}", "")
    console.print(table)
