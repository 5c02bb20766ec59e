"""``patronage payouts``: the earnings ledger, adjustments, holds, payout batches and returns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state

if TYPE_CHECKING:
    from patronage.payouts.core.ledger import PayoutRules
    from patronage.payouts.holds import HoldSource

app = typer.Typer(help="Money out: balances, adjustments, holds, payout batches.",
                  no_args_is_help=True)

ActorOpt = Annotated[str, typer.Option(help="Who does it (recorded and audited).")]
MemberOpt = Annotated[int, typer.Option("--member", help="Member id.")]


def _rules(ctx: typer.Context) -> PayoutRules:
    from patronage.payouts.core.ledger import PayoutRules

    s = state(ctx).settings()
    return PayoutRules.from_text(s.payout_minimum, s.adjustment_approval_above, s.payout_day)


def _holds(ctx: typer.Context) -> list[HoldSource]:
    """The hold sources built from the settings: no payout method, no valid tax id, a payout
    method changed within the cooling period and, when the company turns it on, open compliance
    flags."""
    from patronage.clock import zone
    from patronage.compliance.flags import FlagRules, flag_hold_source
    from patronage.payouts.methods import method_hold_source

    s = state(ctx).settings()
    sources = [method_hold_source(s.payout_cooling_days)]
    if s.flag_holds:
        sources.append(flag_hold_source(FlagRules.of(s), zone(s.company_timezone)))
    return sources


def _money(amount: int, currency: str) -> str:
    from patronage.markets.core.currencies import exponent
    from patronage.money import format_amount

    return f"{format_amount(amount, exponent(currency))} {currency}"


@app.command()
def post(ctx: typer.Context, now: NowOpt = None, actor: ActorOpt = "cli",
         as_json: JsonOpt = False) -> None:
    """Post every committed run not yet on the ledger (a commit posts its own run; this
    catches up runs committed before the ledger). Posting twice posts once."""
    from patronage.payouts.ledger import post_committed

    written = post_committed(state(ctx).engine(), now=parse_now(now), actor=actor)
    if as_json:
        emit_json(written)
        return
    for period, n in written.items():
        console.print(f"{period}: {n:,} movements posted")
    if not written:
        console.print("every committed run is on the ledger")


@app.command()
def balance(ctx: typer.Context, member: MemberOpt, now: NowOpt = None,
            as_json: JsonOpt = False) -> None:
    """A member's balance, why it is held, and their movements (newest first)."""
    from patronage.payouts.statement import earnings_of

    view = earnings_of(state(ctx).engine(), member, now=parse_now(now), rules=_rules(ctx),
                       company_zone=state(ctx).company_zone(), extra_holds=_holds(ctx))
    if as_json:
        emit_json({"member_id": member, "balances": view.balances,
                   "holds": [{"code": h.code, "detail": h.detail} for h in view.holds],
                   "next_pay_date": view.next_pay_date,
                   "movements": [{"kind": m.kind, "amount": m.amount, "currency": m.currency,
                                  "posted_at": m.posted_at, "period": m.period,
                                  "reason": m.reason, "payment_ref": m.payment_ref}
                                 for m in view.movements]})
        return
    console.print(f"{view.name} ({member}): " + (", ".join(
        _money(a, c) for c, a in view.balances.items()) or "no balance"))
    for h in view.holds:
        console.print(f"  held: {h.code}{': ' + h.detail if h.detail else ''}")
    console.print(f"  next pay date: {view.next_pay_date.isoformat()}")
    for m in view.movements:
        source = m.period or m.reason or m.payment_ref or ""
        console.print(f"  {m.posted_at:%Y-%m-%d} {m.kind:<12} {_money(m.amount, m.currency):>16}"
                      f"  {source}")


