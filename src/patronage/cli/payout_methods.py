"""``patronage payout-methods`` (the accounts distributors are paid into) and ``patronage tax``
(tax ids and year-end tax data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state

app = typer.Typer(help="Payout methods: the bank account or e-wallet each distributor is paid "
                       "into.", no_args_is_help=True)
tax_app = typer.Typer(help="Tax ids and year-end tax data (US 1099-NEC).", no_args_is_help=True)
readers_app = typer.Typer(help="Staff who may read tax ids in full.", no_args_is_help=True)
tax_app.add_typer(readers_app, name="readers")

ActorOpt = Annotated[str, typer.Option("--actor", help="Who does this (for the audit log).")]


@app.command("set")
def set_command(
    ctx: typer.Context,
    member_id: Annotated[int, typer.Argument(help="The distributor's member id.")],
    kind: Annotated[str, typer.Option(help="iban, us_ach, ca_eft or ewallet.")],
    holder: Annotated[str, typer.Option(help="The account holder's name.")],
    iban: Annotated[str, typer.Option(help="IBAN (kind iban).")] = "",
    bic: Annotated[str, typer.Option(help="BIC (kind iban, optional).")] = "",
    routing: Annotated[str, typer.Option(help="US routing number (kind us_ach).")] = "",
    account: Annotated[str, typer.Option(help="Account number (us_ach, ca_eft).")] = "",
    account_type: Annotated[str, typer.Option(help="checking or savings (us_ach).")]
    = "checking",
    institution: Annotated[str, typer.Option(help="Institution number (ca_eft).")] = "",
    transit: Annotated[str, typer.Option(help="Transit number (ca_eft).")] = "",
    provider: Annotated[str, typer.Option(help="E-wallet provider (ewallet).")] = "",
    wallet_id: Annotated[str, typer.Option(help="Wallet or pay-card id (ewallet).")] = "",
    actor: ActorOpt = "staff:cli",
    now_: NowOpt = None,
) -> None:
    """Set a distributor's payout method; the distributor is emailed and payouts are held for
    the cooling period."""
    from patronage.care.channels.email import SmtpSender
    from patronage.db.engine import transaction
    from patronage.payouts.core.accounts import PayoutAccount
    from patronage.payouts.methods import send_notices, set_method

    settings = state(ctx).settings()
    now = parse_now(now_)
    details = PayoutAccount(kind, holder, iban=iban, bic=bic, routing_number=routing,  # type: ignore[arg-type]
                            account_number=account, account_type=account_type,  # type: ignore[arg-type]
                            institution=institution, transit=transit, provider=provider,
                            wallet_id=wallet_id)
    with transaction(state(ctx).engine()) as s:
        change = set_method(s, member_id=member_id, account=details, actor=actor,
                            vault=settings.payout_vault(), now=now)
    if change is None:
        console.print(f"member {member_id}: the payout method is already that account")
        return
    console.print(f"member {member_id}: paid into {change.current}; payouts held for "
                  f"{settings.payout_cooling_days} days")
    with transaction(state(ctx).engine()) as s, SmtpSender(settings) as sender:
        sent, failed = send_notices(s, sender, company=settings.company_name,
                                    mail_from=settings.mail_from,
                                    cooling_days=settings.payout_cooling_days, now=now)
    console.print(f"emails: {sent} sent, {failed} failed (others wait for "
                  "`patronage payout-methods notify`)")


@app.command("show")
def show_command(ctx: typer.Context,
                 member_id: Annotated[int, typer.Argument(help="The member id.")],
                 as_json: JsonOpt = False, now_: NowOpt = None) -> None:
    """A member's payout method (masked), tax id (masked) and why payouts are held."""
    from patronage.db.engine import transaction
    from patronage.payouts.methods import method_holds, method_view
    from patronage.payouts.tax_ids import tax_id_view

    settings = state(ctx).settings()
    now = parse_now(now_)
    with transaction(state(ctx).engine()) as s:
        view = method_view(s, member_id, cooling_days=settings.payout_cooling_days, now=now)
        tax = tax_id_view(s, member_id)
        holds = method_holds(s, [member_id], now,
                             cooling_days=settings.payout_cooling_days).get(member_id, [])
    data = {"member_id": member_id, "payout_method": view.label if view else None,
            "held_until": view.held_until.isoformat() if view and view.held_until else None,
            "tax_id": f"{tax.country} {tax.kind} {tax.masked}" if tax else None,
            "holds": [{"code": h.code, "words": h.detail} for h in holds]}
    if as_json:
        emit_json(data)
        return
    console.print(f"member {member_id}: {data['payout_method'] or 'no payout method'}; "
                  f"tax id {data['tax_id'] or 'none'}")
    for h in holds:
        console.print(f"  held: {h.detail}")


@app.command("notify")
def notify_command(ctx: typer.Context, now_: NowOpt = None) -> None:
    """Send the emails about payout method changes that are still waiting."""
    from patronage.care.channels.email import SmtpSender
    from patronage.db.engine import transaction
    from patronage.payouts.methods import send_notices

    settings = state(ctx).settings()
    with transaction(state(ctx).engine()) as s, SmtpSender(settings) as sender:
        sent, failed = send_notices(s, sender, company=settings.company_name,
                                    mail_from=settings.mail_from,
                                    cooling_days=settings.payout_cooling_days,
                                    now=parse_now(now_))
    console.print(f"emails: {sent} sent, {failed} failed")


