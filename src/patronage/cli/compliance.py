"""``patronage compliance``: customer-volume evidence, the recruitment-reward index and the
income disclosure statement, from the committed months."""

from __future__ import annotations

import csv
import sys
from fractions import Fraction
from typing import Annotated, Any

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state
from patronage.errors import PatronageError

app = typer.Typer(help="Compliance evidence and the income disclosure.", no_args_is_help=True)

LastOpt = Annotated[str | None, typer.Option(
    "--period", help="The last month, YYYY-MM (default: the last committed month).")]


def _share(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _last(ctx: typer.Context, text: str | None) -> Any:
    from patronage.clock import Period
    from patronage.compliance.periods import latest_committed

    if text:
        return Period.parse(text)
    with state(ctx).engine().connect() as conn:
        found = latest_committed(conn)
    if found is None:
        raise PatronageError("no committed month yet: commit one first "
                             "(patronage commissions commit)")
    return found


@app.command()
def evidence(ctx: typer.Context, period: LastOpt = None,
             months: Annotated[int, typer.Option(min=1, max=120,
                                                 help="How many months up to --period.")] = 12,
             minimum: Annotated[int, typer.Option(
                 min=0, max=100, help="Teams below this share from customers (%).")] = 50,
             as_json: JsonOpt = False) -> None:
    """Where the volume comes from: customers' share, promotional share, customers per
    distributor, and the teams below a customer-volume threshold."""
    from patronage.compliance.evidence import load_evidence
    from patronage.compliance.teams import teams_below

    last = _last(ctx, period)
    first = last
    for _ in range(months - 1):
        first = first.previous()
    st = state(ctx)
    ev = load_evidence(st.engine(), first, last)
    count, below = teams_below(st.engine(), ev.distributors, Fraction(minimum, 100))
    data = {
        "first": str(first), "last": str(last), "committed_months": ev.runs,
        "customer_share": _share(ev.company.customer_share),
        "promotional_share": _share(ev.company.promotional_share),
        "customer_volume": ev.company.customer, "volume": ev.company.total,
        "distributors": ev.ratio.distributors, "customers": ev.ratio.customers,
        "customers_per_distributor": _share(ev.ratio.per_distributor),
        "distributors_without_customers": ev.ratio.distributors_without_customers,
        "teams_below": count, "minimum_share": minimum / 100,
        "largest_teams_below": [{"member_id": t.member_id, "name": t.name,
                                 "team_volume": t.team.total,
                                 "customer_share": _share(t.team.customer_share)}
                                for t in below],
    }
    if as_json:
        emit_json(data)
        return
    console.print(f"{first}..{last} ({ev.runs} committed months): "
                  f"{data['customer_share']:.1%} of volume bought by customers, "
                  f"{data['promotional_share']:.1%} promotional"
                  if ev.company.total else f"{first}..{last}: no volume")
    ratio = ev.ratio.per_distributor
    console.print(f"{ev.ratio.customers:,} customers for {ev.ratio.distributors:,} distributors"
                  + (f" ({float(ratio):.1f} each; target 50)" if ratio is not None else "")
                  + f"; {ev.ratio.distributors_without_customers:,} without a customer")
    console.print(f"{count:,} teams bought less than {minimum}% of their volume from customers")
    for t in below:
        share = t.team.customer_share
        console.print(f"  {t.name} (member {t.member_id}): team volume {t.team.total / 100:,.2f},"
                      f" {float(share or 0):.1%} from customers")


@app.command()
def rewards(ctx: typer.Context, period: LastOpt = None,
            months: Annotated[int, typer.Option(min=1, max=120)] = 12,
            as_json: JsonOpt = False) -> None:
    """The recruitment-reward index: each month's commissions from enrollment packs and new
    members versus repeat consumption."""
    from patronage.compliance.recruitment import reward_mix

    last = _last(ctx, period)
    first = last
    for _ in range(months - 1):
        first = first.previous()
    rows = [r for r in reward_mix(state(ctx).engine(), first, last) if r.rank is None]
    if as_json:
        emit_json([{"period": r.period, "total": r.total, "enrollment": r.enrollment,
                    "new_members": r.new_members, "consumption": r.consumption,
                    "index": _share(r.recruitment_share)} for r in rows])
        return
    for r in rows:
        index = r.recruitment_share
        console.print(f"{r.period}: paid {r.total / 100:,.2f}; enrollment "
                      f"{r.enrollment / 100:,.2f}, new members {r.new_members / 100:,.2f}, "
                      f"consumption {r.consumption / 100:,.2f}; index "
                      + ("-" if index is None else f"{float(index):.1%}"))


@app.command()
def flags(ctx: typer.Context, period: LastOpt = None,
          used: Annotated[int | None, typer.Option(
              min=0, max=100, help="Least share of own purchases used or sold (%); default "
                                   "PATRONAGE_FLAG_USED_SHARE_BP.")] = None,
          as_json: JsonOpt = False) -> None:
    """Compliance flags of a committed month: inventory loading, returns after a rank, volume
    without customers, and accounts sharing an address or a card (as they are now)."""
    from dataclasses import replace

    from patronage.clock import zone
    from patronage.compliance.flags import FlagRules, load_flags

    last = _last(ctx, period)
    settings = state(ctx).settings()
    rules = FlagRules.of(settings)
    if used is not None:
        rules = replace(rules, used_share=used * 100)
    found = load_flags(state(ctx).engine(), last, rules, zone(settings.company_timezone))
    if as_json:
        emit_json([{"kind": f.kind, "member_id": f.member_id, "name": f.name,
                    "period": f.period, "subject": f.subject, "own": f.own,
                    "usual": f.loading.usual if f.loading else None,
                    "customer": f.loading.customer if f.loading else None,
                    "reason": f.reason, "cleared": f.cleared_note}
                   for f in found])
        return
    console.print(f"{last}: {len(found):,} flag(s)")
    for f in found:
        cleared = "" if f.cleared_note is None else f" [cleared: {f.cleared_note}]"
        console.print(f"  {f.kind} {f.subject}: {f.name} (member {f.member_id}): "
                      f"{f.reason}{cleared}", markup=False)


@app.command("clear-flag")
def clear_flag_command(ctx: typer.Context,
                       member: Annotated[int, typer.Option("--member")],
                       note: Annotated[str, typer.Option("--note", help="What was found.")],
                       period: Annotated[str | None, typer.Option(
                           "--period", help="YYYY-MM: the month of a monthly flag.")] = None,
                       kind: Annotated[str, typer.Option(
                           "--kind", help="loading, rank_returns, no_customers, "
                                          "shared_address or shared_card.")] = "loading",
                       subject: Annotated[str | None, typer.Option(
                           "--subject", help="A shared-account flag's subject (as listed by "
                                             "`compliance flags`).")] = None,
                       by: Annotated[str, typer.Option("--by", help="Who clears it.")] = "staff",
                       now: NowOpt = None) -> None:
    """Clear a distributor's compliance flag with a note (with flags as payout holds, this
    lifts the hold)."""
    from patronage.compliance.flags import MONTHLY, clear_flag
    from patronage.db.engine import transaction
    from patronage.errors import PatronageError

    what = period if kind in MONTHLY else subject
    if not what:
        raise PatronageError(f"--kind {kind}: give the flag's "
                             + ("--period" if kind in MONTHLY else "--subject"))
    with transaction(state(ctx).engine()) as session:
        clear_flag(session, member, what, note, by=by, now=parse_now(now), kind=kind)
    console.print(f"member {member}: the {kind} flag of {what} is cleared")


MemberOpt = Annotated[int, typer.Option("--member", help="The distributor's member id.")]
KeyOpt = Annotated[str, typer.Option(
    "--key", help="A key naming the request: the same key twice records it once.")]
NoteOpt = Annotated[str, typer.Option("--note", help="What staff saw (kept with it).")]


@app.command("buy-back")
def buy_back_command(ctx: typer.Context, member: MemberOpt,
                     order: Annotated[int, typer.Option("--order", help="The order returned.")],
                     key: KeyOpt, note: NoteOpt = "", now: NowOpt = None,
                     as_json: JsonOpt = False) -> None:
    """Take back resaleable inventory of a distributor's order at the company's buy-back share
    (PATRONAGE_BUY_BACK_SHARE_BP); the next run claws back its commissions."""
    from patronage.compliance.buyback import ReturnRules, buy_back
    from patronage.db.engine import transaction

    st = state(ctx)
    with transaction(st.engine()) as session:
        done = buy_back(session, member, order, now=parse_now(now),
                        rules=ReturnRules.of(st.settings()), key=key, note=note,
                        company_zone=st.company_zone())
        data = {"id": done.id, "order_id": done.order_id, "refund_id": done.refund_id,
                "amount": done.amount, "currency": done.currency, "share_bp": done.share_bp}
        done_amount = done.amount
    if as_json:
        emit_json(data)
        return
    console.print(f"order {order}: {done_amount / 100:,.2f} {data['currency']} refunded "
                  f"({done.share_bp / 100:g}% of the net price); commissions on it are clawed "
                  "back by the next run")


@app.command("cool-off")
def cool_off_command(ctx: typer.Context, member: MemberOpt, key: KeyOpt, note: NoteOpt = "",
                     now: NowOpt = None, as_json: JsonOpt = False) -> None:
    """Cancel a new distributor's enrollment within the cooling-off days
    (PATRONAGE_COOLING_OFF_DAYS): every order refunded in full, the member terminated."""
    from patronage.compliance.buyback import ReturnRules, cool_off
    from patronage.db.engine import transaction

    st = state(ctx)
    with transaction(st.engine()) as session:
        done = cool_off(session, member, now=parse_now(now), rules=ReturnRules.of(st.settings()),
                        key=key, note=note, company_zone=st.company_zone())
        data = [{"order_id": d.order_id, "refund_id": d.refund_id, "amount": d.amount,
                 "currency": d.currency} for d in done]
    if as_json:
        emit_json(data)
        return
    console.print(f"member {member}: enrollment cancelled, {len(data)} order(s) refunded in full")


claims_app = typer.Typer(help="Forbidden income and health claims: the company's list and the "
                              "check of templates and testimonials.", no_args_is_help=True)
app.add_typer(claims_app, name="claims")


@claims_app.command("add")
def claims_add(ctx: typer.Context,
               phrase: Annotated[str, typer.Argument(help="The words forbidden.")],
               kind: Annotated[str, typer.Option("--kind", help="income or health.")],
               reason: Annotated[str, typer.Option("--reason", help="Why it is forbidden.")],
               now: NowOpt = None) -> None:
    """Add a phrase to the company's forbidden claims."""
    from patronage.compliance.claims import add_claim
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as session:
        row = add_claim(session, phrase, kind, reason, now=parse_now(now))
        console.print(f"forbidden ({row.kind}): {row.phrase!r}: {row.reason}")


@claims_app.command("list")
def claims_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The forbidden phrases: built in, then the company's own."""
    from patronage.compliance.claims import company_claims
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as session:
        claims = company_claims(session)
    if as_json:
        emit_json([{"phrase": c.phrase, "kind": c.kind, "reason": c.reason} for c in claims])
        return
    for c in claims:
        console.print(f"{c.kind:6} {c.phrase!r}: {c.reason}")


@claims_app.command("check")
def claims_check(ctx: typer.Context,
                 templates: Annotated[str | None, typer.Option(
                     "--templates", help="A folder of care templates (default: the shipped "
                     "ones).")] = None,
                 as_json: JsonOpt = False) -> None:
    """Check the care templates and the testimonials against every forbidden phrase; exits 1
    when one is found."""
    from pathlib import Path

    from patronage.care.content import TEMPLATE_DIR, TemplateSet
    from patronage.compliance.claims import company_claims, flagged_testimonials
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as session:
        claims = company_claims(session)
        stories = flagged_testimonials(session)
    folder = Path(templates) if templates else TEMPLATE_DIR
    found = [p for p in TemplateSet(folder, claims).check_all() if " claim " in p.reason]
    found += [p for t in stories for p in t.problems]
    if as_json:
        emit_json([{"place": p.place, "reason": p.reason} for p in found])
    else:
        for p in found:
            console.print(f"{p.place}: {p.reason}")
        console.print(f"{len(found)} forbidden claim(s) found")
    if found:
        raise typer.Exit(1)


agreement_app = typer.Typer(help="The distributor agreement's versions and who accepted them.",
                            no_args_is_help=True)
app.add_typer(agreement_app, name="agreement")


@agreement_app.command("publish")
def agreement_publish(ctx: typer.Context,
                      version: Annotated[str, typer.Option("--version", help="e.g. 2027-1")],
                      title: Annotated[str, typer.Option("--title")],
                      text: Annotated[str, typer.Option(
                          "--file", help="A text file with the agreement (paragraphs "
                          "separated by a blank line).")],
                      now: NowOpt = None) -> None:
    """Publish a version: every distributor is asked to accept it at their next sign-in."""
    from pathlib import Path

    from patronage.compliance.agreements import publish_version
    from patronage.db.engine import transaction

    body = Path(text).read_text(encoding="utf-8")
    with transaction(state(ctx).engine()) as session:
        row = publish_version(session, version, title, body, now=parse_now(now))
        console.print(f"version {row.version} published {row.published_at:%Y-%m-%d %H:%M}")


@agreement_app.command("status")
def agreement_status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The current version and how many distributors accepted each version."""
    from patronage.compliance.agreements import agreement_summary
    from patronage.db.engine import transaction

    st = state(ctx)
    with transaction(st.engine()) as session:
        s = agreement_summary(session, st.settings().agreement_version)
    if as_json:
        emit_json({"current": s.current, "distributors": s.distributors,
                   "accepted_current": s.accepted_current, "pending": s.pending,
                   "versions": [{"version": v.version, "accepted": v.accepted}
                                for v in s.versions]})
        return
    console.print(f"version {s.current}: {s.accepted_current:,} of {s.distributors:,} "
                  f"distributors accepted it; {s.pending:,} to ask at their next sign-in")
    for v in s.versions:
        console.print(f"  {v.version}: {v.accepted:,}")


@app.command()
def disclosure(ctx: typer.Context,
               year: Annotated[int, typer.Option(min=2000, max=2100, help="The year.")],
               as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
               pdf: Annotated[str | None, typer.Option(
                   "--pdf", help="Also write the statement as a PDF to this file.")] = None,
               as_json: JsonOpt = False) -> None:
    """The income disclosure statement of a year: every participant, zero earners included,
    by highest paid-as rank; then the full-year cohort."""
    from patronage.clock import zone
    from patronage.compliance.disclosure import income_disclosure
    from patronage.languages.formatting import major_amount

    st = state(ctx)
    d = income_disclosure(st.engine(), year, zone(st.company_zone()))
    if pdf:
        from pathlib import Path

        from patronage.compliance.disclosure_pdf import disclosure_pdf

        Path(pdf).write_bytes(disclosure_pdf(d, st.settings().typical_expenses))
    rows = []
    for table, group in (("all", d.everyone), ("full_year", d.full_year)):
        for r in group:
            rows.append({
                "table": table,
                "paid_as_rank": "all" if r.rank is None else (d.rank_name(r.rank) or "no rank"),
                "participants": r.headcount, "share": _share(r.share),
                "earned_nothing": r.earned_nothing, "mean": str(major_amount(r.mean, d.currency)),
                "median": str(major_amount(r.median, d.currency)),
                **{f"p{p}": str(major_amount(v, d.currency)) for p, v in r.percentiles.items()},
                "lowest": str(major_amount(r.lowest, d.currency)),
                "highest": str(major_amount(r.highest, d.currency)),
                "currency": d.currency})
    if as_json:
        emit_json({"year": year, "periods": list(d.periods), "participants": d.participants,
                   "rows": rows})
        return
    if as_csv:
        from patronage.csv_cells import safe_mapping

        out = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(safe_mapping(r) for r in rows)
        return
    console.print(f"income disclosure {year} ({', '.join(d.periods)}): {d.participants:,} "
                  f"participants, {d.full_year_participants:,} for the full year; gross, "
                  f"before expenses; {d.currency}")
    for row in rows:
        console.print(f"  {row['table']:9} {row['paid_as_rank']:>14}: "
                      f"{row['participants']:>7,} ({row['share']:.1%}), nothing "
                      f"{row['earned_nothing']:,}, median {row['median']}, mean {row['mean']}, "
                      f"p90 {row['p90']}, top {row['highest']}")
