"""The Stripe adapter of :class:`patronage.autoship.gateway.PaymentGateway`, through the official
``stripe`` library.

- **Cards** are saved with a SetupIntent: :meth:`StripeGateway.start_card_setup` makes the
  member's Stripe customer (once) and a SetupIntent for off-session use, whose client secret the
  page hands to Stripe Elements; the card number goes from the browser to Stripe, never here.
  :meth:`StripeGateway.save_card` (called by the page's return or by the
  ``setup_intent.succeeded`` webhook) stores the resulting payment method's reference, brand,
  last four digits and expiry.
- **Charges** are off-session PaymentIntents (``off_session=True, confirm=True``) on the member's
  newest card, with our charge key as Stripe's ``Idempotency-Key``. Each key is also a row of
  ``payment_charges``, written ``pending`` before Stripe is asked: a key already answered is
  answered from there (Stripe forgets keys after a day), one still pending is asked again with
  the same key (Stripe answers the first request's result, moving no money twice).
- **Declines**: a ``card_error`` with code ``card_declined`` answers its ``decline_code``
  (``insufficient_funds``, ``do_not_honor``, ...); ``authentication_required`` (the bank wants
  the customer to confirm, 3-D Secure) answers ``authentication_required``. Both are declines to
  the daily run, which retries them on the dunning schedule; the first failure of a cycle asks
  the customer to act (care's ``payment_failed`` occasion: an email to the customer and a task
  for their distributor). Any other error (network, Stripe unavailable) is raised: the attempt
  stays pending and the next run asks again with the same key.
- **Refunds** (:meth:`StripeGateway.refund`) go to the charge's PaymentIntent, by our refund key
  as the Idempotency-Key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from patronage.autoship.gateway import ChargeResult
from patronage.db.engine import transaction
from patronage.db.payments import (
    CardFingerprint,
    PaymentCharge,
    PaymentCustomer,
    PaymentMethod,
    PaymentRefund,
)
from patronage.errors import IntegrityViolation, NotFound, PatronageError
from patronage.payments.settings import StripeKeys

PROVIDER = "stripe"
#: What a charge without a saved card answers (a decline: dunning asks the customer for a card).
NO_CARD = "no_card_on_file"
AUTHENTICATION_REQUIRED = "authentication_required"


@dataclass(frozen=True)
class CardSetup:
    """What the page needs to collect a card with Stripe Elements."""

    setup_intent: str
    client_secret: str
    publishable_key: str

    def __repr__(self) -> str:
        return f"CardSetup(setup_intent={self.setup_intent!r}, client_secret='…')"


def _fingerprint(card: object) -> str | None:
    """The provider's fingerprint of the card number (the same for every saving of one card),
    kept to find accounts sharing a card; ``None`` when not given."""
    value = getattr(card, "fingerprint", None)
    return str(value)[:64] if value else None


@dataclass(frozen=True)
class SavedCard:
    member_id: int
    method_ref: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None

    @property
    def masked(self) -> str:
        """How the card is shown: ``visa •••• 4242``."""
        return f"{self.brand} •••• {self.last4}"


@dataclass(frozen=True)
class RefundResult:
    key: str
    amount: int
    status: str  # succeeded | pending | failed
    refund_ref: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def quiet_library_logs() -> None:
    """The library logs answers' bodies at DEBUG (SetupIntent client secrets among them): its
    logger is kept at INFO or above, which names requests only."""
    library = logging.getLogger("stripe")
    if library.getEffectiveLevel() < logging.INFO:
        library.setLevel(logging.INFO)


def decline_of(error: stripe.CardError) -> str:
    """The decline a card error means to dunning: ``authentication_required``, the bank's
    ``decline_code`` of a ``card_declined``, or the error's code."""
    body = error.json_body if isinstance(error.json_body, dict) else {}
    detail = body.get("error") or {}
    code = error.code or detail.get("code")
    decline_code = detail.get("decline_code")
    if AUTHENTICATION_REQUIRED in (code, decline_code):
        return AUTHENTICATION_REQUIRED
    return str(decline_code or code or "card_declined")[:64]


def _intent_of(error: stripe.CardError) -> str | None:
    body = error.json_body if isinstance(error.json_body, dict) else {}
    intent = (body.get("error") or {}).get("payment_intent")
    if isinstance(intent, dict):
        found = intent.get("id")
        return str(found) if found else None
    return str(intent) if intent else None


