"""The shop: the catalog for the visitor's market, the cart, checkout (buy once, autoship,
preferred customer, distributor enrollment) and the confirmation. Public by design: anyone may
shop, signed in or not; a signed-in customer or distributor buys as themselves.

Two first-party cookies besides the session: ``patronage_cart`` (the cart and the chosen
market, signed, for :data:`CART_DAYS` days) and ``patronage_share`` (the share code the visitor
came by, signed, for ``settings.shop_link_days`` days; see :mod:`patronage.web.routes.share`).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.access import Principal
from patronage.autoship.gateway import PaymentGateway, SimulatedGateway
from patronage.compliance.agreements import current_version
from patronage.db.engine import reading, transaction
from patronage.db.markets import Market
from patronage.db.tables import Member, Product
from patronage.errors import PatronageError
from patronage.languages import N_
from patronage.markets.markets import list_markets, shipping_countries
from patronage.shop.checkout import (
    PLANS,
    CheckoutForm,
    FormProblems,
    PaymentDeclined,
    PriceChanged,
    ShopRules,
    Visitor,
    price_cart,
    shop_market,
    shop_products,
)
from patronage.shop.checkout import checkout as run_checkout
from patronage.shop.core.cart import clean_cart, set_quantity
from patronage.shop.core.tax import FlatRateTax, parse_rates
from patronage.shop.links import holder_first_name
from patronage.signin.cookie import WebSession, principal_from_request
from patronage.web.deps import (
    PageError,
    check_csrf,
    client_ip,
    company_zone_name,
    engine_of,
    now_of,
    settings_of,
)
from patronage.web.templating import render

router = APIRouter()

CART_COOKIE = "patronage_cart"
SHARE_COOKIE = "patronage_share"
CART_DAYS = 14
#: What the shop says about the link a visitor came by (by code, never text from the address).
NOTICES = {
    "link_inactive": N_("The link you opened is no longer active, so the company's own team "
                        "will look after you."),
    "no_link": N_("You are shopping with the company's own team."),
}


def _serializer(request: Request, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings_of(request).secret_key, salt=f"patronage.shop.{salt}")


def _secure(request: Request) -> bool:
    return settings_of(request).base_url.startswith("https://")


def set_signed_cookie(request: Request, response: Response, name: str, value: Any,
                      days: int) -> None:
    response.set_cookie(name, _serializer(request, name).dumps(value), max_age=days * 86400,
                        path="/", httponly=True, samesite="lax", secure=_secure(request))


def read_signed_cookie(request: Request, name: str, days: int) -> Any:
    raw = request.cookies.get(name)
    if not raw:
        return None
    try:
        return _serializer(request, name).loads(raw, max_age=days * 86400)
    except BadSignature:
        return None


def share_code_of(request: Request) -> str | None:
    """The share code the visitor's cookie keeps (within its lifetime), or ``None``."""
    value = read_signed_cookie(request, SHARE_COOKIE, settings_of(request).shop_link_days)
    return value if isinstance(value, str) else None


def shopper(request: Request) -> Principal | None:
    """Who is signed in (``None``: nobody); staff shop as a visitor."""
    web = getattr(request.state, "web", None)
    if isinstance(web, WebSession) and web.account_id is None:
        return None  # a visitor: nothing to read
    with transaction(engine_of(request)) as session:
        principal = principal_from_request(request, session)
    return principal


def _member_of(principal: Principal | None) -> int | None:
    if principal is None or principal.kind == "staff":
        return None
    return principal.member_id


def _cart_state(request: Request) -> tuple[str | None, dict[str, Any]]:
    raw = read_signed_cookie(request, CART_COOKIE, CART_DAYS)
    if not isinstance(raw, dict):
        return None, {}
    market = raw.get("m")
    items = raw.get("i")
    return (market if isinstance(market, str) else None,
            items if isinstance(items, dict) else {})


def gateway_of(request: Request) -> PaymentGateway:
    """The payment gateway the app was given (``app.state.gateway``); else the simulated one,
    which approves every shop charge."""
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is not None:
        return gateway  # type: ignore[no-any-return]
    return SimulatedGateway(engine_of(request), decline_rate=0.0)


