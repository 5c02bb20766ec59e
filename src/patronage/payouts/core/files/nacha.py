"""US ACH: a Nacha file of PPD credits, written record by record (fixed width, 94 characters).

The layout is the one in the Nacha Operating Rules, Appendix Three (ACH record format
specifications). Positions are 1-based and inclusive, as the Rules print them:

File header (``1``): record type 1; priority code 2–3 ``01``; immediate destination 4–13
(a blank and the nine-digit routing number); immediate origin 14–23; file creation date 24–29
(YYMMDD); time 30–33 (HHMM); file id modifier 34; record size 35–37 ``094``; blocking factor
38–39 ``10``; format code 40 ``1``; immediate destination name 41–63; immediate origin name
64–86; reference code 87–94.

Batch header (``5``): service class 2–4 ``220`` (credits only); company name 5–20; company
discretionary data 21–40; company identification 41–50; standard entry class 51–53 ``PPD``;
company entry description 54–63; company descriptive date 64–69; effective entry date 70–75;
settlement date 76–78 (blank: the ACH operator fills it); originator status code 79 ``1``;
originating DFI 80–87; batch number 88–94.

Entry detail (``6``): transaction code 2–3 (``22`` checking credit, ``32`` savings credit);
receiving DFI 4–11 (the routing number's first eight digits); check digit 12; DFI account number
13–29 (left-justified); amount 30–39 (cents); individual identification number 40–54 (the
payment reference); individual name 55–76; discretionary data 77–78; addenda indicator 79
``0``; trace number 80–94 (the originating DFI and a seven-digit sequence).

Batch control (``8``): service class 2–4; entry/addenda count 5–10; entry hash 11–20 (the sum
of the receiving DFI numbers, its rightmost ten digits); total debits 21–32; total credits
33–44; company identification 45–54; message authentication code 55–73 (blank); reserved 74–79;
originating DFI 80–87; batch number 88–94.

File control (``9``): batch count 2–7; block count 8–13; entry/addenda count 14–21; entry hash
22–31; total debits 32–43; total credits 44–55; reserved 56–94.

The file is filled with records of nines to a multiple of ten records (blocking factor 10).
Records end with a line feed. Alphanumeric fields are upper case ASCII (other letters are
written without their accents), left-justified and blank-filled; numeric fields are
right-justified and zero-filled.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from patronage.payouts.core.accounts import PayoutAccount, aba_check_digit_ok
from patronage.payouts.core.files import (
    Originator,
    PayoutFileError,
    PayoutPayment,
    check_payments,
)

RECORD_SIZE = 94
BLOCKING_FACTOR = 10
SERVICE_CLASS_CREDITS = "220"
#: Transaction codes of a credit (a deposit) by account type.
CREDIT_CODES = {"checking": "22", "savings": "32"}
MAX_AMOUNT = 99_999_999_99  # ten digits of cents


def alpha(text: str, width: int) -> str:
    """An alphanumeric field: ASCII upper case, left-justified, blank-filled, cut to width."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    plain = "".join(c if 32 <= ord(c) < 127 else " " for c in plain).upper()
    return plain[:width].ljust(width)


def num(value: int, width: int) -> str:
    """A numeric field: right-justified, zero-filled; refused when it does not fit."""
    text = str(value)
    if value < 0 or len(text) > width:
        raise PayoutFileError(f"NACHA file: {value} does not fit in {width} digits")
    return text.rjust(width, "0")


def _record(*fields: str) -> str:
    line = "".join(fields)
    if len(line) != RECORD_SIZE:  # a programming error, not bad input
        raise AssertionError(f"NACHA record of {len(line)} characters: {line!r}")
    return line


def _check_originator(o: Originator) -> None:
    if not aba_check_digit_ok(o.ach_odfi_routing):
        raise PayoutFileError("NACHA file: the company's bank routing number "
                              f"{o.ach_odfi_routing!r} is not a valid routing number")
    destination = o.ach_destination or o.ach_odfi_routing
    if not aba_check_digit_ok(destination):
        raise PayoutFileError(f"NACHA file: the immediate destination {destination!r} is not a "
                              "valid routing number")
    if not o.ach_company_id or len(o.ach_company_id) > 10:
        raise PayoutFileError("NACHA file: the company identification (1 to 10 characters, "
                              "usually 1 and the EIN) is not set")
    modifier = o.ach_file_id_modifier
    if len(modifier) != 1 or not modifier.isascii() or not modifier.isalnum():
        raise PayoutFileError(f"NACHA file: the file id modifier {modifier!r} is not one "
                              "letter A-Z or digit 0-9")


