"""Pass on a lead: a customer names someone who may like the products ("my aunt would love
this"). The name and a way to reach them become a contact of the customer's distributor and a
task for them; when the lead joins through the shop (found by email or phone), the customer is
their referrer."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from patronage.clock import require_aware
from patronage.db.care import Contact, Touch
from patronage.db.shop import Lead
from patronage.db.tables import Member
from patronage.errors import NotFound, PatronageError
from patronage.languages import N_
from patronage.network.intake import normalise_email
from patronage.shop.checkout import FormProblems

PHONE = re.compile(r"\+?[0-9 ()./-]{6,40}")


def phone_key(phone: str) -> str:
    """The digits of a phone number that identify it (the last ten)."""
    return re.sub(r"\D", "", phone)[-10:]


def pass_on_lead(session: Session, customer_id: int, name: str, email: str, phone: str, *,
                 now: datetime) -> Lead:
    """Record the lead (contact + task for the owner); refused field by field with
    :class:`~patronage.shop.checkout.FormProblems`."""
    require_aware(now, place="now")
    customer = session.get(Member, customer_id)
    if customer is None or customer.kind == "distributor" or customer.owner_id is None:
        raise NotFound(N_("customer %(customer_id)s does not exist"),
                       values={"customer_id": customer_id})
    problems: dict[str, str] = {}
    name, email, phone = name.strip(), email.strip(), phone.strip()
    if not name:
        problems["lead_name"] = N_("a name is needed")
    elif len(name) > 200:
        problems["lead_name"] = N_("at most 200 characters")
    normalised = None
    if email:
        try:
            normalised = normalise_email(email, place="lead_email")
        except PatronageError as exc:
            problems["lead_email"] = exc.message.removeprefix("lead_email: ")
    if phone and not PHONE.fullmatch(phone):
        problems["lead_phone"] = N_("digits, spaces and + ( ) - only")
    if not email and not phone:
        problems["lead_email"] = N_("give an email address or a phone number")
    if problems:
        raise FormProblems(problems)
    first, _, last = name.partition(" ")
    contact = Contact(owner_id=customer.owner_id, first_name=first[:100], last_name=last[:100],
                      email=normalised, phone=phone or None, source="referral",
                      created_at=now)
    session.add(contact)
    session.flush()
    reach = ", ".join(x for x in (normalised, phone) if x)
    touch = Touch(member_id=customer.id, owner_id=customer.owner_id, rule_key="shop_lead",
                  occasion="lead", occasion_key=f"contact-{contact.id}", channel="task",
                  template="lead", priority=70, status="planned", due_at=now, created_at=now,
                  summary=f"{customer.name} passed on {name} ({reach}): get in touch")
    session.add(touch)
    session.flush()
    lead = Lead(referrer_id=customer.id, owner_id=customer.owner_id, contact_id=contact.id,
                touch_id=touch.id, name=name,
                email=normalised.lower() if normalised else None, phone=phone or None,
                phone_key=phone_key(phone) or None, created_at=now)
    session.add(lead)
    session.flush()
    return lead
