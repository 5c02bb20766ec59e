"""Tax ids: collected per country's format, stored encrypted, shown masked, read in full only
by staff granted it, every full read audited.

Distributors and staff set a tax id (``set_tax_id``); everyone who may see the member sees the
country, the kind and ``•••• 1234`` (``tax_id_view``). The full number (``reveal_tax_id``) is
for staff accounts on the tax id readers list (``grant_reader``: the people who file the
company's tax forms), and each reveal is written to the audit log (``tax_id.viewed``) in the
same transaction: no record, no number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage import audit
from patronage.access import Forbidden
from patronage.db.accounts import Account
from patronage.db.payout_methods import TaxIdReader, TaxIdRecord
from patronage.db.tables import Member
from patronage.errors import N_, NotFound, PatronageError
from patronage.payouts.core.tax_forms import TaxId, check_tax_id
from patronage.payouts.secrets import Vault


@dataclass(frozen=True)
class TaxIdView:
    """What may be shown of a tax id: never the number."""

    member_id: int
    country: str
    kind: str
    masked: str
    set_at: datetime


def _member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(N_("member %(member_id)s not found"), values={"member_id": member_id})
    if member.status == "erased":
        raise PatronageError(N_("member %(member_id)s was erased: no tax id can be set"),
                             values={"member_id": member_id})
    return member


def set_tax_id(session: Session, *, member_id: int, country: str, kind: str, number: str,
               actor: str, vault: Vault, now: datetime) -> TaxIdView:
    """Check and store the member's tax id (replacing any earlier one); refused with the
    reason (field ``country``, ``kind`` or ``number``) when it is not valid. Audited, without
    the number."""
    _member(session, member_id)
    checked = check_tax_id(country, kind, number)
    sealed = vault.seal(member_id, {"country": checked.country, "kind": checked.kind,
                                    "number": checked.number})
    row = session.scalar(select(TaxIdRecord).where(TaxIdRecord.member_id == member_id)
                         .with_for_update())
    if row is None:
        row = TaxIdRecord(member_id=member_id)
        session.add(row)
    row.country, row.kind, row.last_four = checked.country, checked.kind, checked.number[-4:]
    row.sealed, row.set_at, row.set_by = sealed, now, actor[:254]
    audit.record(session, actor=actor, action="tax_id.set", target=f"member {member_id}",
                 detail=f"{checked.country} {checked.kind} {checked.masked}", at=now)
    return TaxIdView(member_id, checked.country, checked.kind, checked.masked, now)


def tax_id_view(session: Session, member_id: int) -> TaxIdView | None:
    """The masked tax id (``None`` when there is none)."""
    row = session.scalar(select(TaxIdRecord).where(TaxIdRecord.member_id == member_id))
    if row is None:
        return None
    return TaxIdView(member_id, row.country, row.kind, f"•••• {row.last_four}", row.set_at)


def _staff(session: Session, email: str) -> Account:
    account = session.scalar(select(Account).where(Account.email == email.strip().lower()))
    if account is None or account.role != "staff" or account.disabled_at is not None:
        raise Forbidden(N_("%(email)s: only an enabled staff account may read tax ids"),
                        values={"email": email})
    return account


def grant_reader(session: Session, *, email: str, actor: str, now: datetime) -> None:
    """Allow the staff account ``email`` to read tax ids in full (audited; idempotent)."""
    account = _staff(session, email)
    if session.get(TaxIdReader, account.id) is None:
        session.add(TaxIdReader(account_id=account.id, granted_at=now, granted_by=actor[:254]))
        audit.record(session, actor=actor, action="tax_id.reader_granted", target=email,
                     detail="", at=now)


def revoke_reader(session: Session, *, email: str, actor: str, now: datetime) -> None:
    """Take the right back (audited; idempotent)."""
    account = session.scalar(select(Account).where(Account.email == email.strip().lower()))
    reader = None if account is None else session.get(TaxIdReader, account.id)
    if reader is not None:
        session.delete(reader)
        audit.record(session, actor=actor, action="tax_id.reader_revoked", target=email,
                     detail="", at=now)


def reveal_tax_id(session: Session, *, member_id: int, viewer_email: str, reason: str,
                  vault: Vault, now: datetime, ip: str | None = None) -> TaxId:
    """The full tax id, for a staff account on the readers list, with the reason it is read
    (written to the audit log with who, whose and when). Anyone else is refused (forbidden)."""
    if not reason.strip():
        raise PatronageError(N_("say why the tax id is read (e.g. 'filing 1099-NEC 2026')"),
                             values={})
    account = _staff(session, viewer_email)
    if session.get(TaxIdReader, account.id) is None:
        raise Forbidden(N_("%(email)s may not read tax ids in full: a tax id reader grants it "
                           "with `patronage tax readers grant EMAIL`"),
                        values={"email": account.email})
    row = session.scalar(select(TaxIdRecord).where(TaxIdRecord.member_id == member_id))
    if row is None:
        raise NotFound(N_("member %(member_id)s has no tax id"), values={"member_id": member_id})
    data = vault.open(member_id, row.sealed)
    audit.record(session, actor=f"staff:{account.email}", action="tax_id.viewed",
                 target=f"member {member_id}", detail=reason.strip(), at=now, ip=ip)
    return TaxId(str(data["country"]), str(data["kind"]), str(data["number"]))