@app.command()
def summary(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The company's ledger: earned, clawed back, adjusted, paid, returned and the balance
    owed, per currency."""
    from patronage.payouts.ledger import totals

    with state(ctx).engine().connect() as conn:
        found = totals(conn)
    rows = {c: {"earned": t.earned, "clawed_back": t.clawed_back, "adjusted": t.adjusted,
                "paid": t.paid, "returned": t.returned, "balance": t.balance}
            for c, t in found.items()}
    if as_json:
        emit_json(rows)
        return
    for c, row in rows.items():
        console.print(c + ": " + ", ".join(f"{k} {_money(v, c)}" for k, v in row.items()))


@app.command()
def adjust(ctx: typer.Context, member: MemberOpt,
           amount: Annotated[str, typer.Option(help="Amount, e.g. 25.00 (a bonus) or -10.00 "
                                                    "(a deduction).")],
           reason: Annotated[str, typer.Option(help="Reason code (missed_bonus, promotion, "
                                                    "correction, fee, debt_recovery, other).")],
           note: Annotated[str, typer.Option(help="Why, in words.")],
           currency: Annotated[str | None, typer.Option(
               help="Currency (default: the member's market currency).")] = None,
           key: Annotated[str | None, typer.Option(
               help="Request key: a retry with the same key adds nothing.")] = None,
           now: NowOpt = None, actor: ActorOpt = "cli") -> None:
    """Add a bonus or deduction; above the company's limit it waits for a second approval."""
    from patronage.db.engine import transaction
    from patronage.markets.core.currencies import exponent
    from patronage.markets.markets import market_of
    from patronage.money import parse_amount
    from patronage.network.members import get_member
    from patronage.payouts.adjustments import add_adjustment

    with transaction(state(ctx).engine()) as s:
        code = currency or market_of(s, get_member(s, member)).currency
        minor = parse_amount(amount, place="--amount", exponent=exponent(code))
        a = add_adjustment(s, member, minor, reason, note, now=parse_now(now), actor=actor,
                           rules=_rules(ctx), currency=code, request_key=key)
    waits = ", needs a second staff member to approve" if a.status == "pending" else ""
    console.print(f"adjustment {a.id}: {_money(a.amount, a.currency)} for {a.member_name} "
                  f"({a.status}{waits})")


@app.command()
def approve(ctx: typer.Context, adjustment: Annotated[int, typer.Argument(help="Id.")],
            reject: Annotated[bool, typer.Option(help="Reject instead.")] = False,
            now: NowOpt = None, actor: ActorOpt = "cli") -> None:
    """Approve (or reject) a pending adjustment; not by the staff member who made it."""
    from patronage.db.engine import transaction
    from patronage.payouts.adjustments import approve_adjustment, reject_adjustment

    decide = reject_adjustment if reject else approve_adjustment
    with transaction(state(ctx).engine()) as s:
        a = decide(s, adjustment, now=parse_now(now), actor=actor)
    console.print(f"adjustment {a.id}: {a.status}")


@app.command()
def adjustments(ctx: typer.Context, pending: Annotated[bool, typer.Option(
        help="Only those waiting for approval.")] = False, as_json: JsonOpt = False) -> None:
    """The latest adjustments."""
    from patronage.db.engine import transaction
    from patronage.payouts.adjustments import adjustments as listed

    with transaction(state(ctx).engine()) as s:
        rows = listed(s, status="pending" if pending else None)
    if as_json:
        emit_json([vars(a) for a in rows])
        return
    for a in rows:
        console.print(f"{a.id:>6} {a.status:<8} {a.member_name} ({a.member_id}) "
                      f"{_money(a.amount, a.currency)} {a.reason}: {a.note} [{a.created_by}]")


@app.command()
def hold(ctx: typer.Context, member: MemberOpt,
         note: Annotated[str, typer.Option(help="Why (shown to the distributor).")],
         now: NowOpt = None, actor: ActorOpt = "cli") -> None:
    """Hold a member's balance until released."""
    from patronage.db.engine import transaction
    from patronage.payouts.holds import place_hold

    with transaction(state(ctx).engine()) as s:
        hold_id = place_hold(s, member, note, now=parse_now(now), actor=actor)
    console.print(f"hold {hold_id} placed on member {member}")


@app.command()
def release(ctx: typer.Context, hold_id: Annotated[int, typer.Argument(help="Hold id.")],
            now: NowOpt = None, actor: ActorOpt = "cli") -> None:
    """Release a hold."""
    from patronage.db.engine import transaction
    from patronage.payouts.holds import release_hold

    with transaction(state(ctx).engine()) as s:
        release_hold(s, hold_id, now=parse_now(now), actor=actor)
    console.print(f"hold {hold_id} released")


@app.command()
def batch(ctx: typer.Context,
          pay_date: Annotated[str, typer.Option("--date", help="Pay date, YYYY-MM-DD.")],
          now: NowOpt = None, actor: ActorOpt = "cli", as_json: JsonOpt = False) -> None:
    """Build the payout batch of a pay date (or show the one already built for it)."""
    from datetime import date

    from patronage.errors import PatronageError
    from patronage.payouts.batches import build_batch

    try:
        day = date.fromisoformat(pay_date)
    except ValueError as exc:
        raise PatronageError(f"--date: {pay_date!r} is not a date written YYYY-MM-DD") from exc
    b = build_batch(state(ctx).engine(), day, now=parse_now(now), actor=actor,
                    rules=_rules(ctx), holds=_holds(ctx))
    if as_json:
        emit_json(vars(b))
        return
    console.print(f"batch {b.id} for {b.pay_date.isoformat()} "
                  f"({'built now' if b.built_now else 'already built: the same batch'}): "
                  f"{b.payments:,} payments, " +
                  (", ".join(_money(a, c) for c, a in b.totals.items()) or "nothing to pay"))


@app.command()
def batches(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The latest payout batches."""
    from patronage.db.engine import transaction
    from patronage.payouts.batches import batches as listed

    with transaction(state(ctx).engine()) as s:
        rows = listed(s)
    if as_json:
        emit_json([vars(b) for b in rows])
        return
    for b in rows:
        console.print(f"{b.id:>5} {b.pay_date.isoformat()} {b.status:<9} {b.payments:,} payments"
                      f" ({b.returned} returned) " +
                      ", ".join(_money(a, c) for c, a in b.totals.items()))


@app.command("export")
def export_command(ctx: typer.Context,
                   batch_id: Annotated[int, typer.Option("--batch", help="Batch id.")],
                   out: Annotated[Path, typer.Option("--out", help="Directory to write to.")],
                   kind: Annotated[str | None, typer.Option(
                       help="sepa, nacha, ewallet_csv (only the payments whose payout method "
                            "is on that rail) or csv (the plain list); default: every rail, "
                            "one file per rail and currency.")] = None,
                   now: NowOpt = None, actor: ActorOpt = "cli",
                   as_json: JsonOpt = False) -> None:
    """Write a batch's payment files and lock the batch; again: the same files. A payment
    without a usable payout method is held (its money back on the balance), never dropped."""
    from patronage.payouts.batches import export_batch

    settings = state(ctx).settings()
    done = export_batch(state(ctx).engine(), batch_id, out, now=parse_now(now), actor=actor,
                        kind=kind, vault=settings.payout_vault(),
                        originator=settings.payout_originator())
    if as_json:
        emit_json({"files": {str(p): done.payments[p.name] for p in done.paths},
                   "held": [p.payment_ref for p in done.held]})
        return
    for path in done.paths:
        console.print(f"batch {batch_id}: {path} ({done.payments[path.name]:,} payments)")
    if not done.paths:
        console.print(f"batch {batch_id}: no payments for {kind or 'any rail'}")
    for p in done.held:
        console.print(f"  held, no usable payout method: {p.payment_ref} "
                      f"{_money(p.amount, p.currency)} ({p.payee_name}, member {p.member_id})")


@app.command()
def returned(ctx: typer.Context,
             ref: Annotated[str | None, typer.Option(help="Payment reference.")] = None,
             reason: Annotated[str | None, typer.Option(help="The bank's reason.")] = None,
             file: Annotated[Path | None, typer.Option(
                 help="A returns CSV with columns payment_ref and reason.")] = None,
             now: NowOpt = None, actor: ActorOpt = "cli") -> None:
    """Record returned payments: the money goes back on the balance, held."""
    from patronage.errors import PatronageError
    from patronage.payouts.batches import read_returns, record_returns

    if file is not None:
        if not file.is_file():
            raise PatronageError(f"--file: {file}: no such file")
        rows = read_returns(file.read_text(encoding="utf-8-sig"), place=str(file))
    elif ref and reason:
        rows = [(ref, reason)]
    else:
        raise PatronageError("returned: give --file, or --ref and --reason")
    n = record_returns(state(ctx).engine(), rows, now=parse_now(now), actor=actor)
    console.print(f"{n} returned payment(s) recorded; {len(rows) - n} already were")


@app.command()
def statements(ctx: typer.Context,
               month: Annotated[str, typer.Option("--month", help="A closed month, YYYY-MM.")],
               out: Annotated[Path, typer.Option("--out", help="Directory to write to.")],
               member: Annotated[int | None, typer.Option(
                   "--member", help="Only this member (default: everyone with a balance or a "
                                    "movement).")] = None,
               now: NowOpt = None) -> None:
    """Write the monthly statements of a closed month as PDF, one file per member
    (statement-YYYY-MM-<member>.pdf, in the member's language); again: the same files."""
    import os

    from patronage.clock import Period
    from patronage.languages import use_locale
    from patronage.payouts.statement_pdf import statement_pdf
    from patronage.payouts.statements import statement_of, statements_for

    settings = state(ctx).settings()
    engine, when, period = state(ctx).engine(), parse_now(now), Period.parse(month)
    zone_name = settings.company_timezone
    chosen = ([statement_of(engine, member, period, now=when, company_zone=zone_name)]
              if member is not None else
              statements_for(engine, period, now=when, company_zone=zone_name))
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for st in chosen:
        st.check()
        with use_locale(st.locale):
            data = statement_pdf(st, company_name=settings.company_name)
        path = out / f"statement-{period}-{st.member_id}.pdf"
        part = path.with_suffix(".part")
        part.write_bytes(data)
        os.replace(part, path)
        written += 1
    console.print(f"{written:,} statement(s) of {period} written to {out}")
