"""Bank account and e-wallet details: checked, normalised and masked (pure).

A payout account is one of

- ``iban``: an IBAN and, where the rail needs it, a BIC (both checked with ``schwifty``: the
  country's length and format, the check digits, the bank code against the registry when it
  has the country);
- ``us_ach``: a US routing number (nine digits with the ABA check digit) and an account number
  (4 to 17 digits), checking or savings;
- ``ca_eft``: a Canadian institution number (3 digits), transit number (5 digits) and account
  number (7 to 12 digits);
- ``ewallet``: a provider's name and the wallet or pay-card id there.

Every refusal names the field and the reason, so a form can show it next to the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from patronage.errors import Problem, Problems

AccountKind = Literal["iban", "us_ach", "ca_eft", "ewallet"]
ACCOUNT_KINDS: tuple[AccountKind, ...] = ("iban", "us_ach", "ca_eft", "ewallet")
AchAccountType = Literal["checking", "savings"]

_DIGITS = re.compile(r"^[0-9]+$")
_WALLET = re.compile(r"^[A-Za-z0-9@._+\-]{3,64}$")


@dataclass(frozen=True)
class PayoutAccount:
    """A distributor's payout account, in the clear (only ever held in memory: stored encrypted).

    ``holder`` is the account holder's name as the bank knows it. Fields not used by ``kind``
    are empty strings."""

    kind: AccountKind
    holder: str
    iban: str = ""
    bic: str = ""
    routing_number: str = ""
    account_number: str = ""
    account_type: AchAccountType = "checking"
    institution: str = ""
    transit: str = ""
    provider: str = ""
    wallet_id: str = ""

    @property
    def last_four(self) -> str:
        """The last four characters of the number that identifies the account."""
        number = {"iban": self.iban, "ewallet": self.wallet_id}.get(self.kind,
                                                                     self.account_number)
        return number[-4:]

    @property
    def masked(self) -> str:
        """``•••• 1234``: what pages, lists and emails show."""
        return f"•••• {self.last_four}"

    def describe(self) -> str:
        """The kind and the masked number, e.g. ``bank account (IBAN) •••• 1234``."""
        label = {"iban": "bank account (IBAN)", "us_ach": "US bank account",
                 "ca_eft": "Canadian bank account", "ewallet": f"e-wallet {self.provider}"}
        return f"{label[self.kind]} {self.masked}"


def aba_check_digit_ok(routing: str) -> bool:
    """The ABA routing number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)."""
    if len(routing) != 9 or not _DIGITS.match(routing):
        return False
    d = [int(c) for c in routing]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return total % 10 == 0


def _clean(text: str) -> str:
    return re.sub(r"[\s\-]", "", text or "")


def _check_iban(iban: str, bic: str, problems: list[Problem]) -> tuple[str, str]:
    from schwifty import BIC, IBAN
    from schwifty.exceptions import SchwiftyException

    compact = _clean(iban).upper()
    checked_iban = ""
    if not compact:
        problems.append(Problem("iban", "is required"))
    else:
        try:
            checked_iban = IBAN(compact).compact
        except SchwiftyException as exc:
            problems.append(Problem("iban", f"{compact!r} is not a valid IBAN: {exc}"))
    checked_bic = ""
    if _clean(bic):
        try:
            checked_bic = str(BIC(_clean(bic).upper()))
        except SchwiftyException as exc:
            problems.append(Problem("bic", f"{_clean(bic).upper()!r} is not a valid BIC: {exc}"))
    return checked_iban, checked_bic


def check_account(account: PayoutAccount) -> PayoutAccount:
    """The account with its numbers normalised (spaces and dashes taken out, letters upper
    case), or :class:`Problems` naming each field that is wrong and why."""
    problems: list[Problem] = []
    holder = " ".join((account.holder or "").split())
    if not holder:
        problems.append(Problem("holder", "the account holder's name is required"))
    elif len(holder) > 70:
        problems.append(Problem("holder", "at most 70 characters"))
    if account.kind == "iban":
        iban, bic = _check_iban(account.iban, account.bic, problems)
        result = PayoutAccount("iban", holder, iban=iban, bic=bic)
    elif account.kind == "us_ach":
        routing = _clean(account.routing_number)
        number = _clean(account.account_number)
        if not (len(routing) == 9 and _DIGITS.match(routing)):
            problems.append(Problem("routing_number", "a US routing number has nine digits"))
        elif not aba_check_digit_ok(routing):
            problems.append(Problem("routing_number",
                                    f"{routing} fails the routing number check digit"))
        if not (4 <= len(number) <= 17 and _DIGITS.match(number)):
            problems.append(Problem("account_number", "an account number has 4 to 17 digits"))
        if account.account_type not in ("checking", "savings"):
            problems.append(Problem("account_type", "checking or savings"))
        result = PayoutAccount("us_ach", holder, routing_number=routing, account_number=number,
                               account_type=account.account_type)
    elif account.kind == "ca_eft":
        institution = _clean(account.institution)
        transit = _clean(account.transit)
        number = _clean(account.account_number)
        if not (len(institution) == 3 and _DIGITS.match(institution)):
            problems.append(Problem("institution", "a Canadian institution number has 3 digits"))
        if not (len(transit) == 5 and _DIGITS.match(transit)):
            problems.append(Problem("transit", "a Canadian transit number has 5 digits"))
        if not (7 <= len(number) <= 12 and _DIGITS.match(number)):
            problems.append(Problem("account_number", "an account number has 7 to 12 digits"))
        result = PayoutAccount("ca_eft", holder, institution=institution, transit=transit,
                               account_number=number)
    elif account.kind == "ewallet":
        provider = " ".join((account.provider or "").split())
        wallet = (account.wallet_id or "").strip()
        if not provider or len(provider) > 40:
            problems.append(Problem("provider", "the e-wallet provider's name (1 to 40 "
                                                "characters) is required"))
        if not _WALLET.match(wallet):
            problems.append(Problem("wallet_id", "3 to 64 letters, digits or @ . _ + -"))
        result = PayoutAccount("ewallet", holder, provider=provider, wallet_id=wallet)
    else:
        problems.append(Problem("kind", f"{account.kind!r} is not one of "
                                        f"{', '.join(ACCOUNT_KINDS)}"))
        result = account
    if problems:
        raise Problems("payout method refused", problems)
    return result
