"""``patronage markets`` and ``patronage rates``: the markets a company sells in, prices per
market and exchange rates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state

app = typer.Typer(help="Markets: countries, currencies, languages, prices per market.",
                  no_args_is_help=True)
rates_app = typer.Typer(help="Exchange rates into the company currency.", no_args_is_help=True)


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every market with its currency, languages and rules."""
    from rich.table import Table

    from patronage.db.engine import transaction
    from patronage.markets.markets import (
        languages,
        list_markets,
        shipping_countries,
    )

    with transaction(state(ctx).engine()) as s:
        rows = [{"code": m.code, "name": m.name, "currency": m.currency,
                 "languages": languages(m), "timezone": m.timezone,
                 "tax_inclusive": m.tax_inclusive, "shipping_countries": shipping_countries(m),
                 "autoship_last_day": m.autoship_last_day,
                 "cooling_off_days": m.cooling_off_days} for m in list_markets(s)]
    if as_json:
        emit_json(rows)
        return
    table = Table("code", "name", "currency", "languages", "time zone", "prices",
                  "ships to", "autoship by", "cooling-off")
    for r in rows:
        table.add_row(str(r["code"]), str(r["name"]), str(r["currency"]),
                      ", ".join(r["languages"]), str(r["timezone"]),  # type: ignore[arg-type]
                      "tax included" if r["tax_inclusive"] else "plus tax",
                      ", ".join(r["shipping_countries"]),  # type: ignore[arg-type]
                      str(r["autoship_last_day"] or "any day"), f"{r['cooling_off_days']} days")
    console.print(table)


@app.command("add")
def add_command(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Market code, e.g. MX.")],
    name: Annotated[str, typer.Option(help="Market name, e.g. Mexico.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 currency, e.g. MXN.")],
    languages_: Annotated[str, typer.Option("--languages", help="Locales, comma separated.")]
    = "en-US",
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    tax_inclusive: Annotated[bool, typer.Option(help="Prices include tax.")] = False,
    ships_to: Annotated[str, typer.Option(help="Shipping countries, comma separated.")] = "",
    autoship_last_day: Annotated[int | None, typer.Option(
        help="Latest day of month an autoship may run on.")] = None,
    cooling_off_days: Annotated[int, typer.Option(help="Days a buyer may cancel.")] = 0,
) -> None:
    """Add a market."""
    from patronage.db.engine import transaction
    from patronage.markets.markets import NewMarket, add_market

    with transaction(state(ctx).engine()) as s:
        market = add_market(s, NewMarket(
            code=code, name=name, currency=currency, languages=_csv(languages_),
            timezone=timezone, tax_inclusive=tax_inclusive,
            shipping_countries=_csv(ships_to) or ([code] if len(code) == 2 else []),
            autoship_last_day=autoship_last_day, cooling_off_days=cooling_off_days))
        console.print(f"market {market.code}: {market.name}, {market.currency}")


@app.command("price")
def price_command(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The product.")],
    market_code: Annotated[str, typer.Argument(help="The market.")],
    retail: Annotated[str, typer.Option(help="Retail price in the market currency, e.g. 12.50")],
    wholesale: Annotated[str, typer.Option(help="Wholesale price in the market currency.")],
    qv: Annotated[str, typer.Option(help="QV in points, e.g. 30.00")],
    cv: Annotated[str, typer.Option(help="CV in points.")],
) -> None:
    """Set a product's prices and volume in a market."""
    from patronage.db.engine import transaction
    from patronage.markets.core.currencies import exponent
    from patronage.markets.markets import market_by_code
    from patronage.markets.prices import MarketPrice, set_price
    from patronage.money import parse_amount
    from patronage.orders.catalog import product_by_sku

    with transaction(state(ctx).engine()) as s:
        market = market_by_code(s, market_code)
        places = exponent(market.currency)
        price = MarketPrice(parse_amount(retail, place="--retail", exponent=places),
                            parse_amount(wholesale, place="--wholesale", exponent=places),
                            parse_amount(qv, place="--qv"), parse_amount(cv, place="--cv"))
        set_price(s, product_by_sku(s, sku), market, price)
    console.print(f"{sku} in {market_code}: {retail} / {wholesale} {market.currency}, "
                  f"{qv} QV, {cv} CV")


@rates_app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV with the header day,currency,rate.")],
    now: NowOpt = None,
) -> None:
    """Import exchange rates (units of the company currency per unit), all or nothing."""
    from patronage.db.engine import transaction
    from patronage.errors import PatronageError
    from patronage.markets.rates import import_rates

    base = state(ctx).settings().currency
    if not file.is_file():
        raise PatronageError(f"{file}: no such file")
    moment = parse_now(now)
    with transaction(state(ctx).engine()) as s:
        n = import_rates(s, file.read_text(encoding="utf-8"), name=str(file),
                         base=base, now=moment)
    console.print(f"{n} exchange rate(s) imported into {base}")
