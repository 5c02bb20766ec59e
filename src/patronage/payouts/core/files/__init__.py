"""Payout files for the rails companies pay through (pure: values in, bytes out).

The payout batch hands over its payments (:class:`PayoutPayment`), the payees' accounts in the
clear (:class:`~patronage.payouts.core.accounts.PayoutAccount`, from
``patronage.payouts.methods.accounts_for``) and the company's own details (:class:`Originator`);
:func:`write` returns the file:

- ``sepa``: ISO 20022 ``pain.001.001.03`` credit transfer initiation (``sepaxml``), checked
  against the schema before it is returned;
- ``nacha``: a US ACH file of PPD credits (Nacha fixed-width records);
- ``ewallet_csv``: a CSV for e-wallet and pay-card providers.

The same input gives the same bytes: nothing depends on the clock (the file's creation time is
``created``, by default the execution date at midnight) or on chance (message ids are derived
from the payments).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal

from patronage.errors import PatronageError
from patronage.payouts.core.accounts import PayoutAccount

FileKind = Literal["sepa", "nacha", "ewallet_csv"]
FILE_KINDS: tuple[FileKind, ...] = ("sepa", "nacha", "ewallet_csv")
#: The payout method kinds each file pays (a ``ca_eft`` account has no file yet).
RAIL_OF: dict[str, FileKind] = {"iban": "sepa", "us_ach": "nacha", "ewallet": "ewallet_csv"}
#: The currencies a file can pay (``None``: any, one per file).
RAIL_CURRENCIES: dict[FileKind, tuple[str, ...] | None] = {
    "sepa": None, "nacha": ("USD",), "ewallet_csv": None}

__all__ = [
    "FILE_KINDS",
    "RAIL_CURRENCIES",
    "RAIL_OF",
    "FileKind",
    "Originator",
    "PayoutAccount",
    "PayoutFileError",
    "PayoutPayment",
    "file_id",
    "rail_for",
    "write",
]


class PayoutFileError(PatronageError):
    """A payout file cannot be written from this input (the reason names the payment)."""

    code = "invalid"


@dataclass(frozen=True)
class PayoutPayment:
    """One payment of a payout batch: ``amount`` in minor units of ``currency`` (positive)."""

    payment_ref: str
    member_id: int
    payee_name: str
    amount: int
    currency: str


@dataclass(frozen=True)
class Originator:
    """The paying company, as its bank knows it.

    SEPA: ``name``, ``iban`` (the debtor account) and optionally ``bic``.
    NACHA: ``name`` (company name, 16 characters in the batch header), ``ach_company_id``
    (10 characters, usually ``1`` and the EIN), ``ach_odfi_routing`` (the company's bank's
    routing number), ``ach_destination`` and ``ach_destination_name`` (the ACH operator or bank
    the file goes to; by default the company's bank), ``ach_origin`` (10 characters; by default
    the company id), ``ach_entry_description`` (10 characters on the payee's statement),
    ``ach_file_id_modifier`` (A–Z or 0–9: tells apart files made on the same day).
    E-wallet CSV: ``name`` only.
    """

    name: str
    iban: str = ""
    bic: str = ""
    ach_company_id: str = ""
    ach_odfi_routing: str = ""
    ach_destination: str = ""
    ach_destination_name: str = ""
    ach_origin: str = ""
    ach_entry_description: str = "COMMISSION"
    ach_file_id_modifier: str = "A"


def rail_for(payment: PayoutPayment, account: PayoutAccount | None) -> FileKind | None:
    """The file a payment goes in: its payee's payout method's rail, when that rail pays the
    payment's currency (``None``: no usable method, so the payment cannot be sent)."""
    if account is None or account.kind not in RAIL_OF:
        return None
    rail = RAIL_OF[account.kind]
    currencies = RAIL_CURRENCIES[rail]
    return rail if currencies is None or payment.currency in currencies else None


def file_id(kind: str, payments: Sequence[PayoutPayment], execution_date: date) -> str:
    """A stable id of a file's content (at most 35 characters): the kind, the date and a digest
    of the payments' references and amounts."""
    digest = hashlib.sha256()
    for p in payments:
        digest.update(f"{p.payment_ref}\x1f{p.member_id}\x1f{p.amount}\x1f{p.currency}\x1e"
                      .encode())
    return f"PAT{execution_date:%Y%m%d}{kind[:1].upper()}{digest.hexdigest()[:20].upper()}"


def check_payments(payments: Sequence[PayoutPayment],
                   accounts: Mapping[int, PayoutAccount],
                   kinds: tuple[str, ...]) -> None:
    """Refuse, naming the payment: no payments, a non-positive amount, a reference used twice,
    a payee without an account or with an account the rail cannot pay."""
    if not payments:
        raise PayoutFileError("payout file: there are no payments to write")
    seen: set[str] = set()
    for p in payments:
        where = f"payment {p.payment_ref!r} (member {p.member_id})"
        if not p.payment_ref:
            raise PayoutFileError(f"payment of member {p.member_id}: the reference is empty")
        if p.payment_ref in seen:
            raise PayoutFileError(f"{where}: the reference is used twice in the file")
        seen.add(p.payment_ref)
        if p.amount <= 0:
            raise PayoutFileError(f"{where}: the amount {p.amount} is not positive")
        account = accounts.get(p.member_id)
        if account is None:
            raise PayoutFileError(f"{where}: the member has no payout method")
        if account.kind not in kinds:
            raise PayoutFileError(f"{where}: a {account.describe()} cannot be paid in this "
                                  f"file (it takes {', '.join(kinds)})")


def write(kind: FileKind, payments: Sequence[PayoutPayment],
          accounts: Mapping[int, PayoutAccount], originator: Originator,
          execution_date: date, *, created: datetime | None = None) -> bytes:
    """The payout file of ``kind`` for ``payments`` (in the order given), paid on
    ``execution_date``. ``created``: the time written as the file's creation (default: the
    execution date at 00:00), so that writing the same batch again gives the same bytes."""
    when = created or datetime.combine(execution_date, time())
    if kind == "sepa":
        from patronage.payouts.core.files import sepa

        return sepa.write(payments, accounts, originator, execution_date, when)
    if kind == "nacha":
        from patronage.payouts.core.files import nacha

        return nacha.write(payments, accounts, originator, execution_date, when)
    if kind == "ewallet_csv":
        from patronage.payouts.core.files import ewallet_csv

        return ewallet_csv.write(payments, accounts, originator, execution_date, when)
    raise PayoutFileError(f"payout file: {kind!r} is not one of {', '.join(FILE_KINDS)}")