class StripeGateway:
    """Charges, cards and refunds through Stripe (see the module docstring). ``client`` may be
    given (tests); otherwise one is made from ``keys``, pointed at ``keys.api_base`` when set."""

    def __init__(self, engine: Engine, keys: StripeKeys, *,
                 client: stripe.StripeClient | None = None, max_network_retries: int = 2,
                 clock: Any = None) -> None:
        self.engine = engine
        self.publishable_key = keys.publishable_key
        self._clock = clock or _now
        if client is None:
            base = {"api": keys.api_base} if keys.api_base else None
            client = stripe.StripeClient(keys.secret_key, base_addresses=base,  # type: ignore[arg-type]
                                         max_network_retries=max_network_retries)
        self._client = client
        quiet_library_logs()

    def __repr__(self) -> str:
        return "StripeGateway(keys hidden)"

    # -- cards ---------------------------------------------------------------------------

    def customer_of(self, member_id: int) -> str:
        """The member's Stripe customer, made on first use (by an idempotency key per member,
        so two pages at once make one)."""
        with transaction(self.engine) as s:
            found = s.get(PaymentCustomer, member_id)
            if found is not None:
                return found.customer_ref
        made = self._client.v1.customers.create(
            params={"metadata": {"member_id": str(member_id)}},
            options={"idempotency_key": f"customer:{member_id}"})
        try:
            with transaction(self.engine) as s:
                s.add(PaymentCustomer(member_id=member_id, provider=PROVIDER,
                                      customer_ref=made.id, created_at=self._clock()))
        except IntegrityError:
            with transaction(self.engine) as s:
                found = s.get(PaymentCustomer, member_id)
                assert found is not None
                return found.customer_ref
        return str(made.id)

    def start_card_setup(self, member_id: int) -> CardSetup:
        """A SetupIntent for saving the member's card for later off-session charges."""
        customer = self.customer_of(member_id)
        intent = self._client.v1.setup_intents.create(params={
            "customer": customer, "usage": "off_session",
            "allowed_payment_method_types": ["card"],
            "metadata": {"member_id": str(member_id)}})
        return CardSetup(intent.id, str(intent.client_secret), self.publishable_key)

    def save_card(self, setup_intent: str) -> SavedCard:
        """Store the card a succeeded SetupIntent saved (again: the same card, once)."""
        intent = self._client.v1.setup_intents.retrieve(
            setup_intent, params={"expand": ["payment_method"]})
        if intent.status != "succeeded":
            raise PatronageError(f"setup intent {setup_intent}: not succeeded "
                                 f"({intent.status}); no card was saved")
        customer = intent.customer if isinstance(intent.customer, str) else \
            getattr(intent.customer, "id", None)
        method = intent.payment_method
        if isinstance(method, str) or method is None:
            method = self._client.v1.payment_methods.retrieve(str(method))
        with transaction(self.engine) as s:
            owner = s.scalar(select(PaymentCustomer).where(
                PaymentCustomer.customer_ref == customer))
            if owner is None:
                raise NotFound(f"setup intent {setup_intent}: customer {customer} is none of "
                               "our members")
            card = method.card
            saved = SavedCard(owner.member_id, str(method.id),
                              str(getattr(card, "brand", None) or "card")[:32],
                              str(getattr(card, "last4", None) or "????")[-4:],
                              getattr(card, "exp_month", None), getattr(card, "exp_year", None))
            if s.scalar(select(PaymentMethod).where(
                    PaymentMethod.method_ref == saved.method_ref)) is None:
                s.add(PaymentMethod(
                    member_id=saved.member_id, provider=PROVIDER, method_ref=saved.method_ref,
                    brand=saved.brand, last4=saved.last4, exp_month=saved.exp_month,
                    exp_year=saved.exp_year, status="active", created_at=self._clock()))
                fingerprint = _fingerprint(card)
                if fingerprint is not None:
                    s.add(CardFingerprint(method_ref=saved.method_ref, fingerprint=fingerprint))
        return saved

    def card_of(self, member_id: int) -> SavedCard | None:
        """The card charged for the member: their newest active one."""
        with transaction(self.engine) as s:
            m = s.scalar(select(PaymentMethod).where(
                PaymentMethod.member_id == member_id, PaymentMethod.status == "active")
                .order_by(PaymentMethod.id.desc()).limit(1))
            if m is None:
                return None
            return SavedCard(m.member_id, m.method_ref, m.brand, m.last4, m.exp_month,
                             m.exp_year)

    # -- charges -------------------------------------------------------------------------

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        """Charge the member's card off-session; idempotent by ``key`` (see the module)."""
        if amount <= 0:
            raise PatronageError(f"charge {key}: amount must be positive, not {amount}")
        now = self._clock()
        with transaction(self.engine) as s:
            row = s.scalar(select(PaymentCharge).where(PaymentCharge.key == key))
            if row is not None:
                if row.status != "pending":
                    return _answer(row)
                if (row.amount, row.currency) != (amount, currency):
                    raise IntegrityViolation(
                        f"charge {key}: asked for {amount} {currency} but first asked for "
                        f"{row.amount} {row.currency}; an idempotency key names one charge")
            customer = s.get(PaymentCustomer, member_id)
        card = self.card_of(member_id)
        if row is None:
            try:
                with transaction(self.engine) as s:
                    s.add(PaymentCharge(key=key, provider=PROVIDER, member_id=member_id,
                                        amount=amount, currency=currency, status="pending",
                                        refunded=0, created_at=now, updated_at=now))
            except IntegrityError:
                return self.charge(key, member_id, amount, currency)
        if card is None or customer is None:
            return self._settle(key, "declined", NO_CARD, None)
        try:
            intent = self._client.v1.payment_intents.create(params={
                "amount": amount, "currency": currency.lower(),
                "customer": customer.customer_ref, "payment_method": card.method_ref,
                "off_session": True, "confirm": True,
                "metadata": {"key": key, "member_id": str(member_id)},
            }, options={"idempotency_key": key})
        except stripe.CardError as exc:
            return self._settle(key, "declined", decline_of(exc), _intent_of(exc))
        if intent.status in ("succeeded", "processing"):
            return self._settle(key, "succeeded", None, intent.id)
        if intent.status == "requires_action":
            return self._settle(key, "declined", AUTHENTICATION_REQUIRED, intent.id)
        return self._settle(key, "declined", str(intent.status)[:64], intent.id)

    def _settle(self, key: str, status: str, decline: str | None,
                intent: str | None) -> ChargeResult:
        with transaction(self.engine) as s:
            row = s.scalar(select(PaymentCharge).where(PaymentCharge.key == key))
            assert row is not None
            if row.status == "pending":
                row.status, row.decline, row.updated_at = status, decline, self._clock()
                if intent is not None:
                    row.intent_ref = intent
            return _answer(row)

    def charged(self, key: str) -> PaymentCharge | None:
        with transaction(self.engine) as s:
            return s.scalar(select(PaymentCharge).where(PaymentCharge.key == key))

    # -- refunds -------------------------------------------------------------------------

    def refund(self, key: str, charge_key: str, amount: int) -> RefundResult:
        """Refund ``amount`` of the charge ``charge_key``; idempotent by ``key``. Refused when
        the charge did not succeed or less than ``amount`` of it is left unrefunded."""
        now = self._clock()
        with transaction(self.engine) as s:
            done = s.scalar(select(PaymentRefund).where(PaymentRefund.key == key))
            if done is not None and done.status != "pending":
                return RefundResult(key, done.amount, done.status, done.refund_ref)
            charge = s.scalar(select(PaymentCharge).where(PaymentCharge.key == charge_key))
            if charge is None or charge.status != "succeeded" or charge.intent_ref is None:
                raise IntegrityViolation(f"refund {key}: charge {charge_key} was not paid by "
                                         "card; nothing to refund there")
            if done is None:
                asked = sum(r.amount for r in s.scalars(select(PaymentRefund).where(
                    PaymentRefund.charge_key == charge_key,
                    PaymentRefund.status != "failed")))
                left = charge.amount - max(asked, charge.refunded)
                if amount <= 0 or amount > left:
                    raise IntegrityViolation(
                        f"refund {key}: {amount} asked but {left} of charge {charge_key} is "
                        "left to refund")
                s.add(PaymentRefund(key=key, charge_key=charge_key, amount=amount,
                                    status="pending", created_at=now))
            intent = charge.intent_ref
        made = self._client.v1.refunds.create(
            params={"payment_intent": intent, "amount": amount, "metadata": {"key": key}},
            options={"idempotency_key": key})
        status = str(made.status) if made.status in ("succeeded", "pending", "failed") \
            else "pending"
        with transaction(self.engine) as s:
            row = s.scalar(select(PaymentRefund).where(PaymentRefund.key == key))
            assert row is not None
            row.status, row.refund_ref = status, made.id
            s.flush()
            charge = s.scalar(select(PaymentCharge).where(PaymentCharge.key == charge_key))
            assert charge is not None
            asked = sum(r.amount for r in s.scalars(select(PaymentRefund).where(
                PaymentRefund.charge_key == charge_key, PaymentRefund.status != "failed")))
            charge.refunded = min(charge.amount, max(charge.refunded, asked))
            charge.updated_at = now
            return RefundResult(key, row.amount, status, made.id)


def _answer(row: PaymentCharge) -> ChargeResult:
    return ChargeResult(True) if row.status == "succeeded" else ChargeResult(False, row.decline)
