"""``patronage check``: the integrity checks, every problem with its count and examples."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state

if TYPE_CHECKING:
    from patronage.integrity import IntegrityReport

app = typer.Typer()

#: Examples listed per problem by default (:data:`patronage.integrity.EXAMPLES`, written here so
#: that ``--help`` does not load the checks).
EXAMPLES = 5


def print_report(report: IntegrityReport) -> None:
    """The report in words: one paragraph per problem, or that none was found."""
    took = sum(report.seconds.values())
    steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in report.seconds.items())
    if report.ok:
        console.print(f"integrity check as of {report.now.isoformat()}: no problem found "
                      f"({took:.2f} s: {steps})", highlight=False)
        return
    kinds = len(report.findings)
    console.print(f"integrity check as of {report.now.isoformat()}: {report.problems:,} "
                  f"problem{'s' * (report.problems != 1)} of {kinds} kind{'s' * (kinds != 1)} "
                  f"({took:.2f} s: {steps})", highlight=False)
    for finding in report.findings:
        console.print(f"- {finding.check}: {finding.count:,} — {finding.problem}",
                      highlight=False, soft_wrap=True)
        for example in finding.examples:
            console.print(f"    {example}", highlight=False, soft_wrap=True)


@app.command("check")
def check(
    ctx: typer.Context,
    now: NowOpt = None,
    rules: Annotated[Path | None, typer.Option(
        "--rules", help="Care rules file (its lookback window; default: the shipped rules).")]
    = None,
    examples: Annotated[int, typer.Option(help="Examples listed per problem.", min=0)]
    = EXAMPLES,
    as_json: JsonOpt = False,
) -> None:
    """Check the company's records: references, commission runs, subscriptions, care touches.
    Exits 0 when no problem is found, 1 otherwise."""
    from patronage.care.core.rules import load_rules
    from patronage.integrity import check_integrity

    report = check_integrity(state(ctx).engine(), parse_now(now), rules=load_rules(rules),
                             examples=examples, company_zone=state(ctx).company_zone())
    if as_json:
        emit_json(report.as_dict())
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(1)
