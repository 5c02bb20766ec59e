"""The CSV for e-wallet and pay-card providers.

UTF-8, comma separated, a header row, one row per payment in the batch's order, ``\\r\\n``
line ends (RFC 4180). The columns:

=================  ==========================================================================
``payment_ref``    the payment's reference (unique in the batch; the provider echoes it back)
``member_id``      the distributor's member id
``payee_name``     the wallet holder's name
``provider``       the e-wallet or pay-card provider the wallet is at
``wallet_id``      the wallet or card id at the provider
``amount``         the amount as a decimal with the currency's minor units (``1234.50``)
``currency``       ISO 4217 code
``execution_date`` the pay date, ``YYYY-MM-DD``
=================  ==========================================================================

Cells that a spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``, ``@``)
are written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from babel.numbers import get_currency_precision

from patronage.money import format_amount
from patronage.payouts.core.accounts import PayoutAccount
from patronage.payouts.core.files import Originator, PayoutPayment, check_payments

COLUMNS = ("payment_ref", "member_id", "payee_name", "provider", "wallet_id", "amount",
           "currency", "execution_date")


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def write(payments: Sequence[PayoutPayment], accounts: Mapping[int, PayoutAccount],
          originator: Originator, execution_date: date, created: datetime) -> bytes:
    check_payments(payments, accounts, ("ewallet",))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for p in payments:
        account = accounts[p.member_id]
        writer.writerow([_cell(p.payment_ref), p.member_id,
                         _cell(account.holder or p.payee_name), _cell(account.provider),
                         _cell(account.wallet_id),
                         format_amount(p.amount, get_currency_precision(p.currency)),
                         p.currency, execution_date.isoformat()])
    return out.getvalue().encode("utf-8")
