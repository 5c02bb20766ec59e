"""The demo company's payout methods and tax ids: a few US distributors paid by ACH and UK
distributors paid into an IBAN, each with a tax id but one, and one who changed their method
days ago (so a payout hold for the cooling period shows). The change emails go to a simulated
outbox. The demo's distributor sign-in (a leader with a team and customers on autoship)
is among them."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import Engine, func, select

from patronage.db.autoship import Subscription
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.payouts.core.accounts import PayoutAccount
from patronage.payouts.methods import send_notices, set_method
from patronage.payouts.secrets import Vault
from patronage.payouts.tax_ids import set_tax_id

#: Real routing numbers (their check digits hold): Chase NY, the Boston Fed, Bank of America,
#: Wells Fargo.
ROUTING = ("021000021", "011000015", "026009593", "121000248")
#: UK sort codes with their bank's code (NatWest, Barclays).
UK_BANKS = (("NWBK", "601613"), ("BARC", "200000"))
COOLING_DAYS_AGO = 3


class _Outbox:
    """A simulated outbox: the demo sends no email."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    def send(self, msg: EmailMessage) -> None:
        self.messages.append(msg)


def _ssn(n: int) -> str:
    return f"{123 + n:03d}{45 + n:02d}{6789 + n:04d}"


def _utr(n: int) -> str:
    from stdnum.gb import utr

    rest = f"{955839661 + 17 * n:09d}"
    return utr.calc_check_digit(rest) + rest


def _iban(n: int) -> str:
    from schwifty import IBAN

    bank, sort = UK_BANKS[n % len(UK_BANKS)]
    return IBAN.generate("GB", bank_code=bank + sort, account_code=f"{31926819 + n:08d}").compact


def _picked(engine: Engine) -> list[tuple[int, str, str]]:
    """(id, name, country) of the demo's sign-in distributor, then four US and three UK
    distributors, the earliest enrolled."""
    with transaction(engine) as s:
        top = s.execute(
            select(Member.owner_id)
            .join(Subscription, Subscription.member_id == Member.id)
            .where(Subscription.status == "active", Member.owner_id.is_not(None),
                   Member.kind != "distributor", Member.status == "active",
                   Member.locale.like("en%"))
            .group_by(Member.owner_id).order_by(func.count().desc(), Member.owner_id)
            .limit(1)).scalar()
        ids = [] if top is None else [top]
        for country, n in (("US", 4), ("GB", 3)):
            ids += s.scalars(select(Member.id).where(
                Member.kind == "distributor", Member.status == "active",
                Member.country == country, Member.id.not_in(ids or [0]))
                .order_by(Member.id).limit(n)).all()
        rows = s.execute(select(Member.id, Member.first_name, Member.last_name, Member.country)
                         .where(Member.id.in_(ids))).all()
    by_id = {r[0]: (r[0], f"{r[1]} {r[2]}".strip(), (r[3] or "US").upper()) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def add_payout_methods(engine: Engine, *, vault: Vault, now: datetime, company: str,
                       mail_from: str, cooling_days: int) -> dict[str, int]:
    """Set the demo's payout methods and tax ids; what was done, counted."""
    picked = _picked(engine)
    methods = tax_ids = 0
    with transaction(engine) as s:
        for n, (member_id, name, country) in enumerate(picked):
            if country == "GB":
                account = PayoutAccount("iban", name, iban=_iban(n))
            else:
                account = PayoutAccount("us_ach", name, routing_number=ROUTING[n % len(ROUTING)],
                                        account_number=f"{40012345 + 7919 * n}",
                                        account_type="savings" if n % 3 == 2 else "checking")
            # The last one changed it days ago: their payouts are in the cooling period.
            days_ago = COOLING_DAYS_AGO if n == len(picked) - 1 else 60
            set_method(s, member_id=member_id, account=account, actor="demo", vault=vault,
                       now=now - timedelta(days=days_ago))
            methods += 1
            if n == 2:
                continue  # one distributor has given no tax id: held, and on the 1099 list
            if country == "GB":
                set_tax_id(s, member_id=member_id, country="GB", kind="utr", number=_utr(n),
                           actor="demo", vault=vault, now=now - timedelta(days=60))
            else:
                set_tax_id(s, member_id=member_id, country="US", kind="ssn", number=_ssn(n),
                           actor="demo", vault=vault, now=now - timedelta(days=60))
            tax_ids += 1
    outbox = _Outbox()
    with transaction(engine) as s:
        sent, _failed = send_notices(s, outbox, company=company, mail_from=mail_from,
                                     cooling_days=cooling_days, now=now)
    return {"payout methods set": methods, "tax ids on file": tax_ids,
            "payout method emails (simulated outbox)": sent}
