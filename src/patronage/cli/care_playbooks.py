"""``patronage care playbook``: team playbooks, written, shared, adopted, updated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state

app = typer.Typer(help="Team playbooks: care rules a leader shares and a team adopts.",
                  no_args_is_help=True)

AuthorOpt = Annotated[int | None, typer.Option(
    "--author", help="The distributor who writes it (default: the company).")]
MemberOpt = Annotated[int, typer.Option("--member", help="The distributor.")]
RulesFile = Annotated[Path | None, typer.Option(
    "--rules", help="The company's rules file (default: the shipped rules).")]


def _company(path: Path | None) -> Any:
    from patronage.care.core.rules import load_rules

    return load_rules(path)


def _line(book: Any) -> dict[str, Any]:
    return {"id": book.id, "name": book.name, "author": book.author_id,
            "version": book.version, "shared": book.shared, "based_on": book.based_on_id,
            "rules": len(json.loads(book.rules))}


@app.command("write")
def write(ctx: typer.Context, name: Annotated[str, typer.Option("--name")],
          source: Annotated[Path | None, typer.Option(
              "--from", help="A TOML file of [[rules]] (default: the company's rules).")] = None,
          author: AuthorOpt = None,
          playbook: Annotated[int | None, typer.Option(
              "--id", help="Change this playbook (the author's own) instead.")] = None,
          now: NowOpt = None, rules: RulesFile = None, as_json: JsonOpt = False) -> None:
    """Write a playbook (checked against the company's rules: every problem at once)."""
    from patronage.care import playbooks as pb
    from patronage.care.core.playbooks import rules_data
    from patronage.db.engine import transaction
    from patronage.errors import read_toml

    company = _company(rules)
    data: Any = read_toml(source, "playbook file") if source else rules_data(company.active)
    with transaction(state(ctx).engine()) as s:
        book = pb.write_playbook(s, company, author, name, data, parse_now(now),
                                 playbook_id=playbook, source=str(source or "playbook"))
        out = _line(book)
    if as_json:
        emit_json(out)
        return
    console.print(f"playbook {out['id']} {out['name']!r}: {out['rules']} rules, version "
                  f"{out['version']}")


@app.command("share")
def share(ctx: typer.Context, playbook: Annotated[int, typer.Argument()],
          author: AuthorOpt = None,
          stop: Annotated[bool, typer.Option("--stop", help="Stop sharing it.")] = False) -> None:
    """Share a playbook with the author's downline (the company's: with everyone)."""
    from patronage.care import playbooks as pb
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as s:
        book = pb.share(s, author, playbook, not stop)
        console.print(f"playbook {book.id} {'shared' if book.shared else 'no longer shared'}")


@app.command("list")
def list_command(ctx: typer.Context, member: Annotated[int | None, typer.Option(
        "--member", help="What this distributor follows and may adopt.")] = None,
                 as_json: JsonOpt = False) -> None:
    """Every playbook, or a distributor's: the one they follow, those offered, an update."""
    from sqlalchemy import select

    from patronage.care import playbooks as pb
    from patronage.db.care_playbooks import Playbook
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as s:
        if member is None:
            out: dict[str, Any] = {"playbooks": [_line(b) for b in s.scalars(
                select(Playbook).order_by(Playbook.id))]}
        else:
            mine, update = pb.adopted(s, member), pb.update_offered(s, member)
            out = {"follows": _line(mine) if mine else None,
                   "offered": [_line(b) for b in pb.offered(s, member)],
                   "update": _line(update.source) if update else None}
    if as_json:
        emit_json(out)
        return
    if member is None:
        for b in out["playbooks"]:
            shared = ", shared" if b["shared"] else ""
            console.print(f"{b['id']:>6}  {b['name']}  (author {b['author'] or 'company'}, "
                          f"v{b['version']}, {b['rules']} rules{shared})")
        return
    follows = out["follows"]
    console.print(f"member {member} follows " + (f"playbook {follows['id']} {follows['name']!r}"
                                                 if follows else "the company's rules"))
    for b in out["offered"]:
        console.print(f"  offered: playbook {b['id']} {b['name']!r} (author "
                      f"{b['author'] or 'company'}, v{b['version']})")
    if out["update"]:
        console.print(f"  update offered: version {out['update']['version']} of playbook "
                      f"{out['update']['id']} (care playbook update --member {member} --take)")


@app.command("adopt")
def adopt(ctx: typer.Context, playbook: Annotated[int, typer.Argument()], member: MemberOpt,
          now: NowOpt = None) -> None:
    """Adopt a playbook shared by the upline (or the company): the member gets their copy."""
    from patronage.care import playbooks as pb
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as s:
        book = pb.adopt(s, member, playbook, parse_now(now))
        console.print(f"member {member} follows playbook {book.id} {book.name!r}")


@app.command("update")
def update(ctx: typer.Context, member: MemberOpt,
           take: Annotated[bool, typer.Option("--take/--keep", help="Take the leader's new "
                                              "version, or keep one's own.")] = True,
           now: NowOpt = None) -> None:
    """Answer an offered update of the playbook a member's copy came from."""
    from patronage.care import playbooks as pb
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as s:
        book = pb.answer_update(s, member, take, parse_now(now))
        console.print(f"playbook {book.id}: {'update taken' if take else 'kept as it was'}")


@app.command("leave")
def leave(ctx: typer.Context, member: MemberOpt) -> None:
    """Follow the company's rules again."""
    from patronage.care import playbooks as pb
    from patronage.db.engine import transaction

    with transaction(state(ctx).engine()) as s:
        pb.leave(s, member)
    console.print(f"member {member} follows the company's rules")


@app.command("template")
def template(ctx: typer.Context, playbook: Annotated[int, typer.Argument()],
             occasion: Annotated[str, typer.Option("--occasion")],
             channel: Annotated[str, typer.Option("--channel", help="email, card or task.")],
             title: Annotated[str | None, typer.Option(
                 "--title", help="An email's subject, a card's front greeting.")] = None,
             body: Annotated[str | None, typer.Option(
                 "--body", help="An email's text, a card's inside, a task's line.")] = None,
             author: AuthorOpt = None,
             remove: Annotated[bool, typer.Option(
                 "--remove", help="Go back to the company's template.")] = False,
             now: NowOpt = None) -> None:
    """Word a playbook's email, card or task for an occasion (its own template, checked like
    the company's and against the company's forbidden phrases), or --remove it."""
    from patronage.care import playbook_templates as pt
    from patronage.compliance.claims import company_claims
    from patronage.db.engine import transaction
    from patronage.errors import PatronageError

    with transaction(state(ctx).engine()) as s:
        if remove:
            gone = pt.remove_template(s, author, playbook, occasion, channel, parse_now(now))
            console.print(f"playbook {playbook}: the {channel} for {occasion} is the "
                          f"company's{'' if gone else ' already'}")
            return
        if body is None:
            raise PatronageError("--body: the text to send (or --remove)")
        pt.set_template(s, author, playbook, occasion, channel, title, body, parse_now(now),
                        claims=company_claims(s))
    console.print(f"playbook {playbook}: its own {channel} for {occasion}")


gift_app = typer.Typer(help="Samples and gifts sent with care cards: the budgets.",
                       no_args_is_help=True)


def _minor(text: str, name: str) -> int:
    from decimal import Decimal, InvalidOperation

    from patronage.errors import PatronageError

    try:
        d = Decimal(text)
    except InvalidOperation:
        raise PatronageError(f"--{name}: {text!r} is not an amount") from None
    if d < 0 or d * 100 != (d * 100).to_integral_value():
        raise PatronageError(f"--{name}: {text} is not a non-negative amount, 2 decimals at most")
    return int(d * 100)


@gift_app.command("budget")
def gift_budget(ctx: typer.Context,
                per_month: Annotated[str, typer.Option("--per-month", help="e.g. 250.00")],
                per_customer_year: Annotated[str, typer.Option(
                    "--per-customer-year", help="e.g. 30.00")],
                payer: Annotated[int | None, typer.Option(
                    "--distributor", help="The distributor's own budget (default: the "
                    "company's).")] = None,
                now: NowOpt = None) -> None:
    """Set the gift budget of the company or of a distributor (at wholesale cost)."""
    from patronage.care.gifts import set_budget
    from patronage.db.engine import transaction

    month, year = _minor(per_month, "per-month"), _minor(per_customer_year, "per-customer-year")
    with transaction(state(ctx).engine()) as s:
        set_budget(s, payer, per_month=month, per_customer_year=year, now=parse_now(now))
    console.print(f"gift budget of {'distributor ' + str(payer) if payer else 'the company'}: "
                  f"{per_month} a month, {per_customer_year} a customer a year")
