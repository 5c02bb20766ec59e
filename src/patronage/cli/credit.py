"""``patronage credit``: the product credit ledger's daily expiry."""

from __future__ import annotations

from typing import Annotated

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state

app = typer.Typer(help="Product credit: expiry.", no_args_is_help=True)


@app.command()
def expire(ctx: typer.Context, now: NowOpt = None,
           days: Annotated[int | None, typer.Option(
               help="Days credit stays to be spent (default: the credit_expiry_days "
                    "setting).")] = None,
           as_json: JsonOpt = False) -> None:
    """Expire product credit unspent after the company's number of days; run daily (again the
    same day: nothing more expires)."""
    from patronage.credit.expiry import expire_credit

    settings = state(ctx).settings()
    chosen = settings.credit_expiry_days if days is None else days
    total = expire_credit(state(ctx).engine(), parse_now(now), chosen)
    if as_json:
        emit_json({"expired": total, "days": chosen})
        return
    console.print(f"credit expired: {total} (minor units, unspent after {chosen} days)")