def file_header(o: Originator, created: datetime) -> str:
    destination = o.ach_destination or o.ach_odfi_routing
    origin = o.ach_origin or o.ach_company_id
    return _record("1", "01", " " + destination, origin.rjust(10)[:10],
                   f"{created:%y%m%d}", f"{created:%H%M}", o.ach_file_id_modifier.upper(),
                   "094", "10", "1", alpha(o.ach_destination_name, 23), alpha(o.name, 23),
                   alpha("", 8))


def batch_header(o: Originator, execution_date: date, batch_number: int) -> str:
    return _record("5", SERVICE_CLASS_CREDITS, alpha(o.name, 16), alpha("", 20),
                   alpha(o.ach_company_id, 10), "PPD", alpha(o.ach_entry_description, 10),
                   f"{execution_date:%y%m%d}", f"{execution_date:%y%m%d}", "   ", "1",
                   o.ach_odfi_routing[:8], num(batch_number, 7))


def entry_detail(p: PayoutPayment, account: PayoutAccount, o: Originator, sequence: int) -> str:
    return _record("6", CREDIT_CODES[account.account_type], account.routing_number[:8],
                   account.routing_number[8], alpha(account.account_number, 17),
                   num(p.amount, 10), alpha(p.payment_ref, 15),
                   alpha(account.holder or p.payee_name, 22), "  ", "0",
                   o.ach_odfi_routing[:8], num(sequence, 7))


def entry_hash(routings: Sequence[str]) -> int:
    """The sum of the receiving DFI identifications (eight digits each), its rightmost ten
    digits."""
    return sum(int(r[:8]) for r in routings) % 10**10


def batch_control(count: int, hash_: int, credits: int, o: Originator,
                  batch_number: int) -> str:
    return _record("8", SERVICE_CLASS_CREDITS, num(count, 6), num(hash_, 10), num(0, 12),
                   num(credits, 12), alpha(o.ach_company_id, 10), " " * 19, " " * 6,
                   o.ach_odfi_routing[:8], num(batch_number, 7))


def file_control(batches: int, blocks: int, count: int, hash_: int, credits: int) -> str:
    return _record("9", num(batches, 6), num(blocks, 6), num(count, 8), num(hash_, 10),
                   num(0, 12), num(credits, 12), " " * 39)


def write(payments: Sequence[PayoutPayment], accounts: Mapping[int, PayoutAccount],
          originator: Originator, execution_date: date, created: datetime) -> bytes:
    check_payments(payments, accounts, ("us_ach",))
    _check_originator(originator)
    for p in payments:
        if p.currency != "USD":
            raise PayoutFileError(f"payment {p.payment_ref!r} (member {p.member_id}): an ACH "
                                  f"file pays US dollars, not {p.currency}")
        if p.amount > MAX_AMOUNT:
            raise PayoutFileError(f"payment {p.payment_ref!r} (member {p.member_id}): "
                                  "more than an ACH entry can carry (99,999,999.99)")
    records = [file_header(originator, created), batch_header(originator, execution_date, 1)]
    for n, p in enumerate(payments, start=1):
        records.append(entry_detail(p, accounts[p.member_id], originator, n))
    routings = [accounts[p.member_id].routing_number for p in payments]
    hash_ = entry_hash(routings)
    total = sum(p.amount for p in payments)
    records.append(batch_control(len(payments), hash_, total, originator, 1))
    count_with_control = len(records) + 1
    blocks = -(-count_with_control // BLOCKING_FACTOR)
    records.append(file_control(1, blocks, len(payments), hash_, total))
    records.extend("9" * RECORD_SIZE for _ in range(blocks * BLOCKING_FACTOR - len(records)))
    return "".join(r + "\n" for r in records).encode("ascii")
