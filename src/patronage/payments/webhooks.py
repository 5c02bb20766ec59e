"""Stripe's webhook events, verified and applied once.

:func:`verify` checks the ``Stripe-Signature`` header with the library's
``stripe.Webhook.construct_event`` (the HMAC of the timestamp and body with the endpoint's signing
secret) and then the timestamp against ``now`` (within ``tolerance`` seconds either way: an old
delivery replayed by someone else is refused).

:func:`handle` stores the event in ``payment_events`` (its id unique) in the transaction that
applies it: a repeated delivery finds the id and changes nothing. Events out of order change
nothing backwards: a charge keeps the time of the newest event applied to it and ignores older
ones, and a refunded amount only grows.

Handled: ``payment_intent.succeeded``, ``payment_intent.payment_failed`` (a charge still pending
is settled), ``charge.refunded`` (the charge's refunded amount), ``setup_intent.succeeded`` (the
card is saved, through ``save_card``). Any other kind is recorded and ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patronage.clock import require_aware
from patronage.db.engine import transaction
from patronage.db.payments import PaymentCharge, PaymentEvent
from patronage.errors import PatronageError

PROVIDER = "stripe"
TOLERANCE = 300
HANDLED = ("payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
           "setup_intent.succeeded")


class WebhookRefused(PatronageError):
    """The request is not a genuine, recent Stripe event (answered 400)."""

    code = "invalid"


@dataclass(frozen=True)
class Handled:
    event_id: str
    kind: str
    outcome: str
    duplicate: bool = False


def verify(payload: bytes, signature: str | None, secret: str, *, now: datetime,
           tolerance: int = TOLERANCE) -> dict[str, Any]:
    """The event the body holds, once its signature and timestamp are checked."""
    require_aware(now, place="now")
    if not secret:
        raise WebhookRefused("webhook: no signing secret is configured "
                             "(PATRONAGE_STRIPE_WEBHOOK_SECRET); every event is refused")
    try:
        # The library checks the signature; its own tolerance reads the system clock, so the
        # time is checked against ``now`` below instead.
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=0)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRefused(f"Stripe-Signature: {exc.user_message or exc}") from exc
    except ValueError as exc:
        raise WebhookRefused("body: not a JSON event") from exc
    assert signature is not None
    stamp = int(dict(part.split("=", 1) for part in signature.split(",") if "=" in part)["t"])
    drift = abs(now.timestamp() - stamp)
    if drift > tolerance:
        raise WebhookRefused(f"Stripe-Signature: timestamp {stamp} is {int(drift)} seconds "
                             f"from now (more than {tolerance}); refused as a replay")
    found: dict[str, Any] = event.to_dict()
    if not isinstance(found.get("id"), str) or not isinstance(found.get("type"), str):
        raise WebhookRefused("body: an event needs an id and a type")
    return found


def handle(engine: Engine, payload: bytes, signature: str | None, secret: str, *,
           now: datetime, tolerance: int = TOLERANCE,
           save_card: Callable[[str], object] | None = None) -> Handled:
    """Verify and apply one delivery (see the module); a repeated event id changes nothing."""
    event = verify(payload, signature, secret, now=now, tolerance=tolerance)
    event_id, kind = event["id"], event["type"]
    obj = (event.get("data") or {}).get("object") or {}
    created = int(event.get("created") or 0)
    with transaction(engine) as s:
        if s.scalar(select(PaymentEvent.id).where(PaymentEvent.event_id == event_id)):
            return Handled(event_id, kind, "already handled", duplicate=True)
    card_note = ""
    if kind == "setup_intent.succeeded" and save_card is not None and obj.get("id"):
        try:
            save_card(str(obj["id"]))  # idempotent itself: the same card is stored once
            card_note = "card saved"
        except PatronageError as exc:  # not ours, or not succeeded: recorded, not retried
            card_note = f"card not saved: {exc.message}"
    try:
        with transaction(engine) as s:
            outcome = card_note or _apply(s, kind, obj, created, now)
            s.add(PaymentEvent(provider=PROVIDER, event_id=event_id, kind=kind[:64],
                               object_ref=str(obj.get("id") or "")[:255] or None,
                               created=created, outcome=outcome, received_at=now))
    except IntegrityError:
        return Handled(event_id, kind, "already handled", duplicate=True)
    return Handled(event_id, kind, outcome)


def _charge_of(s: Session, obj: dict[str, Any], intent_field: str) -> PaymentCharge | None:
    intent = obj.get(intent_field)
    if isinstance(intent, dict):
        intent = intent.get("id")
    key = (obj.get("metadata") or {}).get("key")
    if intent:
        found = s.scalar(select(PaymentCharge).where(PaymentCharge.intent_ref == str(intent)))
        if found is not None:
            return found
    if key:
        return s.scalar(select(PaymentCharge).where(PaymentCharge.key == str(key)))
    return None


def _apply(s: Session, kind: str, obj: dict[str, Any], created: int, now: datetime) -> str:
    if kind not in HANDLED:
        return "ignored: not a kind this endpoint handles"
    if kind == "setup_intent.succeeded":
        return "card saved" if obj.get("payment_method") else "no card on the setup intent"
    charge = _charge_of(s, obj, "payment_intent" if kind == "charge.refunded" else "id")
    if charge is None:
        return "ignored: not a charge of ours"
    if kind == "charge.refunded":
        refunded = int(obj.get("amount_refunded") or 0)
        if refunded <= charge.refunded:
            return f"charge {charge.key}: refunded {charge.refunded} already"
        charge.refunded, charge.updated_at = min(refunded, charge.amount), now
        return f"charge {charge.key}: refunded {charge.refunded}"
    if charge.event_at is not None and created < charge.event_at:
        return f"charge {charge.key}: older than the last event applied; nothing changed"
    if charge.intent_ref is None and obj.get("id"):
        charge.intent_ref = str(obj["id"])
    charge.event_at = created
    if kind == "payment_intent.succeeded":
        if charge.status == "succeeded":
            return f"charge {charge.key}: succeeded already"
        before = charge.status
        charge.status, charge.decline, charge.updated_at = "succeeded", None, now
        return f"charge {charge.key}: succeeded (was {before})"
    # payment_intent.payment_failed: only a charge not yet settled is settled by it.
    if charge.status != "pending":
        return f"charge {charge.key}: {charge.status} already"
    error = obj.get("last_payment_error") or {}
    decline = error.get("decline_code") or error.get("code") or "card_declined"
    charge.status, charge.decline, charge.updated_at = "declined", str(decline)[:64], now
    return f"charge {charge.key}: declined ({charge.decline})"