def rules_of(request: Request) -> ShopRules:
    """The shop's rules from the settings; the agreement version is read when a distributor
    enrolls (see :class:`ShopRules`)."""
    settings = settings_of(request)
    return ShopRules(tax=FlatRateTax(parse_rates(settings.shop_tax_rates)),
                     agreement_version=None, agreement_fallback=settings.agreement_version,
                     pack_required=settings.enrollment_pack_required,
                     company_zone=company_zone_name(request),
                     company_name=settings.company_name)


def _visitor(request: Request, principal: Principal | None, market: str | None) -> Visitor:
    return Visitor(member_id=_member_of(principal), code=share_code_of(request),
                   market_code=market, ip=client_ip(request),
                   user_agent=request.headers.get("user-agent", ""))


def _link_context(request: Request, session: Session,
                  principal: Principal | None) -> dict[str, Any]:
    """Who the visitor came through, for the banner (nothing for a signed-in member)."""
    if _member_of(principal) is not None:
        return {"via": None, "notice": None}
    code = share_code_of(request)
    notice = request.query_params.get("notice")
    via = holder_first_name(session, code) if code else None
    return {"via": via, "notice": NOTICES.get(notice or "")}


def _page_data(request: Request, principal: Principal | None, plan: str = "once") -> dict[str, Any]:
    """What the catalog and checkout pages show: the markets, the products with their prices
    in the visitor's market, the link's holder (and, to enroll, the agreement version), read
    outside a transaction (the paying request checks them again)."""
    market_code, raw = _cart_state(request)
    visitor = _visitor(request, principal, market_code)
    tax = FlatRateTax(parse_rates(settings_of(request).shop_tax_rates))
    agreement_version = None
    with reading(engine_of(request)) as session:
        markets = list_markets(session)
        market = shop_market(session, visitor, markets)
        products = shop_products(session, market.id)
        by_sku = {p.sku: p for p in products}
        cart = clean_cart(raw, {p.sku: p.max_quantity for p in products})
        kind = "retail"
        member = None
        if visitor.member_id is not None:
            member = session.get(Member, visitor.member_id)
            kind = member.kind if member is not None else "retail"
        elif plan in ("autoship", "preferred"):
            kind = "preferred"
        elif plan == "enroll":
            kind = "distributor"
        if plan == "enroll":
            agreement_version = current_version(session, settings_of(request).agreement_version)
        link = _link_context(request, session, principal)
    every = {p.sku: 1 for p in products}
    retail = price_cart(by_sku, market, "retail", every, tax)
    member_prices = price_cart(by_sku, market, "preferred", every, tax)
    priced = price_cart(by_sku, market, kind, cart, tax)
    countries = shipping_countries(market) or [market.code]
    packs = [p for p in products if p.is_enrollment_pack]
    names = {line.sku: line for line in retail.lines}
    member_price = {line.sku: line.unit_price for line in member_prices.lines}
    catalog = [(p, names[p.sku], member_price.get(p.sku)) for p in products
               if p.sku in names and not p.is_enrollment_pack]
    return {"market": market, "catalog": catalog, "cart": cart, "quote": priced,
            "markets": markets, "countries": countries, "packs": packs,
            "pack_prices": names, "member": member, "currency": market.currency,
            "agreement_version": agreement_version, **link}


@router.get("/shop", response_class=HTMLResponse)
def shop(request: Request, market: str | None = None, added: str | None = None) -> Response:
    me = shopper(request)
    if market is not None and _member_of(me) is None:
        with transaction(engine_of(request)) as session:
            found = session.scalar(select(Market.code).where(Market.code == market.upper()))
        if found is None:
            raise PageError(404, f"market {market!r} does not exist")
        _, items = _cart_state(request)
        response = RedirectResponse("/shop", status_code=303)
        set_signed_cookie(request, response, CART_COOKIE, {"m": found, "i": items}, CART_DAYS)
        return response
    data = _page_data(request, me)
    return render(request, "shop_catalog.html", me, title=N_("Shop"),
                  added=added is not None, **data)


