"""Payout methods: the account each distributor is paid into.

``set_method`` checks the details (``patronage.payouts.core.accounts``), stores them encrypted
(``patronage.payouts.secrets``), logs the change and queues the email that tells the
distributor; ``send_notices`` sends queued emails after the change is committed. A new or
changed method holds the distributor's payouts for the company's cooling period
(``PATRONAGE_PAYOUT_COOLING_DAYS``): if someone else changed it, the distributor has time to
say so before any money goes to the new account.

For the payout batch: ``accounts_for`` (the accounts in the clear, for the files) and
``method_holds`` (why a member's payout is held: no method, no valid tax id, a recent change).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any, Protocol

from sqlalchemy import Connection, func, select, true
from sqlalchemy.orm import Session

from patronage import audit
from patronage.db.payout_methods import PayoutMethod, PayoutMethodChange, TaxIdRecord
from patronage.db.tables import Member
from patronage.errors import N_, NotFound, PatronageError
from patronage.languages import gettext as _
from patronage.languages import use_locale
from patronage.languages.formatting import format_date
from patronage.payouts.core.accounts import PayoutAccount, check_account
from patronage.payouts.core.ledger import HoldReason
from patronage.payouts.core.tax_forms import kinds_for
from patronage.payouts.secrets import Vault

__all__ = ["HoldReason", "MethodView", "Sender", "accounts_for", "current_method",
           "method_hold_source", "method_holds", "method_view", "send_notices", "set_method"]


class Sender(Protocol):
    """What sends an email (``patronage.care.channels.email.SmtpSender`` in production)."""

    def send(self, msg: EmailMessage) -> None: ...


@dataclasses.dataclass(frozen=True)
class MethodView:
    """What a distributor (or staff) sees of a payout method: never the full number."""

    member_id: int
    kind: str
    label: str
    set_at: datetime
    held_until: datetime | None


def _distributor(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(N_("member %(member_id)s not found"), values={"member_id": member_id})
    if member.kind != "distributor":
        raise PatronageError(N_("member %(member_id)s is not a distributor: only distributors "
                                "are paid"),
                             values={"member_id": member_id})
    if member.status == "erased":
        raise PatronageError(N_("member %(member_id)s was erased: no payout method can be set"),
                             values={"member_id": member_id})
    return member


def _fields(account: PayoutAccount) -> dict[str, Any]:
    return dataclasses.asdict(account)


def _account(vault: Vault, member_id: int, sealed: str) -> PayoutAccount:
    return PayoutAccount(**vault.open(member_id, sealed))


def current_method(session: Session, member_id: int, *, vault: Vault) -> PayoutAccount | None:
    """The member's payout account in the clear (for the files; never shown)."""
    row = session.scalar(select(PayoutMethod).where(PayoutMethod.member_id == member_id))
    return None if row is None else _account(vault, member_id, row.sealed)


def set_method(session: Session, *, member_id: int, account: PayoutAccount, actor: str,
               vault: Vault, now: datetime) -> PayoutMethodChange | None:
    """Set the distributor's payout account (refused with the reason per field when wrong).

    Giving the same details again changes nothing (``None``: no email, no new hold). Otherwise
    the change is logged, audited and its email queued, all in the caller's transaction."""
    member = _distributor(session, member_id)
    checked = check_account(account)
    row = session.scalar(select(PayoutMethod).where(PayoutMethod.member_id == member_id)
                         .with_for_update())
    previous: str | None = None
    if row is not None:
        if _account(vault, member_id, row.sealed) == checked:
            return None
        previous = row.label
    sealed = vault.seal(member_id, _fields(checked))
    label = checked.describe()[:80]
    if row is None:
        row = PayoutMethod(member_id=member_id, kind=checked.kind, label=label, sealed=sealed,
                           set_at=now, set_by=actor[:254])
        session.add(row)
    else:
        row.kind, row.label, row.sealed, row.set_at, row.set_by = (
            checked.kind, label, sealed, now, actor[:254])
    change = PayoutMethodChange(member_id=member_id, at=now, actor=actor[:254],
                                previous=previous, current=label,
                                notice="pending" if member.email else "no_email")
    session.add(change)
    audit.record(session, actor=actor, action="payout_method.set", target=f"member {member_id}",
                 detail=f"{previous or '(none)'} -> {label}", at=now)
    return change


def method_view(session: Session, member_id: int, *, cooling_days: int,
                now: datetime) -> MethodView | None:
    """The masked method and until when it holds payouts (``None`` when there is none)."""
    row = session.scalar(select(PayoutMethod).where(PayoutMethod.member_id == member_id))
    if row is None:
        return None
    until = row.set_at + timedelta(days=cooling_days)
    return MethodView(member_id, row.kind, row.label, row.set_at,
                      until if until > now else None)


def accounts_for(conn: Connection | Session, member_ids: Iterable[int], *,
                 vault: Vault) -> Mapping[int, PayoutAccount]:
    """The payout accounts of those members who have one, decrypted, by member id."""
    ids = sorted(set(member_ids))
    out: dict[int, PayoutAccount] = {}
    table = PayoutMethod.__table__
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        rows = conn.execute(select(table.c.member_id, table.c.sealed)
                            .where(table.c.member_id.in_(chunk))).all()
        for member_id, sealed in rows:
            out[member_id] = _account(vault, member_id, sealed)
    return out


