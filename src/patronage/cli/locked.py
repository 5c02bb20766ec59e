"""What ``patronage commissions`` shows and refuses for committed periods and stored plans."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from sqlalchemy import Engine

from patronage.cli.common import console, emit_json
from patronage.clock import AnyPeriod
from patronage.compensation.committed import locked_run
from patronage.errors import Conflict
from patronage.money import format_amount


def show_locked_run(engine: Engine, period: AnyPeriod, plan: Path | None, *,
                    as_json: bool) -> bool:
    """Print the committed run of ``period`` as it is stored (nothing computed again); False
    when the period is open. A plan file is refused for a committed period."""
    run = locked_run(engine, period)
    if run is None:
        return False
    if plan is not None:
        raise Conflict(f"period {period} is committed (run {run.run_id}) with the plan it ran "
                       f"with; run it without --plan to see it, or compare plans with "
                       f"patronage commissions compare --plan A --plan B --period {period}")
    if as_json:
        emit_json({"period": str(period), "committed_run": run.run_id,
                   "plan_name": run.plan_name, "plan_version": run.plan_version,
                   "committed_at": run.committed_at, "committed_by": run.committed_by,
                   "total_cv": run.total_cv, "total_paid": run.total_paid,
                   "by_bonus": run.by_bonus, "payout_lines": run.payout_lines,
                   "clawbacks": run.clawbacks, "skips": run.skips,
                   "cap_applied": run.cap_applied,
                   "active_distributors": run.active_distributors})
        return True
    table = Table(title=f"Commissions {period} (committed run {run.run_id}, plan "
                        f"{run.plan_version})")
    table.add_column("bonus")
    table.add_column("paid", justify="right")
    for bonus, amount in run.by_bonus.items():
        table.add_row(bonus.replace("_", " "), format_amount(amount))
    table.add_row("[b]total[/b]", f"[b]{format_amount(run.total_paid)}[/b]")
    console.print(table)
    console.print(f"period {period} is committed: this is the committed run {run.run_id} "
                  f"(committed {run.committed_at.isoformat()} by {run.committed_by}), as "
                  f"stored; CV {format_amount(run.total_cv)}; {run.payout_lines:,} payout "
                  f"lines, {run.clawbacks} clawbacks, {run.skips:,} payments passed over or "
                  f"lapsed; global cap {'applied' if run.cap_applied else 'not reached'}",
                  highlight=False, soft_wrap=True)
    return True


def refuse_commit_plan_file(plan: Path | None, period: AnyPeriod) -> None:
    """A period is committed with the stored plan in force for it, never with a file."""
    if plan is not None:
        raise Conflict(f"--plan: a period is committed with the stored plan in force for it "
                       f"(patronage plan show --period {period}); store a new version with "
                       f"patronage plan set FILE --from YYYY-MM")