@app.command("new-key")
def new_key_command() -> None:
    """Print a new key for PATRONAGE_PAYOUT_KEYS (put it first, keep the old one after it)."""
    from patronage.payouts.secrets import generate_key

    print(generate_key())


@app.command("rotate-key")
def rotate_key_command(ctx: typer.Context) -> None:
    """Re-encrypt every payout method and tax id with the first key in PATRONAGE_PAYOUT_KEYS."""
    from patronage.db.engine import transaction
    from patronage.payouts.methods import reseal_all

    settings = state(ctx).settings()
    with transaction(state(ctx).engine()) as s:
        count = reseal_all(s, vault=settings.payout_vault())
    console.print(f"{count} records re-encrypted with the first key; the old key may now be "
                  "removed from PATRONAGE_PAYOUT_KEYS")


@tax_app.command("set")
def tax_set_command(
    ctx: typer.Context,
    member_id: Annotated[int, typer.Argument(help="The member id.")],
    country: Annotated[str, typer.Option(help="Country, e.g. US.")],
    kind: Annotated[str, typer.Option(help="ssn, ein, sin, bn, utr, rfc or vat.")],
    number: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                        help="The number (asked for when not given).")],
    actor: ActorOpt = "staff:cli",
    now_: NowOpt = None,
) -> None:
    """Record a member's tax id (checked for the country's format; stored encrypted)."""
    from patronage.db.engine import transaction
    from patronage.payouts.tax_ids import set_tax_id

    settings = state(ctx).settings()
    with transaction(state(ctx).engine()) as s:
        view = set_tax_id(s, member_id=member_id, country=country, kind=kind, number=number,
                          actor=actor, vault=settings.payout_vault(), now=parse_now(now_))
    console.print(f"member {member_id}: {view.country} {view.kind} {view.masked}")


@tax_app.command("reveal")
def tax_reveal_command(
    ctx: typer.Context,
    member_id: Annotated[int, typer.Argument(help="The member id.")],
    as_: Annotated[str, typer.Option("--as", help="Your staff account's email.")],
    reason: Annotated[str, typer.Option(help="Why you read it (written to the audit log).")],
    now_: NowOpt = None,
) -> None:
    """Show a tax id in full: for tax id readers only; every view is audited."""
    from patronage.db.engine import transaction
    from patronage.payouts.tax_ids import reveal_tax_id

    settings = state(ctx).settings()
    with transaction(state(ctx).engine()) as s:
        tax_id = reveal_tax_id(s, member_id=member_id, viewer_email=as_, reason=reason,
                               vault=settings.payout_vault(), now=parse_now(now_))
    print(f"{tax_id.country} {tax_id.kind} {tax_id.formatted}")


@readers_app.command("grant")
def readers_grant_command(ctx: typer.Context,
                          email: Annotated[str, typer.Argument(help="A staff account.")],
                          actor: ActorOpt = "staff:cli", now_: NowOpt = None) -> None:
    """Allow a staff account to read tax ids in full."""
    from patronage.db.engine import transaction
    from patronage.payouts.tax_ids import grant_reader

    with transaction(state(ctx).engine()) as s:
        grant_reader(s, email=email, actor=actor, now=parse_now(now_))
    console.print(f"{email} may read tax ids in full")


@readers_app.command("revoke")
def readers_revoke_command(ctx: typer.Context,
                           email: Annotated[str, typer.Argument(help="A staff account.")],
                           actor: ActorOpt = "staff:cli", now_: NowOpt = None) -> None:
    """Take back the right to read tax ids in full."""
    from patronage.db.engine import transaction
    from patronage.payouts.tax_ids import revoke_reader

    with transaction(state(ctx).engine()) as s:
        revoke_reader(s, email=email, actor=actor, now=parse_now(now_))
    console.print(f"{email} may no longer read tax ids in full")


@tax_app.command("1099-nec")
def form_1099_command(
    ctx: typer.Context,
    year: Annotated[int, typer.Argument(help="The calendar year the payments were made in.")],
    out: Annotated[Path, typer.Option(help="The form data CSV (TaxBit 1099-NEC layout).")],
    missing: Annotated[Path | None, typer.Option(
        help="Where to write those missing a tax id (CSV).")] = None,
) -> None:
    """The year's 1099-NEC amounts for the filing service, and who is missing a tax id."""
    from patronage.db.engine import transaction
    from patronage.money import format_amount
    from patronage.payouts.core.tax_forms import form_csv, missing_csv
    from patronage.payouts.tax_year import form_1099_nec

    st = state(ctx)
    settings = st.settings()
    with transaction(st.engine()) as s:
        result = form_1099_nec(s, year, settings.tax_thresholds(),
                               zone=settings.company_zone())
    out.write_bytes(form_csv(result))
    if missing is not None:
        missing.write_bytes(missing_csv(result))
    console.print(f"{year}: {len(result.forms)} forms at or above "
                  f"{format_amount(result.threshold)} USD written to {out}; "
                  f"{len(result.missing_tax_id)} without a tax id")
    for f in result.missing_tax_id:
        console.print(f"  missing tax id: {f.name} (member {f.member_id}), "
                      f"{format_amount(f.nonemployee_comp)} USD")
