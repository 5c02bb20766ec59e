"""``patronage api token``: make, list, rotate and revoke integration tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from patronage.cli.common import JsonOpt, console, emit_json, state
from patronage.clock import SystemClock
from patronage.scopes import SCOPES

if TYPE_CHECKING:
    from patronage.api.tokens import TokenView

app = typer.Typer(help="The REST API: integration tokens.", no_args_is_help=True)
token_app = typer.Typer(help="Integration tokens: scoped, shown once, stored hashed, revocable.",
                        no_args_is_help=True)
app.add_typer(token_app, name="token")

ACTOR = "cli"
#: The days a new token lasts (:data:`patronage.api.tokens.DEFAULT_LIFETIME`, written here so
#: that ``--help`` does not load the API).
DEFAULT_DAYS = 90


@token_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="The integration it is for.")],
    scope: Annotated[list[str], typer.Option("--scope", help=f"Repeat for each scope: "
                                             f"{', '.join(SCOPES)}.")],
    expires_days: Annotated[int, typer.Option("--expires-days", help="Days until it expires "
                                              "(1 to 365).")] = DEFAULT_DAYS,
    as_json: JsonOpt = False,
) -> None:
    """Make a token. It is printed once and cannot be shown again."""
    from patronage import audit
    from patronage.api.tokens import create_token
    from patronage.db.engine import transaction

    now = SystemClock().now()
    with transaction(state(ctx).engine()) as s:
        view, token = create_token(s, name=name, scopes=scope, now=now, created_by=ACTOR,
                                   expires_in=timedelta(days=expires_days))
        audit.record(s, actor=ACTOR, action="api_token.create", target=f"token {view.id}",
                     detail=f"{view.name}: {' '.join(view.scopes)}", at=now)
    _show_new(view, token, as_json)


def _show_new(view: TokenView, token: str, as_json: bool) -> None:
    if as_json:
        emit_json({"id": view.id, "name": view.name, "scopes": list(view.scopes),
                   "expires_at": view.expires_at, "replaces_id": view.replaces_id,
                   "token": token})
        return
    console.print(f"token {view.id} ({view.name}), scopes: {' '.join(view.scopes)}, "
                  f"expires {view.expires_at:%Y-%m-%d %H:%M} UTC")
    console.print("Keep it now; it will not be shown again:")
    typer.echo(token)


@token_app.command("rotate")
def rotate(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(help="The token to replace.")],
    grace_minutes: Annotated[int, typer.Option("--grace-minutes", help="Minutes the old token "
                                               "keeps working (0 to 1440).")] = 0,
    expires_days: Annotated[int, typer.Option("--expires-days", help="Days until the new one "
                                              "expires (1 to 365).")] = DEFAULT_DAYS,
    as_json: JsonOpt = False,
) -> None:
    """Replace a token by a new one with the same name and scopes; the old one ends at once
    or after --grace-minutes."""
    from patronage import audit
    from patronage.api.tokens import rotate_token
    from patronage.db.engine import transaction

    now = SystemClock().now()
    with transaction(state(ctx).engine()) as s:
        view, token = rotate_token(s, token_id, now=now, created_by=ACTOR,
                                   grace=timedelta(minutes=grace_minutes),
                                   expires_in=timedelta(days=expires_days))
        audit.record(s, actor=ACTOR, action="api_token.rotate", target=f"token {token_id}",
                     detail=f"replaced by token {view.id}, grace {grace_minutes} min", at=now)
    _show_new(view, token, as_json)


@token_app.command("list")
def list_(ctx: typer.Context,
          as_json: JsonOpt = False) -> None:
    """The tokens (never their secrets): scopes, when made, last used and expiring, revoked or
    not."""
    from rich.table import Table

    from patronage.api.tokens import list_tokens
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as s:
        views = list_tokens(s)
    if as_json:
        emit_json([{"id": v.id, "name": v.name, "prefix": v.prefix, "scopes": list(v.scopes),
                    "created_at": v.created_at, "last_used_at": v.last_used_at,
                    "expires_at": v.expires_at, "revoked_at": v.revoked_at,
                    "replaces_id": v.replaces_id} for v in views])
        return
    table = Table(title="API tokens")
    for column in ("id", "name", "prefix", "scopes", "created", "last used", "expires",
                   "revoked"):
        table.add_column(column)
    for v in views:
        table.add_row(str(v.id), v.name, v.prefix, " ".join(v.scopes),
                      f"{v.created_at:%Y-%m-%d %H:%M}",
                      f"{v.last_used_at:%Y-%m-%d %H:%M}" if v.last_used_at else "",
                      f"{v.expires_at:%Y-%m-%d %H:%M}",
                      f"{v.revoked_at:%Y-%m-%d %H:%M}" if v.revoked_at else "")
    console.print(table)


@token_app.command("revoke")
def revoke(ctx: typer.Context, token_id: Annotated[int, typer.Argument(help="Token id.")]) -> None:
    """Revoke a token: refused from this moment on."""
    from patronage import audit
    from patronage.api.tokens import revoke_token
    from patronage.db.engine import transaction

    now = SystemClock().now()
    with transaction(state(ctx).engine()) as s:
        view = revoke_token(s, token_id, now=now)
        audit.record(s, actor=ACTOR, action="api_token.revoke", target=f"token {view.id}",
                     detail=view.name, at=now)
    console.print(f"token {view.id} ({view.name}) revoked")
