"""The ``patronage`` command. Sub-commands live in one module per capability."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from patronage.cli.common import State, console, err_console, state
from patronage.errors import PatronageError

app = typer.Typer(
    name="patronage",
    help="Patronage: a customer-first back office for direct-selling companies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: Sub-command groups: (module under patronage.cli, attribute, name). Each module owns its commands;
#: several modules may add commands to one group (``care`` and ``care_delivery`` make ``care``).
GROUPS: list[tuple[str, str, str | None]] = [
    ("data", "app", None),
    ("demo", "app", None),
    ("commissions", "app", "commissions"),
    ("plans", "app", "plan"),
    ("autoship", "app", "autoship"),
    ("value", "app", "value"),
    ("care", "app", "care"),
    ("care_delivery", "app", "care"),
    ("serve", "app", None),
    ("api", "app", "api"),
    ("accounts", "app", "accounts"),
    ("members", "app", "members"),
    ("check", "app", None),
    ("markets", "app", "markets"),
    ("markets", "rates_app", "rates"),
]


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: "
                                           "PATRONAGE_DATABASE_URL or sqlite:///./patronage.db)")]
    = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    ctx.obj = State(database_url=db, debug=debug)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database schema."""
    st = state(ctx)
    st.engine()
    console.print(f"Database ready: {st.url()}")


def _register() -> None:
    named: dict[str, typer.Typer] = {}
    for module_name, attr, name in GROUPS:
        try:
            module = importlib.import_module(f"patronage.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"patronage.cli.{module_name}":
                continue
            raise
        sub = getattr(module, attr)
        target = app if name is None else named.get(name)
        if target is None:
            named[name or ""] = sub
            app.add_typer(sub, name=name)
            continue
        target.registered_commands.extend(sub.registered_commands)
        target.registered_groups.extend(sub.registered_groups)


_register()


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except PatronageError as exc:
        if debug:
            raise
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the one place that turns surprises into one clear line
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if debug:
            raise
        err_console.print(f"[red]error:[/red] {type(exc).__name__}: {exc} (run with --debug "
                          "for the traceback)", highlight=False, soft_wrap=True)
        sys.exit(1)
