"""``patronage accounts``: sign-ins for the web back office (create, list, set a password,
end sessions, disable)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from patronage.cli.common import JsonOpt, console, emit_json, state
from patronage.clock import SystemClock
from patronage.errors import PatronageError

app = typer.Typer(help="Sign-ins for the web back office: staff, distributors, customers.",
                  no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise PatronageError("--password-stdin: no password on standard input")
        return line
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@app.command()
def create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="The sign-in email.")],
    role: Annotated[str, typer.Option(help="staff, distributor or customer.")],
    member: Annotated[int | None, typer.Option(help="The member (distributors and customers).")]
    = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="Read the password from standard input "
                                                 "instead of prompting.")] = False,
) -> None:
    """Create a sign-in. The password is asked for (or read with --password-stdin)."""
    from patronage.db.engine import transaction
    from patronage.web.accounts import create_account

    password = _password(password_stdin)
    with transaction(state(ctx).engine()) as session:
        account = create_account(session, email=email, password=password, role=role,
                                 member_id=member, now=SystemClock().now(), actor="cli")
    console.print(f"Account {account.id} created: {account.email} ({account.role}"
                  + (f", member {account.member_id}" if account.member_id else "") + ")")


@app.command("list")
def list_(ctx: typer.Context,
          as_json: JsonOpt = False) -> None:
    """Every account (never the password)."""
    from rich.table import Table

    from patronage.db.engine import transaction
    from patronage.web.accounts import list_accounts

    with transaction(state(ctx).engine()) as session:
        accounts = list_accounts(session)
    if as_json:
        emit_json([{"id": a.id, "email": a.email, "role": a.role, "member_id": a.member_id,
                    "created_at": a.created_at, "disabled_at": a.disabled_at}
                   for a in accounts])
        return
    table = Table(title="Accounts")
    for column in ("id", "email", "role", "member", "created", "disabled"):
        table.add_column(column)
    for a in accounts:
        table.add_row(str(a.id), a.email, a.role, str(a.member_id or ""),
                      a.created_at.date().isoformat(),
                      a.disabled_at.date().isoformat() if a.disabled_at else "")
    console.print(table)


@app.command()
def password(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The account's email.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="Read the password from standard input "
                                                 "instead of prompting.")] = False,
) -> None:
    """Set a new password for an account (the password rules apply); every session of the
    account ends."""
    from patronage.db.engine import transaction
    from patronage.web.accounts import set_password

    new = _password(password_stdin)
    with transaction(state(ctx).engine()) as session:
        account = set_password(session, email, new=new, now=SystemClock().now(), actor="cli")
    console.print(f"Password of {account.email} set; its sessions have ended.")


@app.command()
def disable(ctx: typer.Context,
            email: Annotated[str, typer.Argument(help="The account's email.")]) -> None:
    """Disable an account: it can no longer sign in and its sessions end at once."""
    from patronage.db.engine import transaction
    from patronage.web.accounts import disable_account

    with transaction(state(ctx).engine()) as session:
        account = disable_account(session, email, now=SystemClock().now(), actor="cli")
    console.print(f"Account {account.email} disabled.")


@app.command("end-sessions")
def end_sessions(ctx: typer.Context,
                 email: Annotated[str, typer.Argument(help="The account's email.")]) -> None:
    """Sign the account out everywhere: every session it has ends at once (it can sign in
    again with its password)."""
    from patronage.db.engine import transaction
    from patronage.signin.sessions import end_sessions_for

    with transaction(state(ctx).engine()) as session:
        ended = end_sessions_for(session, email, now=SystemClock().now(), actor="cli")
    console.print(f"{ended} session(s) of {email.strip().lower()} ended.")
