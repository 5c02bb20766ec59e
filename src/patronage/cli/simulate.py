"""``patronage simulate`` and ``patronage replay-plan``: what a plan does to a company grown
month by month, and what a proposed plan would have paid over the committed months."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state

if TYPE_CHECKING:
    from patronage.compensation.runs import PlanSource
    from patronage.simulator.core.params import Models, Params
    from patronage.simulator.core.simulation import Simulation
    from patronage.simulator.replay import Replay

app = typer.Typer()

PlanFile = Annotated[Path | None, typer.Option(
    "--plan", help="Plan file (TOML); default: the example plan (or, with --save, the plan in "
    "force).")]


def _plan(path: Path | None) -> PlanSource:
    from patronage.compensation.core.plan import default_plan_path
    from patronage.compensation.runs import PlanSource

    return PlanSource.from_file(path or default_plan_path())


def read_params(path: Path | None, market: int) -> tuple[Params, Models | None]:
    """The parameters (defaults, then the file's top-level keys, then ``--market``) and the
    customer models the file gives in ``[models.sbg]``, ``[models.bgnbd]``,
    ``[models.gamma_gamma]`` (all three, or none)."""
    from patronage.errors import Problem, Problems, read_toml
    from patronage.simulator.core.params import Models, Params

    data: dict[str, Any] = read_toml(path, "parameters file") if path else {}
    raw_models = data.pop("models", None)
    params = Params().with_values({**data, "market": market})
    if raw_models is None:
        return params, None
    if not isinstance(raw_models, dict) or set(raw_models) != {"sbg", "bgnbd", "gamma_gamma"}:
        raise Problems(f"{path}: the customer models are not valid", [Problem(
            f"{path}: models", "give all three of [models.sbg], [models.bgnbd] and "
                               "[models.gamma_gamma]")])
    return params, Models(dict(raw_models["sbg"]), dict(raw_models["bgnbd"]),
                          dict(raw_models["gamma_gamma"]),
                          dict.fromkeys(("sbg", "bgnbd", "gamma_gamma"), str(path)))


def _run(plan: PlanSource, params: Params, models: Models, months: int, seed: int,
         what: str) -> Simulation:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from patronage.simulator.core.simulation import simulate

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console.get(),
                  transient=False) as bar:
        task = bar.add_task(f"{what}: months", total=months)
        return simulate(plan.plan, params, models, months, seed,
                        lambda done, _total: bar.update(task, completed=done))


def _summary(label: str, sim: Simulation) -> dict[str, Any]:
    last = sim.rows[-1]
    peak = max(sim.rows, key=lambda r: r.distributors)
    return {"run": label, "plan_version": sim.plan_version, "people_ever": sim.people,
            "peak_distributors": peak.distributors, "peak_month": peak.month,
            **{k: v for k, v in last.as_dict().items() if not k.startswith("seconds")},
            "payout_all_months": sum(r.payout for r in sim.rows),
            "cv_all_months": sum(r.total_cv for r in sim.rows),
            "seconds_simulation": round(sim.seconds_simulation, 3),
            "seconds_engine": round(sim.seconds_engine, 3)}


def _print(summaries: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="Last month (and the whole run)")
    table.add_column("")
    for s in summaries:
        table.add_column(f"{s['run']} ({s['plan_version']})", justify="right")
    rows = [("People ever reached", "people_ever", "{:,}"), ("Peak distributors",
            "peak_distributors", "{:,}"), ("Distributors", "distributors", "{:,}"),
            ("Customers", "customers", "{:,}"),
            ("Customers per distributor", "customers_per_distributor", "{:.2f}"),
            ("Market reached", "market_reached", "{:.1%}"),
            ("CV (points)", "total_cv", "{:,.2f}"), ("Payout", "payout", "{:,.2f}"),
            ("Payout share of CV", "payout_share_of_cv", "{:.1%}"),
            ("Median paid", "median_earned", "{:,.2f}"), ("90th pct paid", "p90_earned",
                                                          "{:,.2f}"),
            ("Median net of costs", "median_net", "{:,.2f}"),
            ("Earning more than their costs", "share_net_positive", "{:.1%}"),
            ("Volume bought by customers", "customer_share", "{:.1%}"),
            ("Teams under the customer threshold", "teams_below_share", "{:.1%}"),
            ("Payout, all months", "payout_all_months", "{:,.2f}"),
            ("Seconds simulating / engine", None, "")]
    hundredths = {"total_cv", "payout", "median_earned", "p90_earned", "median_net",
                  "payout_all_months"}
    for title, key, fmt in rows:
        cells = []
        for s in summaries:
            if key is None:
                cells.append(f"{s['seconds_simulation']:.1f} / {s['seconds_engine']:.1f}")
            else:
                v = s[key] / 100 if key in hundredths else s[key]
                cells.append(fmt.format(v))
        table.add_row(title, *cells)
    console.print(table)


def _write(out: Path, runs: list[tuple[str, Simulation]]) -> list[str]:
    from patronage.simulator.export import months_csv
    from patronage.simulator.plots import PLOTS, plot

    out.mkdir(parents=True, exist_ok=True)
    written = []
    csv_text = "".join(months_csv(sim.rows, label) if i == 0 else
                       months_csv(sim.rows, label).split("\n", 1)[1]
                       for i, (label, sim) in enumerate(runs))
    (out / "months.csv").write_text(csv_text, encoding="utf-8")
    written.append(str(out / "months.csv"))
    series = [(label, sim.rows, sim.params.market) for label, sim in runs]
    for name in PLOTS:
        for fmt in ("svg", "png"):
            path = out / f"{name}.{fmt}"
            path.write_bytes(plot(name, series, fmt))
            written.append(str(path))
    return written


@app.command()
def simulate(
    ctx: typer.Context,
    plan: PlanFile = None,
    months: Annotated[int, typer.Option(min=1, max=240, help="Months to simulate.")] = 60,
    market: Annotated[int, typer.Option(min=0, help="People who could ever join (0: no "
                                                    "limit).")] = 5_000_000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed: the same seed, the same "
                                                  "run.")] = 1,
    compare: Annotated[Path | None, typer.Option(
        "--compare", help="A second plan file, run on the same seed and parameters.")] = None,
    params_file: Annotated[Path | None, typer.Option(
        "--params", help="TOML file of parameters replacing the defaults (and [models.*]).")]
    = None,
    company_models: Annotated[bool, typer.Option(
        "--company-models", help="Use the company's fitted customer models (needs the "
        "database).")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for months.csv and the plots (SVG and PNG).")] = None,
    save: Annotated[bool, typer.Option(
        "--save", help="Keep the simulation(s) in the database for the staff pages.")] = False,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a company growing month by month under a plan: the production engine pays
    every month; incomes are shown net of the participants' costs."""
    from patronage.simulator.core.params import Models

    params, given = read_params(params_file, market)
    st = state(ctx)
    if company_models or save:
        from patronage.simulator.service import company_models as fitted

        models = given or (fitted(st.engine()) if company_models else Models.priors())
    else:
        models = given or Models.priors()
    if plan is None and save:
        from patronage.simulator.service import current_plan

        first = current_plan(st.engine(), parse_now(now), st.company_zone())
    else:
        first = _plan(plan)
    plans = [("A", first)] + ([("B", _plan(compare))] if compare else [])
    runs = [(label, _run(p, params, models, months, seed, f"plan {label}"))
            for label, p in plans]
    summaries = [_summary(label, sim) for label, sim in runs]
    written = _write(out, runs) if out else []
    saved = []
    if save:
        from patronage.simulator.service import store_simulation

        for (label, sim), (_, p) in zip(runs, plans, strict=True):
            saved.append(store_simulation(st.engine(), sim, p, label=f"plan {label} (CLI)",
                                          now=parse_now(now), actor="cli"))
    if as_json:
        emit_json({"runs": summaries, "models": models.as_dict(), "written": written,
                   "saved": saved})
        return
    _print(summaries)
    console.print(f"Customer models: {models.source}", highlight=False)
    for path in written:
        console.print(f"wrote {path}", highlight=False)
    for sid in saved:
        console.print(f"kept as simulation {sid} (/company/simulations/{sid})", highlight=False)


@app.command("replay-plan")
def replay_plan(
    ctx: typer.Context,
    plan: Annotated[Path, typer.Option("--plan", help="The proposed plan file (TOML).")],
    periods: Annotated[int, typer.Option(min=1, max=36, help="How many of the last committed "
                                                             "months.")] = 12,
    as_json: JsonOpt = False,
) -> None:
    """Run a proposed plan over the last committed months (their frozen facts) beside what was
    committed: by rank, the payout ratio, who gains and loses, the disclosure figures."""

    from patronage.simulator.replay import replay_plan as replay

    print_replay(replay(state(ctx).engine(), _plan(plan), periods), as_json=as_json)


def print_replay(found: Replay, *, as_json: bool) -> None:
    """A replay (a what-if over committed months): by month, by paid-as rank over all the
    months with the change, who gains and loses, the income disclosure before and after."""
    from dataclasses import asdict

    from rich.table import Table

    if as_json:
        data = asdict(found)
        data.update(ratio_before=found.ratio_before, ratio_after=found.ratio_after,
                    ranks=[asdict(r) for r in found.ranks])
        emit_json(data)
        return

    def money(v: int) -> str:
        return f"{v / 100:,.2f}"

    table = Table(title=f"Plan {found.plan_version} over {len(found.periods)} committed months")
    for col in ("Month", "CV", "Paid (committed)", "Paid (proposed)", "Ratio", "Proposed"):
        table.add_column(col, justify="right")
    for p in found.periods:
        table.add_row(p.period, money(p.total_cv), money(p.paid_before), money(p.paid_after),
                      f"{p.ratio_before:.1%}", f"{p.ratio_after:.1%}")
    console.print(table)
    ranks = Table(title=f"By paid-as rank, all {len(found.periods)} months (member-months)")
    for col in ("Rank", "Members (committed)", "Members (proposed)", "Paid (committed)",
                "Paid (proposed)", "Change"):
        ranks.add_column(col, justify="right")
    for r in found.ranks:
        ranks.add_row(r.rank, str(r.members_before), str(r.members_after),
                      money(r.paid_before), money(r.paid_after),
                      money(r.paid_after - r.paid_before))
    console.print(ranks)
    disclosure = Table(title="Income disclosure over the months")
    for col in ("", "Committed", "Proposed"):
        disclosure.add_column(col, justify="right")
    b, a = found.before, found.after
    disclosure.add_row("Participants", str(b.participants), str(a.participants))
    disclosure.add_row("Paid nothing", str(b.earned_nothing), str(a.earned_nothing))
    for name, x, y in (("Median paid", b.median, a.median), ("90th percentile", b.p90, a.p90),
                       ("Highest", b.top, a.top)):
        disclosure.add_row(name, money(x), money(y))
    console.print(disclosure)
    console.print(f"Distributors paid more: {found.paid_more}, less: {found.paid_less}, the "
                  f"same: {found.paid_same}.", highlight=False)
