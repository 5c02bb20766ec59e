"""``patronage value``: fit the customer value models and show what customers are worth."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state
from patronage.money import format_amount

if TYPE_CHECKING:
    from rich.table import Table

app = typer.Typer(help="Customer value: lifetime, referral and the seven values.",
                  no_args_is_help=True)

@app.command()
def fit(ctx: typer.Context,
        now: NowOpt = None,
        discount: Annotated[float, typer.Option(help="Discount rate per month.")] = 0.01,
        horizon: Annotated[int, typer.Option(help="Horizon in months.")] = 12,
        decay: Annotated[float, typer.Option(help="Referral credit per further step.")] = 0.5,
        as_json: JsonOpt = False) -> None:
    """Fit the models and score every member as of --now (a new run; earlier runs are
    kept)."""
    from patronage.value.core.customers import ValueSettings
    from patronage.value.service import fit_values

    summary = fit_values(state(ctx).engine(), parse_now(now),
                         ValueSettings(discount_monthly=discount, horizon_months=horizon,
                                       referral_decay=decay))
    if as_json:
        emit_json(asdict(summary))
        return
    console.print(f"run {summary.run_id}: {summary.members:,} members "
                  f"({summary.customers:,} customers) valued")
    priors = 0
    for f in summary.fits:
        params = ", ".join(f"{k}={_estimate(v, f['standard_errors'].get(k))}"
                           for k, v in f["params"].items())
        if f["source"] == "prior":
            priors += 1
            state_word = f"NOT FITTED, prior used ({f['message'].removeprefix('prior used: ')})"
        elif f["converged"]:
            state_word = "converged"
        else:
            state_word = f"NOT converged ({f['message']})"
        console.print(f"  {f['model']} on {f['segment']} (n={f['n']:,.0f}): {params}; "
                      f"{state_word}")
    if priors:
        console.print(f"  {priors} model(s) could not be fitted yet: the values that depend on "
                      "them are from the documented prior (source \"prior\")")
    console.print("  seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in summary.seconds.items()))


def _estimate(value: float, error: float | None) -> str:
    """A parameter with its standard error: ``0.2430 ± 0.0125`` (the error left out when
    there is none)."""
    return f"{value:.4g} ± {error:.2g}" if error is not None else f"{value:.4g}"


def _money(amount: int) -> str:
    return format_amount(amount)


@app.command()
def show(ctx: typer.Context, member: Annotated[int, typer.Option("--member")],
         as_json: JsonOpt = False) -> None:
    """A member's lifetime value, referral value and seven values."""
    from patronage.value.core.seven import NAMES
    from patronage.value.service import customer_value

    value = customer_value(state(ctx).engine(), member)
    if as_json:
        emit_json(value)
        return
    console.print(f"{value['name']} (member {member}, {value['kind']}) as of {value['as_of']}")
    prior = " - from the prior: not fitted yet" if value["source"] == "prior" else ""
    console.print(f"  model {value['model']} ({value['segment']}{prior}): P(alive) "
                  f"{value['p_alive']:.2f}, expected orders {value['expected_orders']:.1f}")
    console.print(f"  spent so far {_money(value['past_value'])}, expected future "
                  f"{_money(value['future_value'])}, referral value "
                  f"{_money(value['referral_value'])}")
    reasons = "; ".join(value["risk_reasons"]) or "-"
    console.print(f"  value at risk {_money(value['value_at_risk'])} (risk "
                  f"{value['risk']:.2f}: {reasons})")
    for name in NAMES:
        console.print(f"  {name:12s} {value['seven_values'][name]:5.1f}")


def _table(rows: list[dict[str, Any]], title: str) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for col in ("member", "name", "lifetime", "future", "referral", "P(alive)", "at risk"):
        table.add_column(col, justify="left" if col == "name" else "right")
    for r in rows:
        table.add_row(str(r["member_id"]), r["name"], _money(r["lifetime_value"]),
                      _money(r["future_value"]), _money(r["referral_value"]),
                      f"{r['p_alive']:.2f}", _money(r["value_at_risk"]))
    return table


@app.command()
def top(ctx: typer.Context, distributor: Annotated[int, typer.Option("--distributor")],
        limit: Annotated[int, typer.Option(help="How many.")] = 20,
        at_risk: Annotated[bool, typer.Option("--at-risk", help="Rank by value at risk.")]
        = False,
        now: NowOpt = None,
        as_json: JsonOpt = False) -> None:
    """A distributor's customers ranked by value (or by value at risk), with the 1:50 count
    as of --now."""
    from patronage.value.service import distributor_customers, distributor_overview

    engine = state(ctx).engine()
    rows = distributor_customers(engine, distributor, order_by="risk" if at_risk else "value",
                                 limit=limit)
    overview = distributor_overview(engine, distributor, parse_now(now), at_risk=0,
                                    company_zone=state(ctx).company_zone())
    if as_json:
        emit_json({"overview": overview.as_dict(), "customers": rows})
        return
    console.print(f"distributor {distributor}: {overview.customers} customers "
                  f"({overview.active_customers} ordered in 90 days) of the 1:{overview.target} "
                  f"target; base value {_money(overview.base_value)}, at risk "
                  f"{_money(overview.at_risk_value)}; consumption "
                  f"{overview.consumption_share:.0%} of volume, customers "
                  f"{overview.customer_share:.0%}")
    console.print(_table(rows, "customers at risk" if at_risk else "customers by value"))
