"""``patronage members``: a person's own data (export) and erasure on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from patronage.cli.common import NowOpt, console, emit_json, parse_now, state

app = typer.Typer(help="Members: export a person's data, erase on request.",
                  no_args_is_help=True)


@app.command("export-data")
def export_data(
    ctx: typer.Context, member_id: Annotated[int, typer.Argument(help="The member's id.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON to this file "
                                             "(default: standard output).")] = None,
    now: NowOpt = None,
    actor: Annotated[str, typer.Option(help="Who asks (for the audit log).")] = "cli",
) -> None:
    """Everything stored about one member as JSON (GDPR art. 15), notes included."""
    from patronage import audit
    from patronage.db.engine import transaction
    from patronage.network.privacy import export_member_data

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as session:
        document = export_member_data(session, member_id, moment, include_notes=True)
        audit.record(session, actor=actor, action="member.export", target=f"member {member_id}",
                     detail="personal data exported (staff, with notes)", at=moment)
    if out is None:
        emit_json(document)
        return
    out.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n",
                   encoding="utf-8")
    console.print(f"member {member_id}: data written to {out}")


@app.command()
def erase(
    ctx: typer.Context, member_id: Annotated[int, typer.Argument(help="The member's id.")],
    actor: Annotated[str, typer.Option(help="Who erases (for the records).")],
    now: NowOpt = None,
) -> None:
    """Erase the person's data on request (GDPR art. 17); the ledger stays, anonymous."""
    from patronage import audit
    from patronage.db.engine import transaction
    from patronage.network.members import erase_member

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as session:
        erase_member(session, member_id, at=moment, actor=actor)
        audit.record(session, actor=actor, action="member.erase", target=f"member {member_id}",
                     detail="personal data erased on request", at=moment)
    console.print(f"member {member_id}: erased")


@app.command("move-market")
def move_market_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The member's ref (or #id).")],
    market: Annotated[str, typer.Argument(help="The new market's code (e.g. MX).")],
    now: NowOpt = None,
    actor: Annotated[str, typer.Option(help="Who moves them (for the audit log).")] = "cli",
) -> None:
    """Move a member to another market, their open autoship subscriptions re-priced there
    (refused if a product has none); audited."""
    from patronage.db.engine import transaction
    from patronage.markets.moves import member_by_ref, move_market

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as session:
        member = member_by_ref(session, ref)
        moved = move_market(session, member.id, market, actor=actor, now=moment)
    if not moved.changed:
        console.print(f"member {ref}: already in market {moved.new}")
        return
    subs = ", ".join(f"#{s}" for s in moved.subscriptions) or "none"
    console.print(f"member {ref}: market {moved.old} -> {moved.new} ({moved.currency}); "
                  f"subscriptions re-priced: {subs}")
