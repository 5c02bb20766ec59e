"""The distributor's payout method page: masked details, refusals next to the field."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage.db.engine import transaction
from patronage.db.payout_methods import PayoutMethodChange
from tests.e2e.world import EMAILS, app_for, csrf_of, seed, sign_in


def _signed_in(engine: Engine) -> tuple[TestClient, str]:
    seed(engine, plan=False)
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["distributor"]).status_code == 303
    return client, csrf_of(client.get("/account").text)


def _error_after(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*aria-invalid="true"[^>]*>\s*</label>\s*'
                      rf'<p class="error" id="err-{name}" role="alert">([^<]+)</p>', html)
    assert found, f"no error next to {name}"
    return found.group(1)


def test_set_a_payout_method_and_tax_id_on_the_page(engine: Engine) -> None:
    client, csrf = _signed_in(engine)
    page = client.get("/payout-method")
    assert page.status_code == 200
    assert "You have no payout method yet" in page.text
    assert 'href="/payout-method"' in page.text  # in the navigation
    # Ann has no address and no market: the default market's country is offered.
    assert 'name="country" value="US"' in page.text
    assert "No valid tax id." in page.text

    bad = client.post("/payout-method", data={
        "csrf_token": csrf, "kind": "us_ach", "holder": "Ann", "routing_number": "021000022",
        "account_number": "12"})
    assert bad.status_code == 400
    assert _error_after(bad.text, "routing_number") == (
        "the routing number&#39;s check digit is wrong")
    assert _error_after(bad.text, "account_number") == "an account number has 4 to 17 digits"
    assert 'value="021000022"' in bad.text  # kept to be corrected; the account number is not

    good = client.post("/payout-method", data={
        "csrf_token": csrf, "kind": "us_ach", "holder": "Ann", "routing_number": "021000021",
        "account_number": "123456789"})
    assert good.status_code == 200
    assert "US bank account •••• 6789" in good.text
    assert "123456789" not in good.text
    assert "payouts are held until" in good.text
    with transaction(engine) as s:
        assert s.scalar(select(PayoutMethodChange.current)) == "US bank account •••• 6789"

    bad_tax = client.post("/payout-method/tax-id", data={
        "csrf_token": csrf, "country": "US", "tax_kind": "ssn", "number": "078-05-1120"})
    assert bad_tax.status_code == 400
    assert _error_after(bad_tax.text, "number") == (
        "not a valid number: a part of it is never issued")
    assert "078-05-1120" not in bad_tax.text
    good_tax = client.post("/payout-method/tax-id", data={
        "csrf_token": csrf, "country": "US", "tax_kind": "ssn", "number": "536-90-4399"})
    assert good_tax.status_code == 200
    assert "Social Security Number •••• 4399" in good_tax.text
    assert "536-90-4399" not in good_tax.text and "536904399" not in good_tax.text


def test_the_page_speaks_spanish(engine: Engine) -> None:
    client, csrf = _signed_in(engine)
    client.post("/account/language", data={"csrf_token": csrf, "language": "es"})
    bad = client.post("/payout-method", data={
        "csrf_token": csrf, "kind": "iban", "holder": "Ann",
        "iban": "GB29 NWBK 6016 1331 9268 18"})
    assert bad.status_code == 400
    assert _error_after(bad.text, "iban") == (
        "no es un IBAN válido: los dígitos de control no cuadran")
    assert "Indica tu método de pago" in bad.text