@router.post("/shop/cart", response_class=HTMLResponse)
async def cart(request: Request) -> Response:
    """Put a product in the cart at a quantity (0 takes it out)."""
    await check_csrf(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    sku, qty = form.get("sku", "").strip(), form.get("quantity", "1").strip() or "1"
    if not qty.isdigit() or int(qty) > 1000:
        raise PageError(400, f"quantity: {qty!r} is not a whole number from 0 to 1000")
    with reading(engine_of(request)) as session:
        product = session.execute(select(Product.name, Product.max_quantity).where(
            Product.sku == sku, Product.active.is_(True))).first()
    if product is None:
        raise PageError(400, f"sku: {sku!r} is not a product of the shop" if sku
                        else "sku: choose a product")
    if int(qty) > product.max_quantity:
        raise PageError(400, f"quantity: at most {product.max_quantity} of {product.name}")
    market, items = _cart_state(request)
    items = set_quantity({k: v for k, v in items.items() if isinstance(v, int)}, sku, int(qty))
    target = "/shop/checkout" if form.get("next") == "checkout" else "/shop?added=1"
    response = RedirectResponse(target, status_code=303)
    set_signed_cookie(request, response, CART_COOKIE, {"m": market, "i": items}, CART_DAYS)
    return response


def _checkout_page(request: Request, me: Principal | None, *, plan: str,
                   form: CheckoutForm | None = None, errors: dict[str, str] | None = None,
                   message: str | None = None, status: int = 200) -> Response:
    data = _page_data(request, me, plan)
    key = secrets.token_urlsafe(24)
    return render(request, "shop_checkout.html", me, status=status,
                  title=N_("Join as a distributor") if plan == "enroll" else N_("Checkout"),
                  plan=plan, f=form or CheckoutForm(key=key, plan=plan), key=key,
                  errors=errors or {}, message=message,
                  pack_required=settings_of(request).enrollment_pack_required, **data)


@router.get("/shop/checkout", response_class=HTMLResponse)
def checkout_form(request: Request, plan: str = "once") -> Response:
    if plan not in PLANS:
        raise PageError(404, f"plan {plan!r} does not exist")
    return _checkout_page(request, shopper(request), plan=plan)


FORM_FIELDS = ("plan", "first_name", "last_name", "email", "phone", "address_line1",
               "address_line2", "city", "region", "postal_code", "country", "autoship_day",
               "pack", "payment_token")


@router.post("/shop/checkout", response_class=HTMLResponse)
async def checkout(request: Request) -> Response:
    await check_csrf(request)
    me = shopper(request)
    raw = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    form = CheckoutForm(key=raw.get("key", ""), agreement=raw.get("agreement") == "yes",
                        **{k: raw.get(k, "") for k in FORM_FIELDS})
    if not form.plan:
        form.plan = "once"
    market_code, items = _cart_state(request)
    cart = {k: v for k, v in items.items() if isinstance(k, str) and isinstance(v, int)}
    plan = form.plan if form.plan in PLANS else "once"
    try:
        done = run_checkout(engine_of(request), form, cart, _visitor(request, me, market_code),
                            gateway_of(request), rules_of(request), now=now_of(request))
    except FormProblems as exc:
        return _checkout_page(request, me, plan=plan, form=form, errors=exc.fields,
                              status=400)
    except PaymentDeclined as exc:
        form.key = ""
        return _checkout_page(request, me, plan=plan, form=form, status=402,
                              message=exc.message)
    except PriceChanged as exc:
        form.key = ""  # the next try is a new charge, at the new price
        return _checkout_page(request, me, plan=plan, form=form, status=409,
                              message=exc.message)
    except PatronageError as exc:
        return _checkout_page(request, me, plan=plan, form=form, status=409,
                              message=exc.message)
    response = render(request, "shop_done.html", me, title=N_("Thank you"), done=done,
                      first_name=done.first_name, owner_name=done.owner_name,
                      currency=done.currency)
    response.delete_cookie(CART_COOKIE, path="/")
    return response

