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


def _called_url(request: Request, base_url: str) -> str:
    """The address the provider called, as it signed it: the configured base address (the app
    may sit behind a proxy) followed by the path and query."""
    query = f"?{request.url.query}" if request.url.query else ""
    return base_url.rstrip("/") + request.url.path + query


async def _twilio_form(request: Request) -> dict[str, str] | Response:
    if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        return JSONResponse({"error": "Content-Type: Twilio's callbacks are "
                             "application/x-www-form-urlencoded"}, status_code=400)
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return JSONResponse({"error": f"body: more than {MAX_BODY} bytes"}, status_code=413)
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.post("/webhooks/sms/status")
async def sms_status_webhook(request: Request) -> Response:
    """The SMS provider's status callbacks for care texts (:mod:`patronage.care.text_status`):
    signed by Twilio (``X-Twilio-Signature``); delivered or failed is recorded, and a number
    gone for good is suppressed."""
    from patronage.care.text_status import TextEventRefused, record_status
    from patronage.db.engine import transaction

    form = await _twilio_form(request)
    if isinstance(form, Response):
        return form
    settings = settings_of(request)
    url = _called_url(request, settings.base_url)

    def record() -> dict[str, object]:
        with transaction(engine_of(request)) as session:
            done = record_status(session, url, form, request.headers.get("x-twilio-signature"),
                                 settings.twilio_auth_token.get_secret_value(),
                                 now=now_of(request))
        return {"outcome": done.outcome, "suppressed": done.suppressed}

    try:
        answer = await run_in_threadpool(record)
    except TextEventRefused as exc:
        return JSONResponse({"error": exc.message}, status_code=400)
    return JSONResponse(answer)


@router.post("/webhooks/sms/inbound")
async def sms_inbound_webhook(request: Request) -> Response:
    """Texts members send back (:mod:`patronage.care.text_status`): signed by Twilio; STOP
    (or another opt-out word) suppresses the number for texts. Answered with an empty TwiML
    document (the provider sends its own opt-out confirmation)."""
    from patronage.care.text_status import TextEventRefused, record_reply
    from patronage.db.engine import transaction

    form = await _twilio_form(request)
    if isinstance(form, Response):
        return form
    settings = settings_of(request)
    url = _called_url(request, settings.base_url)

    def record() -> bool:
        with transaction(engine_of(request)) as session:
            return record_reply(session, url, form, request.headers.get("x-twilio-signature"),
                                settings.twilio_auth_token.get_secret_value(),
                                now=now_of(request))

    try:
        await run_in_threadpool(record)
    except TextEventRefused as exc:
        return JSONResponse({"error": exc.message}, status_code=400)
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
                    media_type="application/xml")
