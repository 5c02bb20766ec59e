"""``patronage members``: a person's own data (export) and erasure on request."""

from __future__ import annotations

import json
from datetime import datetime
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


def _placement_rule(ctx: typer.Context, at: datetime) -> str:
    """The placement rule of the plan in force at ``at`` (its ``[bonuses.binary]``)."""
    from patronage.clock import Period, zone
    from patronage.compensation.core.bonuses.binary import Binary
    from patronage.compensation.plan_versions import plan_in_force
    from patronage.errors import PatronageError

    settings = state(ctx).settings()
    stored = plan_in_force(state(ctx).engine(),
                           Period.containing(at, zone(settings.company_timezone)))
    binary = None if stored is None else stored.source().plan.bonuses.section("binary")
    if not isinstance(binary, Binary):
        raise PatronageError("--rule: the plan in force pays no binary bonus, so it has no "
                             "placement rule; give --rule or --under and --side")
    return binary.placement


@app.command("place")
def place_command(
    ctx: typer.Context, member_id: Annotated[int, typer.Argument(help="The member's id.")],
    rule: Annotated[str | None, typer.Option(help="left, right, extreme_left, extreme_right "
                                             "or weak_leg (default: the plan's rule).")] = None,
    under: Annotated[int | None, typer.Option(help="Place right below this member ...")] = None,
    side: Annotated[str | None, typer.Option(help="... on this side (left or right).")] = None,
    now: NowOpt = None,
    actor: Annotated[str, typer.Option(help="Who places them (for the audit log).")] = "cli",
) -> None:
    """Place a distributor in the placement (binary) tree: by a rule relative to their sponsor
    (the plan's rule by default) or right below a member on a side; audited."""
    from patronage.db.engine import transaction
    from patronage.network.placement import place

    moment = parse_now(now)
    if under is None and rule is None:
        rule = _placement_rule(ctx, moment)
    with transaction(state(ctx).engine()) as session:
        spot = place(session, member_id, at=moment, actor=actor, rule=rule, under=under,
                     side=side)
    console.print(f"member {member_id}: placed {spot.words()}")


@app.command("link-side")
def link_side_command(
    ctx: typer.Context, member_id: Annotated[int, typer.Argument(help="The distributor's id.")],
    side: Annotated[str, typer.Argument(help="left, right, or none (the plan's rule).")],
    now: NowOpt = None,
) -> None:
    """The side of the placement tree that distributors joining through this distributor's
    share link are placed on (spillover on that side), or none: the plan's placement rule."""
    from patronage.db.engine import transaction
    from patronage.shop.links import set_link_side

    with transaction(state(ctx).engine()) as session:
        set_link_side(session, member_id, None if side == "none" else side, now=parse_now(now))
    console.print(f"member {member_id}: share link places distributors "
                  + (f"on the {side}" if side != "none" else "by the plan's rule"))


@app.command("move-placement")
def move_placement_command(
    ctx: typer.Context, member_id: Annotated[int, typer.Argument(help="The member's id.")],
    side: Annotated[str, typer.Option(help="left or right.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")],
    under: Annotated[int | None, typer.Option(help="The new member above (none: the top).")]
    = None,
    now: NowOpt = None,
    actor: Annotated[str, typer.Option(help="Who moves them (for the audit log).")] = "cli",
) -> None:
    """Move a placed distributor, with their placement downline, from now on; audited."""
    from patronage.db.engine import transaction
    from patronage.network.placement import move

    moment = parse_now(now)
    with transaction(state(ctx).engine()) as session:
        spot = move(session, member_id, under=under, side=side, at=moment, actor=actor,
                    reason=reason)
    console.print(f"member {member_id}: moved {spot.words()}")


@app.command("placement")
def placement_command(
    ctx: typer.Context, member_id: Annotated[int, typer.Argument(help="The member's id.")],
    at: Annotated[str | None, typer.Option("--at", help="As of this moment (ISO 8601; "
                                           "default: now).")] = None,
) -> None:
    """Where a distributor is placed and what their two legs hold, as of a moment."""
    from patronage.db.engine import transaction
    from patronage.network.placement import placement_view

    moment = parse_now(at, place="--at")
    with transaction(state(ctx).engine()) as session:
        view = placement_view(session, member_id, moment)
    where = view.spot.words() if view.spot else "not placed"
    emit_json({"member": member_id, "at": moment.isoformat(), "placed": where,
               "left": {"below": view.left.top, "members": view.left.members,
                        "carried_volume": view.left.carried / 100},
               "right": {"below": view.right.top, "members": view.right.members,
                         "carried_volume": view.right.carried / 100}})
