"""The Stripe adapter against a local fake of Stripe's API (tests/stripe_fake.py): cards saved
through SetupIntents, off-session charges, declines, authentication required, refunds, idempotent
retries, and webhooks verified and applied once; on both databases."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import Engine, func, select

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.run import run_day
from patronage.autoship.subscriptions import Item, subscribe
from patronage.config import Settings
from patronage.db.autoship import AutoshipEvent, ChargeAttempt, Subscription
from patronage.db.engine import transaction
from patronage.db.payments import PaymentCharge, PaymentEvent, PaymentMethod
from patronage.db.tables import Order
from patronage.errors import IntegrityViolation, PatronageError
from patronage.payments.settings import PaymentSettings, StripeKeys, make_gateway
from patronage.payments.stripe_gateway import StripeGateway
from patronage.payments.webhooks import WebhookRefused, handle
from tests.factories import catalog, customer, distributor
from tests.stripe_fake import SECRET_KEY, Fake, serve

WEBHOOK_SECRET = "whsec_test_fake_secret"
NOW = datetime(2026, 3, 1, 8, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[tuple[Fake, str]]:
    state = Fake()
    server, base = serve(state)
    try:
        yield state, base
    finally:
        server.shutdown()
        server.server_close()


def _gateway(engine: Engine, base: str) -> StripeGateway:
    return StripeGateway(engine, StripeKeys(SECRET_KEY, WEBHOOK_SECRET, "pk_test_fake", base),
                         max_network_retries=0, clock=lambda: NOW)


def _member_with_card(engine: Engine, fake: Fake, gateway: StripeGateway,
                      last4: str = "4242") -> int:
    with transaction(engine) as s:
        catalog(s)
        d = distributor(s)
        member = customer(s, d, f"Card{last4}", kind="preferred", country="US")
    setup = gateway.start_card_setup(member)
    fake.complete_setup(setup.setup_intent, last4)  # what Stripe Elements does in the page
    gateway.save_card(setup.setup_intent)
    return member


def test_a_card_is_saved_through_a_setup_intent(engine: Engine, fake: tuple[Fake, str]) -> None:
    state, base = fake
    gateway = _gateway(engine, base)
    member = _member_with_card(engine, state, gateway)
    setup_request = next(r for r in state.requests if r["path"] == "/v1/setup_intents")
    assert setup_request["content_type"] == "application/x-www-form-urlencoded"
    assert setup_request["form"]["usage"] == "off_session"
    assert setup_request["form"]["allowed_payment_method_types[0]"] == "card"
    card = gateway.card_of(member)
    assert card is not None and card.masked == "visa •••• 4242"
    assert card.method_ref.startswith("pm_")
    # Saving the same setup intent again stores the card once.
    setup_id = next(iter(state.setup_intents))
    gateway.save_card(setup_id)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(PaymentMethod)) == 1
    # One Stripe customer per member, however often a card is set up.
    gateway.start_card_setup(member)
    assert len(state.customers) == 1


def test_success_decline_and_authentication_required(engine: Engine,
                                                     fake: tuple[Fake, str]) -> None:
    state, base = fake
    gateway = _gateway(engine, base)
    ok = _member_with_card(engine, state, gateway, "4242")
    with transaction(engine) as s:
        d = distributor(s, "Other")
        poor = customer(s, d, "Poor", kind="preferred", country="US")
        strict = customer(s, d, "Strict", kind="preferred", country="US")
    for member, last4 in ((poor, "9995"), (strict, "3184")):
        setup = gateway.start_card_setup(member)
        state.complete_setup(setup.setup_intent, last4)
        gateway.save_card(setup.setup_intent)

    approved = gateway.charge("autoship:1:2026-03-01:1", ok, 4500, "USD")
    declined = gateway.charge("autoship:2:2026-03-01:1", poor, 4500, "USD")
    auth = gateway.charge("autoship:3:2026-03-01:1", strict, 4500, "USD")
    assert approved.approved and approved.decline is None
    assert (declined.approved, declined.decline) == (False, "insufficient_funds")
    assert (auth.approved, auth.decline) == (False, "authentication_required")
    # Only the approved one moved money; each request was an off-session, confirmed
    # PaymentIntent with our key as Stripe's Idempotency-Key.
    assert [c["amount"] for c in state.charges] == [4500]
    sent = [r for r in state.requests if r["path"] == "/v1/payment_intents"]
    assert [r["headers"]["Idempotency-Key"] for r in sent] == [
        "autoship:1:2026-03-01:1", "autoship:2:2026-03-01:1", "autoship:3:2026-03-01:1"]
    assert all(r["form"]["off_session"] == "true" and r["form"]["confirm"] == "true"
               and r["form"]["currency"] == "usd" for r in sent)
    with transaction(engine) as s:
        rows = {c.key: (c.status, c.decline) for c in s.scalars(select(PaymentCharge))}
    assert rows["autoship:2:2026-03-01:1"] == ("declined", "insufficient_funds")
    assert rows["autoship:3:2026-03-01:1"] == ("declined", "authentication_required")


def test_an_idempotent_retry_charges_once(engine: Engine, fake: tuple[Fake, str]) -> None:
    state, base = fake
    gateway = _gateway(engine, base)
    member = _member_with_card(engine, state, gateway)
    key = "autoship:9:2026-03-01:1"
    assert gateway.charge(key, member, 3000, "USD").approved
    # A run killed after Stripe answered but before the answer was stored: the row is still
    # pending, so the next run asks Stripe again with the same key.
    with transaction(engine) as s:
        row = s.scalar(select(PaymentCharge).where(PaymentCharge.key == key))
        assert row is not None
        row.status = "pending"
    assert gateway.charge(key, member, 3000, "USD").approved
    # And once settled, asked again, it answers from the store without asking Stripe.
    assert gateway.charge(key, member, 3000, "USD").approved
    assert len([r for r in state.requests if r["path"] == "/v1/payment_intents"]) == 2
    assert len(state.charges) == 1  # one charge in the fake's ledger
    with pytest.raises(IntegrityViolation, match="idempotency key names one charge"):
        with transaction(engine) as s:
            row = s.scalar(select(PaymentCharge).where(PaymentCharge.key == key))
            assert row is not None
            row.status = "pending"
        gateway.charge(key, member, 3100, "USD")


def test_no_card_is_a_decline(engine: Engine, fake: tuple[Fake, str]) -> None:
    _, base = fake
    gateway = _gateway(engine, base)
    with transaction(engine) as s:
        member = customer(s, distributor(s), "Nocard", kind="preferred", country="US")
    answer = gateway.charge("autoship:5:2026-03-01:1", member, 1000, "USD")
    assert (answer.approved, answer.decline) == (False, "no_card_on_file")


def test_refund_goes_to_the_payment_intent_once(engine: Engine, fake: tuple[Fake, str]) -> None:
    state, base = fake
    gateway = _gateway(engine, base)
    member = _member_with_card(engine, state, gateway)
    gateway.charge("autoship:1:2026-03-01:1", member, 5000, "USD")
    first = gateway.refund("refund:1", "autoship:1:2026-03-01:1", 2000)
    again = gateway.refund("refund:1", "autoship:1:2026-03-01:1", 2000)
    assert first.status == again.status == "succeeded" and first.refund_ref == again.refund_ref
    assert [r["amount"] for r in state.refunds] == [2000]
    with pytest.raises(IntegrityViolation, match="3000 of charge autoship:1:2026-03-01:1 is "
                                                 "left to refund"):
        gateway.refund("refund:2", "autoship:1:2026-03-01:1", 3001)
    gateway.refund("refund:2", "autoship:1:2026-03-01:1", 3000)
    assert sum(r["amount"] for r in state.refunds) == 5000
    assert gateway.charged("autoship:1:2026-03-01:1").refunded == 5000  # type: ignore[union-attr]


def test_the_daily_run_charges_through_stripe_and_duns_declines(
        engine: Engine, fake: tuple[Fake, str]) -> None:
    state, base = fake
    gateway = _gateway(engine, base)
    paying = _member_with_card(engine, state, gateway, "4242")
    with transaction(engine) as s:
        strict = customer(s, distributor(s, "Dee"), "Strict", kind="preferred", country="US")
    setup = gateway.start_card_setup(strict)
    state.complete_setup(setup.setup_intent, "3184")
    gateway.save_card(setup.setup_intent)
    with transaction(engine) as s:
        subs = [subscribe(s, m, [Item("SHAKE", 1)], Frequency("monthly", day=1),
                          start=date(2026, 3, 1), now=NOW, actor="customer").id
                for m in (paying, strict)]
    summary = run_day(engine, date(2026, 3, 1), gateway, now=NOW)
    assert (summary.approved, summary.declined) == (1, 1)
    assert len(state.charges) == 1
    with transaction(engine) as s:
        attempt = s.scalar(select(ChargeAttempt).where(ChargeAttempt.subscription_id == subs[1]))
        assert attempt is not None
        assert (attempt.status, attempt.decline) == ("declined", "authentication_required")
        sub = s.get(Subscription, subs[1])
        assert sub is not None and sub.retry_on == date(2026, 3, 2)  # retried on schedule
        kinds = list(s.scalars(select(AutoshipEvent.kind).where(
            AutoshipEvent.subscription_id == subs[1]).order_by(AutoshipEvent.id)))
        assert kinds == ["created", "payment_failed", "retry_scheduled"]
        assert s.scalar(select(func.count()).select_from(Order)) == 1
    # The same day run again charges nothing twice.
    run_day(engine, date(2026, 3, 1), gateway, now=NOW + timedelta(minutes=5))
    assert len(state.charges) == 1


# -- webhooks ------------------------------------------------------------------------------


def _event(event_id: str, kind: str, obj: dict[str, Any], created: int) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": kind, "created": created,
                       "api_version": stripe.api_version, "livemode": False,
                       "data": {"object": obj}}).encode()


def _signed(payload: bytes, at: datetime, secret: str = WEBHOOK_SECRET) -> str:
    return stripe.WebhookSignature.generate_signature_header(
        payload.decode(), secret, timestamp=int(at.timestamp()))


def test_webhook_signature_failures_are_refused(engine: Engine) -> None:
    body = _event("evt_1", "payment_intent.succeeded", {"id": "pi_x"}, 1)
    for signature, reason in (
            (None, "No Stripe-Signature header"),
            (_signed(body, NOW, "whsec_other"), "No signatures found matching"),
            (_signed(body, NOW - timedelta(minutes=6)), "refused as a replay")):
        with pytest.raises(WebhookRefused, match=reason):
            handle(engine, body, signature, WEBHOOK_SECRET, now=NOW)
    tampered = body.replace(b"pi_x", b"pi_y")
    with pytest.raises(WebhookRefused, match="No signatures found matching"):
        handle(engine, tampered, _signed(body, NOW), WEBHOOK_SECRET, now=NOW)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(PaymentEvent)) == 0


def test_duplicate_and_out_of_order_webhooks_change_nothing_twice(
        engine: Engine, fake: tuple[Fake, str]) -> None:
    state, base = fake
    gateway = _gateway(engine, base)
    member = _member_with_card(engine, state, gateway)
    key = "autoship:1:2026-03-01:1"
    # A charge whose answer was lost: still pending here.
    with transaction(engine) as s:
        s.add(PaymentCharge(key=key, provider="stripe", member_id=member, amount=5000,
                            currency="USD", status="pending", refunded=0, created_at=NOW,
                            updated_at=NOW))
    t = int(NOW.timestamp())
    succeeded = _event("evt_ok", "payment_intent.succeeded",
                       {"id": "pi_1", "object": "payment_intent", "status": "succeeded",
                        "metadata": {"key": key}}, t)
    failed_before = _event("evt_old", "payment_intent.payment_failed",
                           {"id": "pi_1", "object": "payment_intent",
                            "last_payment_error": {"code": "card_declined",
                                                   "decline_code": "do_not_honor"},
                            "metadata": {"key": key}}, t - 60)
    refunded = _event("evt_re", "charge.refunded",
                      {"id": "ch_1", "object": "charge", "payment_intent": "pi_1",
                       "amount_refunded": 1500}, t + 10)
    first = handle(engine, succeeded, _signed(succeeded, NOW), WEBHOOK_SECRET, now=NOW)
    assert (first.duplicate, first.outcome) == (False, f"charge {key}: succeeded (was pending)")
    again = handle(engine, succeeded, _signed(succeeded, NOW), WEBHOOK_SECRET, now=NOW)
    assert again.duplicate
    late = handle(engine, failed_before, _signed(failed_before, NOW), WEBHOOK_SECRET, now=NOW)
    assert "older than the last event" in late.outcome
    for _ in range(2):
        handle(engine, refunded, _signed(refunded, NOW), WEBHOOK_SECRET, now=NOW)
    with transaction(engine) as s:
        row = s.scalar(select(PaymentCharge).where(PaymentCharge.key == key))
        assert row is not None
        assert (row.status, row.intent_ref, row.refunded) == ("succeeded", "pi_1", 1500)
        assert s.scalar(select(func.count()).select_from(PaymentEvent)) == 3


def test_setup_intent_succeeded_saves_the_card(engine: Engine, fake: tuple[Fake, str]) -> None:
    state, base = fake
    gateway = _gateway(engine, base)
    with transaction(engine) as s:
        member = customer(s, distributor(s), "Hook", kind="preferred", country="US")
    setup = gateway.start_card_setup(member)
    state.complete_setup(setup.setup_intent, "4242")
    body = _event("evt_si", "setup_intent.succeeded",
                  {"id": setup.setup_intent, "object": "setup_intent"}, int(NOW.timestamp()))
    done = handle(engine, body, _signed(body, NOW), WEBHOOK_SECRET, now=NOW,
                  save_card=gateway.save_card)
    assert done.outcome == "card saved"
    card = gateway.card_of(member)
    assert card is not None and card.last4 == "4242"


def test_secrets_never_reach_repr_or_logs(engine: Engine, caplog: pytest.LogCaptureFixture,
                                          fake: tuple[Fake, str]) -> None:
    _, base = fake
    settings = Settings(payment_gateway="stripe", stripe_secret_key=SECRET_KEY,
                        stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=base)
    chosen = settings.payment_settings()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("stripe").setLevel(logging.DEBUG)
    gateway = make_gateway(engine, chosen)
    assert isinstance(gateway, StripeGateway)
    with transaction(engine) as s:
        member = customer(s, distributor(s), "Quiet", kind="preferred", country="US")
    setup = gateway.start_card_setup(member)
    for shown in (repr(settings), str(settings), repr(chosen), str(chosen),
                  repr(chosen.stripe), repr(gateway), repr(setup), caplog.text):
        assert SECRET_KEY not in shown and WEBHOOK_SECRET not in shown
        assert setup.client_secret not in shown
    assert make_gateway(engine, PaymentSettings()).__class__.__name__ == "SimulatedGateway"
    with pytest.raises(PatronageError, match="PATRONAGE_STRIPE_SECRET_KEY"):
        PaymentSettings("stripe", StripeKeys(""))
    with pytest.raises(PatronageError, match="PATRONAGE_PAYMENT_GATEWAY"):
        Settings(payment_gateway="paypal").payment_settings()


def test_the_webhook_endpoint(engine: Engine) -> None:
    """``POST /webhooks/stripe``: 400 without a valid signature (nothing stored), 200 once
    signed, and a repeated delivery is answered as a duplicate."""
    from fastapi.testclient import TestClient

    from patronage.clock import FixedClock
    from patronage.server import create_app

    settings = Settings(secret_key="x" * 32, stripe_webhook_secret=WEBHOOK_SECRET)
    app = create_app(settings=settings, engine=engine, clock=FixedClock(NOW), migrate=False)
    client = TestClient(app)
    body = _event("evt_web", "payment_intent.succeeded", {"id": "pi_nobody"},
                  int(NOW.timestamp()))
    form = client.post("/webhooks/stripe", data={"id": "evt_form"})
    assert form.status_code == 400 and "application/json" in form.json()["error"]
    unsigned = client.post("/webhooks/stripe", content=body,
                           headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 400
    assert "Stripe-Signature" in unsigned.json()["error"]
    assert WEBHOOK_SECRET not in unsigned.text
    headers = {"Stripe-Signature": _signed(body, NOW), "Content-Type": "application/json"}
    first = client.post("/webhooks/stripe", content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    again = client.post("/webhooks/stripe", content=body, headers=headers)
    assert again.json() == {"received": True, "duplicate": True}
    with transaction(engine) as s:
        stored = s.scalar(select(PaymentEvent).where(PaymentEvent.event_id == "evt_web"))
        assert stored is not None and stored.outcome == "ignored: not a charge of ours"


def test_a_refund_goes_back_to_the_card_and_the_credit(engine: Engine,
                                                       fake: tuple[Fake, str]) -> None:
    """An autoship paid 15.00 by credit and 30.00 by card, refunded whole: 30.00 to the card
    (once, however often asked), 15.00 back as credit."""
    from patronage.credit.ledger import balance
    from patronage.db.credit import CreditEntry
    from patronage.orders.refunds import RefundRequest, refund_order
    from patronage.payments.refunds import return_payment

    state, base = fake
    gateway = _gateway(engine, base)
    member = _member_with_card(engine, state, gateway)
    with transaction(engine) as s:
        s.add(CreditEntry(member_id=member, kind="earned", amount=1500, currency="USD",
                          key="earned:test", at=NOW, detail="test"))
        sub = subscribe(s, member, [Item("SHAKE", 1)], Frequency("monthly", day=1),
                        start=date(2026, 3, 1), now=NOW, actor="customer").id
    run_day(engine, date(2026, 3, 1), gateway, now=NOW)
    assert [c["amount"] for c in state.charges] == [3000]
    later = NOW + timedelta(days=2)
    with transaction(engine) as s:
        order = s.scalar(select(Order).where(Order.subscription_id == sub))
        assert order is not None and order.total == 4500
        refund = refund_order(s, RefundRequest(order.id, later, "damaged"), now=later)
        refund_id = refund.id
        assert balance(s, member, "USD") == 0
    for _ in range(2):
        back = return_payment(engine, refund_id, gateway=gateway, now=later)
        assert (back.card, back.credit) == (3000, 1500)
    assert [r["amount"] for r in state.refunds] == [3000]
    with transaction(engine) as s:
        assert balance(s, member, "USD") == 1500


def test_stripe_unreachable_leaves_the_charge_pending(engine: Engine,
                                                      fake: tuple[Fake, str]) -> None:
    """A network failure is raised (the daily run stops, its attempt stays pending) and the
    next ask, with the same key, charges once."""
    state, base = fake
    gateway = _gateway(engine, base)
    member = _member_with_card(engine, state, gateway)
    down = StripeGateway(engine, StripeKeys(SECRET_KEY, WEBHOOK_SECRET, "", "http://127.0.0.1:9"),
                         max_network_retries=0, clock=lambda: NOW)
    key = "autoship:4:2026-03-01:1"
    with pytest.raises(stripe.APIConnectionError):
        down.charge(key, member, 2500, "USD")
    assert gateway.charged(key).status == "pending"  # type: ignore[union-attr]
    assert gateway.charge(key, member, 2500, "USD").approved
    assert [c["amount"] for c in state.charges] == [2500]
