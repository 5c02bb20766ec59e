"""SEPA credit transfer initiation: ISO 20022 ``pain.001.001.03``, written with ``sepaxml``.

One payment information block (batch booking) for the execution date, one credit transfer per
payment: the payment reference is the end-to-end id and the remittance text, the amount is in
the payment's currency. A file holds one currency: in euros it carries the SEPA service level;
in another currency (a GBP payout to UK accounts, say) it is a plain ``pain.001`` without it,
which banks take for domestic transfers. The message id, the payment information id and the
creation time come from the input (:func:`patronage.payouts.core.files.file_id`), never from
the clock or chance, and the result is validated against the schema ``sepaxml`` ships
(:func:`validate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from patronage.payouts.core.accounts import PayoutAccount
from patronage.payouts.core.files import (
    Originator,
    PayoutFileError,
    PayoutPayment,
    check_payments,
    file_id,
)

SCHEMA = "pain.001.001.03"


def _transfer(config: dict[str, Any], msg_id: str, created: datetime) -> Any:
    from sepaxml import SepaTransfer

    class _Stable(SepaTransfer):  # type: ignore[misc]
        """sepaxml's transfer with the ids and the creation time given, not drawn."""

        def __init__(self) -> None:
            super().__init__(config, schema=SCHEMA, clean=True)
            self.msg_id = msg_id
            header = self._xml.find("CstmrCdtTrfInitn/GrpHdr")
            header.find("MsgId").text = msg_id
            header.find("CreDtTm").text = created.strftime("%Y-%m-%dT%H:%M:%S")

        def _finalize_batch(self) -> None:
            super()._finalize_batch()
            for n, node in enumerate(self._xml.iter("PmtInf"), start=1):
                node.find("PmtInfId").text = f"{msg_id[:31]}-{n:03d}"

    return _Stable()


def write(payments: Sequence[PayoutPayment], accounts: Mapping[int, PayoutAccount],
          originator: Originator, execution_date: date, created: datetime) -> bytes:
    check_payments(payments, accounts, ("iban",))
    currencies = sorted({p.currency for p in payments})
    if len(currencies) != 1:
        raise PayoutFileError(f"SEPA file: one currency per file, these payments are in "
                              f"{', '.join(currencies)}")
    currency = currencies[0]
    if not originator.iban:
        raise PayoutFileError("SEPA file: the company's IBAN (the account paid from) is not set")
    config: dict[str, Any] = {"name": originator.name, "IBAN": originator.iban,
                              "currency": currency, "batch": True,
                              "domestic": currency != "EUR"}
    if originator.bic:
        config["BIC"] = originator.bic
    transfer = _transfer(config, file_id("sepa", payments, execution_date), created)
    for p in payments:
        account = accounts[p.member_id]
        payment: dict[str, Any] = {
            "name": account.holder or p.payee_name, "IBAN": account.iban,
            "amount": p.amount, "currency": currency, "execution_date": execution_date,
            "description": p.payment_ref, "endtoend_id": p.payment_ref[:35],
        }
        if account.bic:
            payment["BIC"] = account.bic
        transfer.add_payment(payment)
    out: bytes = transfer.export(validate=False)
    validate(out)
    return out


@cache
def _schema() -> Any:
    import sepaxml
    from lxml import etree

    path = Path(sepaxml.__file__).parent / "schemas" / f"{SCHEMA}.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def validate(document: bytes) -> None:
    """Refuse a document that is not valid against the ``pain.001.001.03`` schema sepaxml ships
    (checked with libxml2 through lxml: a hundred thousand transfers in about a second, where
    sepaxml's own pure-Python check takes minutes and stops at a million elements)."""
    from lxml import etree

    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
    schema = _schema()
    if not schema.validate(etree.fromstring(document, parser)):
        error = schema.error_log.last_error
        raise PayoutFileError(f"SEPA file: not valid against {SCHEMA}: line {error.line}: "
                              f"{error.message}")
