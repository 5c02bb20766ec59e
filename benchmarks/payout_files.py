"""How long the payout files take to write: NACHA, the e-wallet CSV and SEPA pain.001 (with
its schema check), for a number of payments.

    .venv/bin/python benchmarks/payout_files.py                      # 10,000 payments
    .venv/bin/python benchmarks/payout_files.py --payments 100000

Times ``patronage.payouts.core.files.write`` alone (the accounts already decrypted), once per
kind, and prints the seconds and the file's size.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from patronage.payouts.core.accounts import PayoutAccount
from patronage.payouts.core.files import FILE_KINDS, Originator, PayoutPayment, write

ORIGINATOR = Originator("Demo Co", iban="DE02120300000000202051",
                        ach_company_id="1123456789", ach_odfi_routing="021000021")


def accounts(kind: str, n: int) -> dict[int, PayoutAccount]:
    if kind == "nacha":
        return {i: PayoutAccount("us_ach", f"Payee {i}", routing_number="021000021",
                                 account_number=f"{10_000_000 + i}") for i in range(n)}
    if kind == "sepa":
        return {i: PayoutAccount("iban", f"Payee {i}", iban="DE89370400440532013000")
                for i in range(n)}
    return {i: PayoutAccount("ewallet", f"Payee {i}", provider="PayQuicker",
                             wallet_id=f"w{i:07d}") for i in range(n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=10_000)
    n = parser.parse_args().payments
    for kind in FILE_KINDS:
        currency = "EUR" if kind == "sepa" else "USD"
        payments = [PayoutPayment(f"P{i}", i, f"Payee {i}", 1000 + i, currency)
                    for i in range(n)]
        payees = accounts(kind, n)
        started = time.perf_counter()
        out = write(kind, payments, payees, ORIGINATOR, date(2026, 11, 20))
        print(f"{kind:12} {n:>9,} payments  {time.perf_counter() - started:7.2f} s  "
              f"{len(out) / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
