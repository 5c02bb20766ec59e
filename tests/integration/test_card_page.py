"""The card-setup page: Stripe Elements with a SetupIntent from the server (tested against the
local Stripe fake; the browser half needs stripe.com), or a notice when no key is set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage.db.engine import transaction
from patronage.db.payments import PaymentMethod
from patronage.payments.settings import StripeKeys
from patronage.payments.stripe_gateway import StripeGateway
from tests.e2e.world import EMAILS, NOW, app_for, csrf_of, seed, sign_in
from tests.stripe_fake import SECRET_KEY, Fake, serve

pytestmark = pytest.mark.storage


@pytest.fixture
def fake() -> Iterator[tuple[Fake, str]]:
    state = Fake()
    server, base = serve(state)
    try:
        yield state, base
    finally:
        server.shutdown()
        server.server_close()


def _customer(engine: Engine, publishable: str, base: str | None
              ) -> tuple[TestClient, int, StripeGateway | None]:
    w = seed(engine)
    app = app_for(engine)
    gateway = None
    if base is not None:
        gateway = StripeGateway(engine, StripeKeys(SECRET_KEY, "whsec_test", publishable, base),
                                max_network_retries=0, clock=lambda: NOW)
        app.state.gateway = gateway
    client = TestClient(app)
    assert sign_in(client, EMAILS["customer"]).status_code == 303
    return client, w.cory, gateway


def test_a_customer_saves_a_card_through_a_setup_intent(engine: Engine,
                                                        fake: tuple[Fake, str]) -> None:
    state, base = fake
    client, cory, _ = _customer(engine, "pk_test_fake", base)
    page = client.get("/me/card")
    assert page.status_code == 200
    assert '<script src="https://js.stripe.com/v3/"></script>' in page.text
    assert 'data-key="pk_test_fake"' in page.text
    assert "https://js.stripe.com" in page.headers["content-security-policy"]
    assert len([h for h in page.headers.raw if h[0] == b"content-security-policy"]) == 1
    (setup_intent, intent), = state.setup_intents.items()
    assert f'data-secret="{intent["client_secret"]}"' in page.text
    assert intent["usage"] == "off_session"
    state.complete_setup(setup_intent, "4242")  # what Stripe Elements does in the page
    csrf = csrf_of(page.text)
    done = client.post("/me/card", data={"csrf_token": csrf, "setup_intent": setup_intent},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/me/card?done=saved"
    with transaction(engine) as s:
        saved = s.scalars(select(PaymentMethod).where(PaymentMethod.member_id == cory)).all()
        assert [(m.brand, m.last4) for m in saved] == [("visa", "4242")]
    again = client.post("/me/card", data={"csrf_token": csrf, "setup_intent": setup_intent},
                        follow_redirects=False)
    assert again.status_code == 303  # a retry stores the card once
    with transaction(engine) as s:
        assert len(s.scalars(select(PaymentMethod)).all()) == 1
    shown = client.get("/me/card?done=saved").text
    assert "Your saved card: visa •••• 4242" in shown and "Your card is saved" in shown
    refused = client.post("/me/card", data={"csrf_token": csrf, "setup_intent": "pm_123"})
    assert refused.status_code == 400 and "not confirmed" in refused.text


def test_another_members_setup_is_refused(engine: Engine, fake: tuple[Fake, str]) -> None:
    state, base = fake
    client, _cory, gateway = _customer(engine, "pk_test_fake", base)
    assert gateway is not None
    with transaction(engine) as s:
        from patronage.db.tables import Member

        zoe = s.scalar(select(Member.id).where(Member.first_name == "Zoe"))
    assert zoe is not None
    theirs = gateway.start_card_setup(zoe)
    state.complete_setup(theirs.setup_intent)
    csrf = csrf_of(client.get("/me/card").text)
    r = client.post("/me/card", data={"csrf_token": csrf, "setup_intent": theirs.setup_intent})
    assert r.status_code == 403


def test_without_a_publishable_key_the_page_says_so_and_loads_nothing(engine: Engine) -> None:
    client, _cory, _ = _customer(engine, "", None)
    page = client.get("/me/card")
    assert page.status_code == 200
    assert "no Stripe publishable key is configured" in page.text
    assert "js.stripe.com" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'; "
                                                              "script-src 'self';")
    csrf = csrf_of(page.text)
    r = client.post("/me/card", data={"csrf_token": csrf, "setup_intent": "seti_1"})
    assert r.status_code == 400


def test_staff_and_distributors_have_no_card_page(engine: Engine) -> None:
    seed(engine)
    for who in ("staff", "distributor"):
        client = TestClient(app_for(engine))
        assert sign_in(client, EMAILS[who]).status_code == 303
        assert client.get("/me/card").status_code == 403
