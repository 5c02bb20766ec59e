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

Every refusal names the field and the reason (a fixed sentence, so a page shows it translated
next to the field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from patronage.errors import Problem, Problems
from patronage.languages import N_

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


def _schwifty_reason(exc: Exception, what: str) -> str:
    """schwifty's refusal as a fixed sentence (translated where it is shown)."""
    from schwifty import exceptions as e

    reasons: list[tuple[type[Exception], str]] = [
        (e.InvalidChecksumDigits, N_("not a valid IBAN: the check digits are wrong")),
        (e.InvalidCountryCode, N_("the country code is not one that uses these numbers")),
        (e.InvalidLength, N_("not a valid IBAN or BIC: wrong length for the country")),
        (e.InvalidBBANChecksum, N_("not a valid IBAN: the national check digits are wrong")),
        (e.InvalidBankCode, N_("the bank code is not one of a known bank")),
        (e.InvalidBranchCode, N_("the branch code is not valid")),
        (e.InvalidAccountCode, N_("the account number part is not valid")),
        (e.InvalidStructure, N_("letters or digits in the wrong places")),
    ]
    for kind, words in reasons:
        if isinstance(exc, kind):
            return words
    return N_("not a valid IBAN") if what == "iban" else N_("not a valid BIC")


def _check_iban(iban: str, bic: str, problems: list[Problem]) -> tuple[str, str]:
    from schwifty import BIC, IBAN
    from schwifty.exceptions import SchwiftyException

    compact = _clean(iban).upper()
    checked_iban = ""
    if not compact:
        problems.append(Problem("iban", N_("the IBAN is required")))
    else:
        try:
            checked_iban = IBAN(compact).compact
        except SchwiftyException as exc:
            problems.append(Problem("iban", _schwifty_reason(exc, "iban")))
    checked_bic = ""
    if _clean(bic):
        try:
            checked_bic = str(BIC(_clean(bic).upper()))
        except SchwiftyException as exc:
            problems.append(Problem("bic", _schwifty_reason(exc, "bic")))
    return checked_iban, checked_bic


def check_account(account: PayoutAccount) -> PayoutAccount:
    """The account with its numbers normalised (spaces and dashes taken out, letters upper
    case), or :class:`Problems` naming each field that is wrong and why."""
    problems: list[Problem] = []
    holder = " ".join((account.holder or "").split())
    if not holder:
        problems.append(Problem("holder", N_("the account holder's name is required")))
    elif len(holder) > 70:
        problems.append(Problem("holder", N_("at most 70 characters")))
    if account.kind == "iban":
        iban, bic = _check_iban(account.iban, account.bic, problems)
        result = PayoutAccount("iban", holder, iban=iban, bic=bic)
    elif account.kind == "us_ach":
        routing = _clean(account.routing_number)
        number = _clean(account.account_number)
        if not (len(routing) == 9 and _DIGITS.match(routing)):
            problems.append(Problem("routing_number", N_("a US routing number has nine digits")))
        elif not aba_check_digit_ok(routing):
            problems.append(Problem("routing_number",
                                    N_("the routing number's check digit is wrong")))
        if not (4 <= len(number) <= 17 and _DIGITS.match(number)):
            problems.append(Problem("account_number", N_("an account number has 4 to 17 digits")))
        if account.account_type not in ("checking", "savings"):
            problems.append(Problem("account_type", N_("checking or savings")))
        result = PayoutAccount("us_ach", holder, routing_number=routing, account_number=number,
                               account_type=account.account_type)
    elif account.kind == "ca_eft":
        institution = _clean(account.institution)
        transit = _clean(account.transit)
        number = _clean(account.account_number)
        if not (len(institution) == 3 and _DIGITS.match(institution)):
            problems.append(Problem("institution",
                                    N_("a Canadian institution number has 3 digits")))
        if not (len(transit) == 5 and _DIGITS.match(transit)):
            problems.append(Problem("transit", N_("a Canadian transit number has 5 digits")))
        if not (7 <= len(number) <= 12 and _DIGITS.match(number)):
            problems.append(Problem("account_number", N_("an account number has 7 to 12 digits")))
        result = PayoutAccount("ca_eft", holder, institution=institution, transit=transit,
                               account_number=number)
    elif account.kind == "ewallet":
        provider = " ".join((account.provider or "").split())
        wallet = (account.wallet_id or "").strip()
        if not provider or len(provider) > 40:
            problems.append(Problem("provider", N_("the e-wallet provider's name (1 to 40 "
                                                   "characters) is required")))
        if not _WALLET.match(wallet):
            problems.append(Problem("wallet_id", N_("3 to 64 letters, digits or @ . _ + -")))
        result = PayoutAccount("ewallet", holder, provider=provider, wallet_id=wallet)
    else:
        problems.append(Problem("kind", N_("choose a bank account (IBAN, US or Canadian) or "
                                           "an e-wallet")))
        result = account
    if problems:
        raise Problems("payout method refused", problems)
    return result
