"""``patronage demo`` and ``patronage generate``: synthetic companies."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patronage.cli.check import print_report
from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from patronage.config import Settings
    from patronage.demo.company import CompanySummary

app = typer.Typer()


def _print(summary: CompanySummary, title: str, seconds: float) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in summary.rows():
        table.add_row(label, value)
    console.print(table)
    console.print(f"built in {seconds:.1f} s")


def _outbox_dir(settings: Settings, engine: Engine) -> Path | None:
    """Where the demo writes the texts and cards it would send: ``PATRONAGE_CARE_OUTBOX_DIR``,
    else ``care-outbox`` beside a SQLite database (none for another database)."""
    if settings.care_outbox_dir:
        return Path(settings.care_outbox_dir)
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
        return Path(database).resolve().parent / "care-outbox"
    return None


@app.command()
def demo(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed builds the same company.")]
    = 7,
    members: Annotated[int, typer.Option(help="How many members.")] = 5000,
    months: Annotated[int, typer.Option(help="Months of history up to --now.")] = 18,
    now: NowOpt = None,
    reset: Annotated[bool, typer.Option(help="Empty the database first.")] = False,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build only; do not serve.")]
    = False,
    as_json: JsonOpt = False,
) -> None:
    """Build a realistic demo company (members, tree, customers, orders, refunds, consents)
    with its history up to --now."""
    from patronage.demo.build import PayoutSettings, build_demo
    from patronage.demo.reset import reset_database
    from patronage.integrity import check_integrity

    st = state(ctx)
    engine = st.engine()
    if reset:
        reset_database(engine)
    started = time.perf_counter()
    moment = parse_now(now)
    settings = st.settings()
    summary = build_demo(engine, seed=seed, members=members, months=months, now=moment,
                         company_zone=st.company_zone(), payouts=PayoutSettings(
                             settings.payout_vault(), settings.company_name,
                             settings.mail_from, settings.payout_cooling_days,
                             settings.payout_originator()),
                         settings=settings, outbox_dir=_outbox_dir(settings, engine))
    elapsed = time.perf_counter() - started
    # The demo ends with the integrity check: a demo company with a problem is not served.
    report = check_integrity(engine, moment, company_zone=st.company_zone())
    if as_json:
        data = {k: v for k, v in summary.__dict__.items() if k != "autoship_candidates"}
        data["check"] = report.as_dict()
        emit_json(data)
    else:
        _print(summary, f"Demo company in {st.url()}", elapsed)
        print_report(report)
    if not report.ok:
        raise typer.Exit(1)
    if not no_serve:
        from patronage.demo.build import serve_demo

        serve_demo(engine, settings=st.settings())


@app.command()
def generate(
    ctx: typer.Context,
    members: Annotated[int, typer.Option(help="How many members.")] = 100_000,
    months: Annotated[int, typer.Option(help="Months of orders (about one per member each).")]
    = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    now: NowOpt = None,
    reset: Annotated[bool, typer.Option(help="Empty the database first.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Generate a large company for benchmarks, vectorised and written in bulk (orders up to
    --now)."""
    from patronage.demo.company import build_company
    from patronage.demo.reset import reset_database

    st = state(ctx)
    engine = st.engine()
    if reset:
        reset_database(engine)
    started = time.perf_counter()
    with console.status(f"generating {members:,} members and {months} month(s) of orders"):
        summary = build_company(engine, seed=seed, members=members, months=months,
                                now=parse_now(now), history=False, personal=False)
    elapsed = time.perf_counter() - started
    if as_json:
        data = {k: v for k, v in summary.__dict__.items() if k != "autoship_candidates"}
        data["seconds"] = round(elapsed, 2)
        emit_json(data)
    else:
        _print(summary, f"Generated company in {st.url()}", elapsed)
