"""``patronage import`` and ``patronage export``: CSV in and out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, err_console, parse_now, state
from patronage.errors import PatronageError, Problems

app = typer.Typer()


@app.command("import")
def import_(
    ctx: typer.Context,
    what: Annotated[str, typer.Argument(help="members, products or orders")],
    file: Annotated[Path, typer.Argument(help="The CSV file (UTF-8, header row).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only validate; write nothing.")]
    = False,
    as_json: JsonOpt = False,
    now: NowOpt = None,
) -> None:
    """Import a CSV file, all or nothing: any bad row and nothing is written (orders may not be
    dated after --now)."""
    from patronage.orders.csv_import import IMPORTERS

    if what not in IMPORTERS:
        raise PatronageError(f"import: {what!r} is not one of {', '.join(IMPORTERS)}")
    if not file.is_file():
        raise PatronageError(f"{file}: no such file")
    try:
        # Orders are dated in the open period, whose months are the company's.
        zone = {"company_zone": state(ctx).company_zone()} if what in ("orders", "members") else {}
        report = IMPORTERS[what](state(ctx).engine(), file, dry_run=dry_run,
                                 now=parse_now(now), **zone)
    except Problems as exc:
        if as_json:
            emit_json({"ok": False, "problems": [
                {"place": p.place, "reason": p.reason} for p in exc.problems]})
        else:
            err_console.print(f"[red]error:[/red] {file}: {len(exc.problems)} problem(s); "
                              "nothing was imported", highlight=False)
            for p in exc.problems:
                err_console.print(f"  {file}: {p.place}: {p.reason}", highlight=False,
                                  soft_wrap=True)
        raise typer.Exit(1) from exc
    if as_json:
        emit_json({"ok": True, **report.__dict__})
    else:
        verb = "would import" if dry_run else "imported"
        there = f", {report.already} already there" if report.already else ""
        console.print(f"{file}: {report.rows} row(s) valid; {verb} {report.written} new {what} "
                      f"record(s){there}")


@app.command("export")
def export(
    ctx: typer.Context,
    what: Annotated[str, typer.Argument(help="members, orders or genealogy")],
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")]
    = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Genealogy as of this ISO time.")]
    = None,
) -> None:
    """Export members, orders or the genealogy as CSV."""
    from patronage.orders.csv_export import export_genealogy, export_members, export_orders

    engine = state(ctx).engine()
    stream = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    try:
        if what == "members":
            count = export_members(engine, stream)
        elif what == "orders":
            count = export_orders(engine, stream)
        elif what == "genealogy":
            count = export_genealogy(engine, stream, parse_now(as_of, place="--as-of"))
        else:
            raise PatronageError(f"export: {what!r} is not one of members, orders, genealogy")
    finally:
        if out:
            stream.close()
    if out:
        console.print(f"{out}: {count} row(s)")
