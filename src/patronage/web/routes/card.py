"""The card-setup page: a customer saves a card for their autoship with Stripe Elements.

The server makes a SetupIntent (through the Stripe adapter) and gives the page its client
secret and the publishable key; Stripe.js, loaded from Stripe only on this page and only when a
publishable key is configured, collects the card (card data never reaches our servers) and
confirms the SetupIntent; the page then posts the SetupIntent's id and the server stores the
saved card (brand, last four digits, expiry) from Stripe's answer. Without the Stripe gateway
or its publishable key the page says so and loads nothing from Stripe."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.languages import N_, _
from patronage.payments.stripe_gateway import StripeGateway
from patronage.web.deps import Csrf, Customer, PageError, engine_of, page_errors, settings_of
from patronage.web.templating import render

router = APIRouter()

#: This page's Content-Security-Policy: the site's own, plus Stripe.js and its frames.
STRIPE_CSP = ("default-src 'self'; script-src 'self' https://js.stripe.com; "
              "style-src 'self' 'unsafe-inline'; img-src 'self' data: https://*.stripe.com; "
              "frame-src https://js.stripe.com https://hooks.stripe.com; "
              "connect-src 'self' https://api.stripe.com; form-action 'self'; "
              "frame-ancestors 'none'; base-uri 'none'")


def card_gateway(request: Request) -> StripeGateway | None:
    """The Stripe adapter when cards are saved with Stripe and a publishable key is set (the
    app's own gateway when it was given one), else ``None``."""
    given = getattr(request.app.state, "gateway", None)
    if isinstance(given, StripeGateway):
        return given if given.publishable_key else None
    settings = settings_of(request)
    if settings.payment_gateway.strip().lower() != "stripe" or \
            not settings.stripe_publishable_key:
        return None
    keys = settings.payment_settings().stripe
    return StripeGateway(engine_of(request), keys) if keys is not None else None


@router.get("/me/card", response_class=HTMLResponse)
def card_page(request: Request, me: Customer, done: str | None = None) -> Response:
    """My card: the saved one, and the form to save a new one (Stripe Elements)."""
    assert me.member_id is not None
    gateway = card_gateway(request)
    if gateway is None:
        return render(request, "me_card.html", me, title=N_("My card"), setup=None, card=None,
                      done=done)
    with page_errors():
        card = gateway.card_of(me.member_id)
        setup = gateway.start_card_setup(me.member_id)
    page = render(request, "me_card.html", me, title=N_("My card"), setup=setup, card=card,
                  done=done)
    page.headers["content-security-policy"] = STRIPE_CSP
    return page


@router.post("/me/card", dependencies=[Csrf])
def card_saved(request: Request, me: Customer,
               setup_intent: Annotated[str, Form()] = "") -> Response:
    """Stripe confirmed the card in the page: store it from Stripe's answer."""
    assert me.member_id is not None
    gateway = card_gateway(request)
    if gateway is None:
        raise PageError(400, _("Cards are not saved online here: no Stripe publishable key is "
                               "configured."))
    if not setup_intent.startswith("seti_") or len(setup_intent) > 255:
        raise PageError(400, _("Card: the card was not confirmed; try again."))
    with page_errors():
        saved = gateway.save_card(setup_intent)
    if saved.member_id != me.member_id:
        raise PageError(403, _("Card: that card setup is not yours."))
    return RedirectResponse("/me/card?done=saved", status_code=303)
