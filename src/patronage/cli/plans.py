"""``patronage plan``: store a version of the company's plan, show the plan in force, history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from patronage.cli.common import (
    JsonOpt,
    NowOpt,
    ThisPeriodOpt,
    console,
    emit_json,
    parse_now,
    parse_period,
    state,
)
from patronage.clock import Period
from patronage.errors import Problems

if TYPE_CHECKING:
    from patronage.compensation.plan_versions import StoredPlan

app = typer.Typer(help="The company's compensation plan: set a version, show the plan in force, "
                       "history.", no_args_is_help=True)


def _summary(p: StoredPlan) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "version": p.version, "effective_from": p.effective_from,
            "content_hash": p.content_hash, "set_at": p.set_at, "set_by": p.set_by}


@app.command("set")
def set_(ctx: typer.Context,
         file: Annotated[Path, typer.Argument(help="The plan file (TOML).")],
         from_: Annotated[str, typer.Option("--from", help="First period it is in force, "
                                            "YYYY-MM.")],
         now: NowOpt = None,
         actor: Annotated[str, typer.Option(help="Who sets it.")] = "cli",
         as_json: JsonOpt = False) -> None:
    """Validate the plan file and store it as the plan in force from --from on (set at
    --now)."""
    from patronage.compensation.plan_versions import set_plan

    start = Period.parse(from_)
    if not file.is_file():
        raise Problems(f"{file}: no such plan file", [])
    text = file.read_text(encoding="utf-8")
    stored = set_plan(state(ctx).engine(), text, start, source=str(file), actor=actor,
                      now=parse_now(now))
    if as_json:
        emit_json(_summary(stored))
        return
    console.print(f"plan {stored.name!r} version {stored.version} stored (version "
                  f"{stored.id}); in force from {stored.effective_from}", highlight=False)


@app.command()
def show(ctx: typer.Context,
         period: ThisPeriodOpt = None, as_json: JsonOpt = False) -> None:
    """The plan in force for a period: its version, when it took effect, and its text."""
    from patronage.compensation.plan_versions import no_plan, plan_in_force

    when = parse_period(ctx, period)
    stored = plan_in_force(state(ctx).engine(), when)
    if stored is None:
        raise no_plan(state(ctx).engine(), when)
    if as_json:
        emit_json({"period": str(when), **_summary(stored), "text": stored.text})
        return
    console.print(f"{when}: plan {stored.name!r} version {stored.version} (stored version "
                  f"{stored.id}), in force from {stored.effective_from}; set by "
                  f"{stored.set_by} at {stored.set_at.isoformat()}; sha256 "
                  f"{stored.content_hash}", highlight=False, soft_wrap=True)
    typer.echo(stored.text)


@app.command()
def history(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every stored version of the plan, oldest first, with the periods it is in force."""
    from rich.table import Table

    from patronage.compensation.plan_versions import NO_PLAN, plan_history

    entries = plan_history(state(ctx).engine())
    if as_json:
        emit_json([{**_summary(e.plan), "until": e.until} for e in entries])
        return
    if not entries:
        console.print(NO_PLAN, highlight=False)
        return
    table = Table(title="Plan versions")
    for col in ("stored", "name", "version", "in force", "set by", "set at", "sha256"):
        table.add_column(col)
    for e in entries:
        p = e.plan
        span = ("never (replaced from its start)" if e.never_in_force else
                f"{p.effective_from} – {e.until} (excl.)" if e.until else
                f"{p.effective_from} on")
        table.add_row(str(p.id), p.name, p.version, span, p.set_by, p.set_at.isoformat(),
                      p.content_hash[:12])
    console.print(table)
