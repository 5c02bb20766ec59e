"""``POST /webhooks/stripe``: Stripe's events. No sign-in and no CSRF token: the
``Stripe-Signature`` header (the body signed with the endpoint's secret) is the authority, and a
request without a valid, recent one is answered 400 with nothing changed
(:mod:`patronage.payments.webhooks`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from patronage.payments.webhooks import WebhookRefused, handle
from patronage.web.deps import engine_of, now_of, settings_of

router = APIRouter()

#: Stripe's events are a few kilobytes; a larger body is not one.
MAX_BODY = 512 * 1024


@router.post("/webhooks/stripe")
async def stripe_webhook(request: Request) -> Response:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"error": "Content-Type: Stripe's events are application/json"},
                            status_code=400)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": f"body: more than {MAX_BODY} bytes"}, status_code=413)
    settings = settings_of(request)
    engine = engine_of(request)
    save_card = None
    if settings.payment_gateway.strip().lower() == "stripe":
        from patronage.payments.stripe_gateway import StripeGateway

        keys = settings.payment_settings().stripe
        assert keys is not None
        save_card = StripeGateway(engine, keys).save_card
    try:
        done = await run_in_threadpool(
            handle, engine, body, request.headers.get("stripe-signature"),
            settings.stripe_webhook_secret.get_secret_value(), now=now_of(request),
            save_card=save_card)
    except WebhookRefused as exc:
        return JSONResponse({"error": exc.message}, status_code=400)
    return JSONResponse({"received": True, "duplicate": done.duplicate})


@router.post("/webhooks/mail")
async def mail_webhook(request: Request) -> Response:
    """The mail provider's bounces and complaints (:mod:`patronage.care.bounces`): signed with
    the shared secret; a hard bounce or a complaint suppresses the address."""
    from patronage.care.bounces import MailEventsRefused, record_mail_events
    from patronage.db.engine import transaction

    if not request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"error": "Content-Type: the mail events are application/json"},
                            status_code=400)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": f"body: more than {MAX_BODY} bytes"}, status_code=413)
    settings = settings_of(request)

    def record() -> dict[str, int]:
        with transaction(engine_of(request)) as session:
            done = record_mail_events(
                session, body, request.headers.get("x-patronage-signature"),
                settings.mail_webhook_secret.get_secret_value(), now=now_of(request))
        return {"suppressed": done.suppressed, "already": done.already,
                "ignored": done.ignored}

    try:
        counts = await run_in_threadpool(record)
    except MailEventsRefused as exc:
        return JSONResponse({"error": exc.message}, status_code=400)
    return JSONResponse(counts)
