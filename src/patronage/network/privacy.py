"""A person's own data (GDPR art. 15): everything stored about one member as one JSON document.

:func:`export_member_data` gathers the profile, consents, sign-in accounts (never password
hashes), orders with their lines and refunds, autoships with their items and events, care
touches about the member, survey answers, testimonials, customer values, and, for a
distributor, payout lines, the payout method and its changes and the tax id (masked: kind and
last four characters). Notes kept about the member by their distributor and the company are
included only when ``include_notes`` is true (the staff export): a note may speak of other
people and is reviewed by staff before it is handed over; the member's self-service download
leaves them out. Read only; nothing is written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from patronage.clock import require_aware
from patronage.db.accounts import Account
from patronage.db.autoship import AutoshipEvent, Subscription, SubscriptionItem
from patronage.db.base import Base
from patronage.db.care import MemberNote, SurveyResponse, Testimonial, Touch
from patronage.db.compensation import PayoutLine
from patronage.db.payout_methods import PayoutMethod, PayoutMethodChange, TaxIdRecord
from patronage.db.tables import Consent, Order, OrderLine, Product, Refund, RefundLine
from patronage.db.value import CustomerValue
from patronage.network.members import get_member

#: Names the layout of the document; bump it when a section changes shape.
EXPORT_FORMAT = "patronage.member-export/1"

#: Columns never exported (secrets, not personal data).
_NEVER = frozenset({"password_hash"})


def _value(value: object) -> object:
    if isinstance(value, datetime):
        return require_aware(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(obj: Base, *, leave_out: tuple[str, ...] = ()) -> dict[str, object]:
    """Every stored column of a row, JSON-ready (times in ISO 8601 with their offset)."""
    return {attr.key: _value(getattr(obj, attr.key))
            for attr in inspect(obj).mapper.column_attrs
            if attr.key not in _NEVER and attr.key not in leave_out}


def export_member_data(session: Session, member_id: int, now: datetime, *,
                       include_notes: bool) -> dict[str, Any]:
    """The JSON document of everything stored about the member (see the module docstring)."""
    now = require_aware(now, place="now")
    member = get_member(session, member_id)
    orders = session.scalars(select(Order).where(Order.buyer_id == member_id)
                             .order_by(Order.placed_at, Order.id)).all()
    order_ids = [o.id for o in orders]
    lines: dict[int, list[dict[str, object]]] = {i: [] for i in order_ids}
    refunds: dict[int, list[dict[str, object]]] = {i: [] for i in order_ids}
    if order_ids:
        for line, sku in session.execute(
                select(OrderLine, Product.sku).join(Product, Product.id == OrderLine.product_id)
                .where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id)):
            lines[line.order_id].append({**_row(line), "sku": sku})
        for refund in session.scalars(select(Refund).where(Refund.order_id.in_(order_ids))
                                      .order_by(Refund.id)):
            refund_lines = session.scalars(select(RefundLine).where(
                RefundLine.refund_id == refund.id).order_by(RefundLine.id)).all()
            refunds[refund.order_id].append(
                {**_row(refund), "lines": [_row(r) for r in refund_lines]})
    subs = session.scalars(select(Subscription).where(Subscription.member_id == member_id)
                           .order_by(Subscription.id)).all()
    subscriptions = []
    for sub in subs:
        items = session.scalars(select(SubscriptionItem).where(
            SubscriptionItem.subscription_id == sub.id).order_by(SubscriptionItem.id)).all()
        events = session.scalars(select(AutoshipEvent).where(
            AutoshipEvent.subscription_id == sub.id).order_by(AutoshipEvent.at,
                                                               AutoshipEvent.id)).all()
        subscriptions.append({**_row(sub), "items": [_row(i) for i in items],
                              "events": [_row(e) for e in events]})

    def rows(query: Any) -> list[dict[str, object]]:
        return [_row(r) for r in session.scalars(query)]

    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "member_id": member_id,
        "profile": _row(member),
        "consents": rows(select(Consent).where(Consent.member_id == member_id)
                         .order_by(Consent.at, Consent.id)),
        "accounts": rows(select(Account).where(Account.member_id == member_id)
                         .order_by(Account.id)),
        "orders": [{**_row(o), "lines": lines[o.id], "refunds": refunds[o.id]} for o in orders],
        "subscriptions": subscriptions,
        "care_touches": rows(select(Touch).where(Touch.member_id == member_id)
                             .order_by(Touch.due_at, Touch.id)),
        "survey_answers": rows(select(SurveyResponse).where(
            SurveyResponse.member_id == member_id).order_by(SurveyResponse.answered_at,
                                                            SurveyResponse.id)),
        "testimonials": rows(select(Testimonial).where(Testimonial.member_id == member_id)
                             .order_by(Testimonial.submitted_at, Testimonial.id)),
        "customer_values": rows(select(CustomerValue).where(
            CustomerValue.member_id == member_id).order_by(CustomerValue.run_id)),
    }
    if member.kind == "distributor":
        document["payout_lines"] = rows(select(PayoutLine).where(
            PayoutLine.earner_id == member_id).order_by(PayoutLine.run_id, PayoutLine.id))
        # Bank details and tax ids masked, as everywhere they are shown (never the sealed text).
        method = session.scalar(select(PayoutMethod).where(PayoutMethod.member_id == member_id))
        document["payout_method"] = None if method is None else {
            "label": method.label, "set_at": method.set_at.isoformat()}
        document["payout_method_changes"] = [
            {"at": c.at.isoformat(), "previous": c.previous, "current": c.current,
             "notice": c.notice}
            for c in session.scalars(select(PayoutMethodChange).where(
                PayoutMethodChange.member_id == member_id).order_by(PayoutMethodChange.id))]
        tax = session.scalar(select(TaxIdRecord).where(TaxIdRecord.member_id == member_id))
        document["tax_id"] = None if tax is None else {
            "country": tax.country, "kind": tax.kind, "masked": f"•••• {tax.last_four}"}
    if include_notes:
        document["notes"] = rows(select(MemberNote).where(MemberNote.member_id == member_id)
                                 .order_by(MemberNote.at, MemberNote.id))
    return document
