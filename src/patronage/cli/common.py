"""What every command shares: the store, the options ``--json``, ``--now`` and ``--period``,
JSON output, clear one-line errors.

The ``patronage`` command starts fast because nothing here, and nothing at the top of a command
module, imports the database, the web framework or the numerical libraries: each command
imports the services it calls inside its function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

    from patronage.clock import Period
    from patronage.config import Settings



class _Console:
    """A :class:`rich.console.Console` made on first use (``--help`` never loads rich)."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def print(self, *objects: Any, **options: Any) -> None:
        self.get().print(*objects, **options)

    def status(self, status: str) -> Any:
        return self.get().status(status)


#: Standard output and standard error, through rich.
console = _Console(stderr=False)
err_console = _Console(stderr=True)

#: ``--json``: print the result as JSON instead of text.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
#: ``--now``: the time it is for the command (ISO 8601 with a zone); default: the clock.
NowOpt = Annotated[str | None, typer.Option(
    "--now", help="The time it is (ISO 8601 with a zone, e.g. 2026-10-01T09:00:00+00:00); "
    "default: the clock.")]
#: ``--period``: a calendar month, required.
PeriodOpt = Annotated[str, typer.Option("--period", help="The month, YYYY-MM.")]
#: ``--period`` (or ``--week``) of a run: a month, or an ISO week when the plan pays bonuses by
#: the week.
RunPeriodOpt = Annotated[str, typer.Option(
    "--period", "--week", help="The month, YYYY-MM, or the ISO week, YYYY-Www (weekly bonuses).")]
#: ``--period``: a calendar month; default: the month it is now in the company's time zone.
ThisPeriodOpt = Annotated[str | None, typer.Option(
    "--period", help="The month, YYYY-MM (default: this month).")]


@dataclass
class State:
    """Options given before the command: ``--db`` and ``--debug``."""

    database_url: str | None = None
    debug: bool = False
    _engine: Engine | None = field(default=None, repr=False)
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """The settings (``PATRONAGE_*``), with ``--db`` as the database when given."""
        if self._settings is None:
            from patronage.config import Settings

            settings = Settings()
            if self.database_url:
                settings = settings.model_copy(update={"database_url": self.database_url})
            self._settings = settings
        return self._settings

    def url(self) -> str:
        return self.settings().database_url

    def engine(self, *, migrate: bool = True) -> Engine:
        """The store, brought to the newest schema on first use."""
        if self._engine is None:
            from patronage.db.engine import make_pooled_engine
            from patronage.db.schema import upgrade
            from patronage.markets.markets import ensure_configured_market

            self._engine = make_pooled_engine(self.url(), self.settings().pool_options())
            if migrate:
                upgrade(self._engine)
                s = self.settings()
                ensure_configured_market(self._engine, s.market, currency=s.currency,
                                         timezone=s.company_timezone)
        return self._engine

    def company_zone(self) -> str:
        """The name of the company's time zone (``PATRONAGE_COMPANY_TIMEZONE``)."""
        return self.settings().company_timezone


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    return obj


def parse_now(text: str | None, *, place: str = "--now") -> datetime:
    """An ISO 8601 instant with a time zone (``2026-10-01T09:00:00+00:00``); default: the clock."""
    from patronage.clock import SystemClock, require_aware

    if text is None:
        return SystemClock().now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint=place) from exc
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no time zone (add +00:00 or Z)", param_hint=place)
    return require_aware(moment)


def parse_period(ctx: typer.Context, text: str | None) -> Period:
    """The month ``text`` names (YYYY-MM), or the month it is now in the company's time zone."""
    from patronage.clock import Period, SystemClock, zone

    if text is not None:
        return Period.parse(text)
    return Period.containing(SystemClock().now(), zone(state(ctx).company_zone()))


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on standard output (dates as ISO text)."""
    typer.echo(json.dumps(data, default=str, indent=2, sort_keys=True))


def failed_exit(failed: int) -> None:
    """End a batch command with exit code 1 when items failed (the others were done)."""
    if failed:
        raise typer.Exit(1)
