"""What every command shares: the store, JSON output, clear one-line errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from sqlalchemy import Engine

from patronage.config import get_settings
from patronage.db.engine import make_engine
from patronage.db.schema import upgrade

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    """Options given before the command: ``--db`` and ``--debug``."""

    database_url: str | None = None
    debug: bool = False
    _engine: Engine | None = field(default=None, repr=False)

    def url(self) -> str:
        return self.database_url or get_settings().database_url

    def engine(self, *, migrate: bool = True) -> Engine:
        """The store, brought to the newest schema on first use."""
        if self._engine is None:
            self._engine = make_engine(self.url())
            if migrate:
                upgrade(self._engine)
        return self._engine


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


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on standard output (dates as ISO text)."""
    typer.echo(json.dumps(data, default=str, indent=2, sort_keys=True))


def failed_exit(failed: int) -> None:
    """End a batch command with exit code 1 when items failed (the others were done)."""
    if failed:
        raise typer.Exit(1)
