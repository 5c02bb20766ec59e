"""Sign-ins for the demo company: a staff member, a distributor with customers, one of that
distributor's customers on autoship, and a Spanish-speaking customer (whose pages are in
Spanish). Fixed, public passwords: for demo mode only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, select

from patronage.db.accounts import Account, PasswordReset, WebSessionRecord
from patronage.db.autoship import Subscription
from patronage.db.engine import transaction
from patronage.db.tables import Member, Order
from patronage.demo.field import demo_distributor
from patronage.errors import PatronageError
from patronage.web.accounts import create_account


@dataclass(frozen=True)
class DemoSignIn:
    role: str
    email: str
    password: str
    member_id: int | None
    name: str


STAFF = ("staff@demo.patronage.example", "demo-staff-2026")
DISTRIBUTOR = ("distributor@demo.patronage.example", "demo-distributor-2026")
CUSTOMER = ("customer@demo.patronage.example", "demo-customer-2026")
SPANISH_CUSTOMER = ("cliente@demo.patronage.example", "demo-cliente-2026")
ENGLISH = Member.locale.like("en%")


def _pick(engine: Engine) -> tuple[Member, Member]:
    """The demo distributor (:func:`~patronage.demo.field.demo_distributor`), and of their
    customers on autoship the one with the longest order history (then the longest-standing),
    so that the demo customer's account shows orders and an autoship to manage."""
    with transaction(engine) as s:
        owner = demo_distributor(s)
        if owner is None:
            raise PatronageError("demo: no distributor has a customer on autoship; "
                                 "build the demo company first")
        row = (owner,)
        distributor = s.get(Member, owner)
        orders = (select(func.count()).select_from(Order).where(Order.buyer_id == Member.id)
                  .scalar_subquery())
        customer = s.scalars(
            select(Member).join(Subscription, Subscription.member_id == Member.id)
            .where(Member.owner_id == row[0], Subscription.status == "active",
                   Member.kind != "distributor", Member.status == "active", ENGLISH)
            .order_by(orders.desc(), Member.joined_at, Member.id).limit(1)).first()
        assert distributor is not None and customer is not None
        s.expunge_all()
        return distributor, customer


def _pick_spanish(engine: Engine) -> Member | None:
    """The longest-standing active Spanish-speaking customer with a distributor, one on
    autoship first; ``None`` when the company has none."""
    with transaction(engine) as s:
        on_autoship = (select(Subscription.id).where(Subscription.member_id == Member.id,
                                                     Subscription.status == "active").exists())
        found = s.scalars(
            select(Member).where(Member.locale.like("es%"), Member.owner_id.is_not(None),
                                 Member.kind != "distributor", Member.status == "active")
            .order_by(on_autoship.desc(), Member.joined_at, Member.id).limit(1)).first()
        if found is not None:
            s.expunge(found)
        return found


def demo_sign_ins(engine: Engine, now: datetime) -> list[DemoSignIn]:
    """Create the demo sign-ins (again with the same passwords if they exist): staff, a
    distributor, their customer, and a Spanish-speaking customer if the company has one."""
    distributor, customer = _pick(engine)
    wanted = [("staff", *STAFF, None, "Company staff"),
              ("distributor", *DISTRIBUTOR, distributor.id, distributor.name),
              ("customer", *CUSTOMER, customer.id, customer.name)]
    spanish = _pick_spanish(engine)
    if spanish is not None:
        wanted.append(("customer", *SPANISH_CUSTOMER, spanish.id,
                       f"{spanish.name} (español)"))
    with transaction(engine) as s:
        for _, email, _, _, _ in wanted:
            existing = s.scalar(select(Account).where(Account.email == email))
            if existing is not None:
                for kept in (WebSessionRecord, PasswordReset):
                    s.execute(delete(kept).where(kept.account_id == existing.id))
                s.delete(existing)
        s.flush()
        for role, email, password, member_id, _ in wanted:
            create_account(s, email=email, password=password, role=role, member_id=member_id,
                           now=now, actor="demo")
    return [DemoSignIn(role, email, password, member_id, name)
            for role, email, password, member_id, name in wanted]