def method_holds(conn: Connection | Session, member_ids: Iterable[int], now: datetime, *,
                 cooling_days: int) -> Mapping[int, list[HoldReason]]:
    """Why each member's payout is held (members without a reason are left out):

    - ``no_method``: no payout method;
    - ``no_tax_id``: no tax id on file, for a member in a country whose tax ids are collected
      (the member's country, else their market's, else the default market's);
    - ``method_cooling``: the method was set or changed less than the cooling period ago.
    """
    from patronage.db.markets import Market

    ids = sorted(set(member_ids))
    methods = PayoutMethod.__table__
    taxes = TaxIdRecord.__table__
    members = Member.__table__
    markets = Market.__table__
    out: dict[int, list[HoldReason]] = {}
    cooling = timedelta(days=cooling_days)
    # A member without a market is in the default one.
    default = (select(markets.c.code).where(markets.c.is_default == true())
               .limit(1).scalar_subquery())
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        rows = conn.execute(
            select(members.c.id, func.coalesce(members.c.country, markets.c.code, default),
                   methods.c.set_at, taxes.c.id)
            .select_from(members.outerjoin(markets, markets.c.id == members.c.market_id)
                         .outerjoin(methods, methods.c.member_id == members.c.id)
                         .outerjoin(taxes, taxes.c.member_id == members.c.id))
            .where(members.c.id.in_(chunk))).all()
        for member_id, country, set_at, tax_id in rows:
            reasons: list[HoldReason] = []
            if set_at is None:
                reasons.append(HoldReason("no_method", "no payout method"))
            elif set_at + cooling > now:
                reasons.append(HoldReason(
                    "method_cooling",
                    f"payout method changed on {set_at.date().isoformat()}: held until "
                    f"{(set_at + cooling).date().isoformat()}"))
            if tax_id is None and kinds_for((country or "").upper()):
                reasons.append(HoldReason("no_tax_id", "no valid tax id"))
            if reasons:
                out[member_id] = reasons
    return out


def method_hold_source(cooling_days: int) -> Callable[
        [Connection, Sequence[int], datetime], Mapping[int, list[HoldReason]]]:
    """:func:`method_holds` as a hold source of the payout batch
    (:data:`patronage.payouts.holds.HoldSource`), with the company's cooling period: the
    composition roots (command line, web pages, demo) build it from the settings."""
    if cooling_days < 0:
        raise PatronageError(N_("payout cooling days: %(cooling_days)s must not be negative"),
                             values={"cooling_days": cooling_days})

    def source(conn: Connection, member_ids: Sequence[int],
               now: datetime) -> Mapping[int, list[HoldReason]]:
        return method_holds(conn, member_ids, now, cooling_days=cooling_days)

    return source


def _notice(change: PayoutMethodChange, member: Member, *, company: str, mail_from: str,
            cooling_days: int, now: datetime) -> EmailMessage:
    domain = mail_from.rpartition("@")[2] or "patronage.invalid"
    until = change.at + timedelta(days=cooling_days)
    with use_locale(member.locale):
        when = format_date(change.at.date(), "long", member.locale)
        held = format_date(until.date(), "long", member.locale)
        subject = _("Your payout method was changed")
        lines = [
            _("Hello %(name)s,") % {"name": member.first_name},
            "",
            _("On %(date)s the account we pay you into was set to: %(current)s.")
            % {"date": when, "current": change.current},
        ]
        if change.previous:
            lines.append(_("Before, it was: %(previous)s.") % {"previous": change.previous})
        lines += [
            "",
            _("To keep your earnings safe, payouts are held until %(date)s.") % {"date": held},
            _("If you did not make this change, contact us at once and we will stop it."),
        ]
    msg = EmailMessage()
    msg["From"] = formataddr((company, mail_from))
    msg["To"] = formataddr((f"{member.first_name} {member.last_name}".strip(),
                            member.email or ""))
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<payout-method-change-{change.id}@{domain}>"
    msg.set_content("\n".join(lines) + "\n")
    return msg


def send_notices(session: Session, sender: Sender, *, company: str, mail_from: str,
                 cooling_days: int, now: datetime, limit: int = 500) -> tuple[int, int]:
    """Send the queued change emails (after the changes were committed); ``(sent, failed)``.

    Each email carries a Message-ID made from the change, so one sent again after an uncertain
    failure is recognisable as the same. A lasting failure (address refused) is marked failed;
    a passing one (server down) stays queued for the next run."""
    from patronage.care.channels.email import SendFailed

    changes = session.scalars(select(PayoutMethodChange)
                              .where(PayoutMethodChange.notice == "pending")
                              .order_by(PayoutMethodChange.id).limit(limit)).all()
    sent = failed = 0
    for change in changes:
        member = session.get(Member, change.member_id)
        if member is None or not member.email:
            change.notice = "no_email"
            continue
        try:
            sender.send(_notice(change, member, company=company, mail_from=mail_from,
                                cooling_days=cooling_days, now=now))
        except SendFailed as exc:
            change.notice_detail = exc.reason
            if exc.lasting:
                change.notice = "failed"
                failed += 1
            continue
        change.notice, change.notified_at, change.notice_detail = "sent", now, None
        sent += 1
    session.flush()
    return sent, failed


def reseal_all(session: Session, *, vault: Vault) -> int:
    """Re-encrypt every payout method and tax id with the vault's first key (after a new key
    was put first in ``PATRONAGE_PAYOUT_KEYS``); the number of records."""
    count = 0
    for method in session.scalars(select(PayoutMethod).order_by(PayoutMethod.id)):
        method.sealed = vault.rotate(method.sealed)
        count += 1
    for tax_id in session.scalars(select(TaxIdRecord).order_by(TaxIdRecord.id)):
        tax_id.sealed = vault.rotate(tax_id.sealed)
        count += 1
    session.flush()
    return count
