"""The ``patronage`` command. Sub-commands live in one module per capability."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from patronage import __version__
from patronage.cli import (
    accounts,
    api,
    autoship,
    care,
    care_delivery,
    check,
    commissions,
    compliance,
    credit,
    data,
    demo,
    markets,
    members,
    operations,
    payout_methods,
    payouts,
    plans,
    serve,
    simulate,
    value,
)
from patronage.cli.common import State, console, err_console, state
from patronage.errors import PatronageError

app = typer.Typer(
    name="patronage",
    help="Patronage: a customer-first back office for direct-selling companies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help: the rich help panels would load rich's markdown and syntax highlighting
    # (a tenth of a second) before every --help.
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"patronage {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: "
                                           "PATRONAGE_DATABASE_URL or sqlite:///./patronage.db)")]
    = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = State(database_url=db, debug=debug)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database schema."""
    st = state(ctx)
    st.engine()
    console.print(f"Database ready: {st.url()}")


def _merge(target: typer.Typer, other: typer.Typer) -> None:
    """Add the commands and groups of ``other`` to ``target`` (one group from two modules)."""
    target.registered_commands.extend(other.registered_commands)
    target.registered_groups.extend(other.registered_groups)


# Top-level commands.
for module_app in (data.app, demo.app, serve.app, check.app, simulate.app, operations.app):
    _merge(app, module_app)
# Groups: ``care`` is made of two modules (planning and delivery).
_merge(care.app, care_delivery.app)
app.add_typer(commissions.app, name="commissions")
app.add_typer(plans.app, name="plan")
app.add_typer(autoship.app, name="autoship")
app.add_typer(value.app, name="value")
app.add_typer(care.app, name="care")
app.add_typer(api.app, name="api")
app.add_typer(accounts.app, name="accounts")
app.add_typer(members.app, name="members")
app.add_typer(markets.app, name="markets")
app.add_typer(markets.rates_app, name="rates")
app.add_typer(compliance.app, name="compliance")
app.add_typer(payouts.app, name="payouts")
app.add_typer(credit.app, name="credit")
app.add_typer(payout_methods.app, name="payout-methods")
app.add_typer(payout_methods.tax_app, name="tax")


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
