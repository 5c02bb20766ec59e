"""Markets and rates through the CLI and the API; a rates file is imported all or nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.db.engine import transaction
from patronage.db.markets import ExchangeRate
from patronage.errors import Problems
from patronage.markets.rates import import_rates, record_from_source
from tests.integration.test_api_support import API, app_for, bearer, token_for

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)


def test_markets_are_added_and_listed_by_cli_and_api(engine: Engine, db_url: str) -> None:
    runner = CliRunner()
    added = runner.invoke(cli, ["--db", db_url, "markets", "add", "MX", "--name", "Mexico",
                                "--currency", "mxn", "--languages", "es-MX",
                                "--timezone", "America/Mexico_City", "--tax-inclusive",
                                "--cooling-off-days", "5"])
    assert added.exit_code == 0, added.output
    bad = runner.invoke(cli, ["--db", db_url, "markets", "add", "XX", "--name", "X",
                              "--currency", "ABC", "--timezone", "Mars/Base"])
    assert bad.exit_code != 0
    assert "'ABC' is not an ISO 4217 currency code" in str(bad.exception)
    assert "timezone 'Mars/Base' is not an IANA time zone" in str(bad.exception)
    listed = json.loads(runner.invoke(cli, ["--db", db_url, "markets", "list", "--json"]).output)
    assert [(m["code"], m["currency"], m["languages"]) for m in listed] == [
        ("MX", "MXN", ["es-MX"]), ("US", "USD", ["en-US"])]
    assert listed[1]["autoship_last_day"] == 28  # the default market keeps the 28th
    client = app_for(engine)
    got = client.get(f"{API}/markets", headers=bearer(token_for(engine, "products:read")))
    assert got.status_code == 200, got.text
    body = {m["code"]: m for m in got.json()}
    assert body["MX"]["minor_units"] == 2 and body["MX"]["tax_inclusive"] is True
    assert body["US"]["default"] is True and body["MX"]["default"] is False

    auth = bearer(token_for(engine, "members:write", "members:read"))
    placed = client.post(f"{API}/members", headers=auth, json={
        "kind": "distributor", "first_name": "Marisol", "market": "MX",
        "email": "marisol@example.com"})
    assert placed.status_code == 201, placed.text
    assert placed.json()["market"] == "MX"
    assert client.get(f"{API}/members/{placed.json()['id']}",
                      headers=auth).json()["market"] == "MX"
    home = client.post(f"{API}/members", headers=auth, json={
        "kind": "distributor", "first_name": "Hank", "email": "hank@example.com"})
    assert home.status_code == 201, home.text
    listed_members = client.get(f"{API}/members", headers=auth).json()["items"]
    assert {m["first_name"]: m["market"] for m in listed_members} == {
        "Marisol": "MX", "Hank": "US"}


def test_rates_file_is_imported_all_or_nothing(engine: Engine, db_url: str,
                                               tmp_path: Path) -> None:
    bad = ("day,currency,rate\n2026-10-30,CAD,0.75\n2026-13-01,JPY,0.0067\n"
           "2026-10-30,USD,1\n2026-10-30,CAD,0.76\n2026-10-30,JPY,-2\n")
    with transaction(engine) as s, pytest.raises(Problems) as refused:
        import_rates(s, bad, name="rates.csv", base="USD", now=NOW)
    assert [str(p) for p in refused.value.problems] == [
        "rates.csv:3: day '2026-13-01' is not a date (YYYY-MM-DD)",
        "rates.csv:4: currency: USD is the company currency (its rate is 1)",
        "rates.csv:5: CAD on 2026-10-30 is also at rates.csv:2",
        "rates.csv:6: rate: '-2' is not a positive number"]
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(ExchangeRate)) == 0
    good = tmp_path / "rates.csv"
    good.write_text("day,currency,rate\n2026-10-30,CAD,0.75\n2026-10-30,JPY,0.0067\n")
    result = CliRunner().invoke(cli, ["--db", db_url, "rates", "import", str(good),
                                      "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    with transaction(engine) as s:
        assert dict(s.execute(select(ExchangeRate.currency, ExchangeRate.rate)).all()) == {
            "CAD": 750_000_000, "JPY": 6_700_000}


def test_a_mexican_customer_sees_the_autoship_in_pesos_in_spanish_format(engine: Engine) -> None:
    from patronage.db.tables import Member
    from patronage.markets.markets import NewMarket, add_market, place_in_market
    from patronage.markets.prices import MarketPrice, set_price
    from patronage.orders.catalog import product_by_sku
    from tests.e2e.world import EMAILS, app_for, seed, sign_in

    world = seed(engine)
    with transaction(engine) as s:
        mx = add_market(s, NewMarket("MX", "Mexico", "MXN", ["es-MX"], "America/Mexico_City"))
        set_price(s, product_by_sku(s, "SHAKE"), mx, MarketPrice(129900, 97000, 4000, 3600))
        place_in_market(s, world.cory, "MX")
        member = s.get(Member, world.cory)
        assert member is not None
        member.locale = "es-MX"
    from fastapi.testclient import TestClient

    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["customer"]).status_code == 303
    page = client.get("/me").text
    # Cory is a retail customer: the retail price in pesos, in Mexican format, in Spanish.
    assert "1 × Daily shake" in page  # product names are not translated
    assert ">$1,299.00<" in page and "Total de cada entrega (MXN)" in page
    assert 'next-total">$1,299.00<' in page


class _Treasury:
    """A company's own rate source (a treasury sheet), as a configured source is called."""

    def __init__(self, given: dict[str, str]) -> None:
        self.given = given

    def rates(self, day: date, currencies: Sequence[str], base: str) -> Mapping[str, str]:
        return {c: r for c, r in self.given.items() if c in currencies}


def test_a_configured_source_records_rates_or_none(engine: Engine) -> None:
    day = date(2026, 10, 30)
    with transaction(engine) as s, pytest.raises(Problems) as refused:
        record_from_source(s, _Treasury({"CAD": "0.75"}), "treasury", day, ["CAD", "JPY"],
                           base="USD", now=NOW)
    assert [str(p) for p in refused.value.problems] == [
        "treasury JPY: the source gave no rate"]
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(ExchangeRate)) == 0
        assert record_from_source(s, _Treasury({"CAD": "0.75", "JPY": "0.0067"}), "treasury",
                                  day, ["CAD", "JPY"], base="USD", now=NOW) == 2
        assert s.scalar(select(ExchangeRate.source).where(ExchangeRate.currency == "JPY")) == \
            "source treasury"
