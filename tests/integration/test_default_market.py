"""The default market and the plan currency are data: the market flagged default (made from the
settings ``market`` and ``currency`` by the composition roots), never read from the settings by
the services."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.db.engine import transaction
from patronage.db.markets import Market, ProductPrice
from patronage.db.tables import Member, Product
from patronage.errors import NotFound, PatronageError
from patronage.markets.markets import (
    default_market,
    ensure_default_market,
    market_of,
    plan_currency,
)
from patronage.orders.catalog import NewProduct, add_product
from tests.factories import distributor


def _defaults(engine: Engine) -> list[tuple[str, str]]:
    with transaction(engine) as s:
        return [(c, cur) for c, cur in s.execute(
            select(Market.code, Market.currency).where(Market.is_default.is_(True)))]


def test_the_database_has_one_default_market_and_its_currency_is_the_plan_currency(
        engine: Engine) -> None:
    assert _defaults(engine) == [("US", "USD")]
    with transaction(engine) as s:
        assert default_market(s).code == "US"
        assert plan_currency(s) == "USD"
    with engine.connect() as conn:
        assert plan_currency(conn) == "USD"


def test_the_configured_market_becomes_the_default_and_serves_members_without_one(
        engine: Engine) -> None:
    with transaction(engine) as s:
        member = s.get(Member, distributor(s))
        assert member is not None
        member.market_id = None
        made = ensure_default_market(s, "mx", currency="MXN", timezone="America/Mexico_City")
        assert (made.code, made.currency, made.timezone, made.autoship_last_day) == (
            "MX", "MXN", "America/Mexico_City", 28)
        assert market_of(s, member).code == "MX"
        assert plan_currency(s) == "MXN"
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 8000, 10000, 10000))
        priced = s.scalar(select(Market.code).join(ProductPrice,
                                                   ProductPrice.market_id == Market.id))
        assert priced == "MX"
        # Again: nothing changes.
        assert ensure_default_market(s, "MX", currency="MXN", timezone="UTC").id == made.id
    assert _defaults(engine) == [("MX", "MXN")]
    with transaction(engine) as s:  # back to the existing US market
        ensure_default_market(s, "US", currency="USD", timezone="America/Chicago")
    assert _defaults(engine) == [("US", "USD")]


def test_a_configured_currency_other_than_the_markets_is_refused(engine: Engine) -> None:
    refusal = "PATRONAGE_CURRENCY 'EUR' differs from the currency 'USD' of the default market 'US'"
    with pytest.raises(PatronageError, match=refusal), transaction(engine) as s:
        ensure_default_market(s, "US", currency="EUR", timezone="UTC")
    assert _defaults(engine) == [("US", "USD")]


def test_without_a_default_market_services_refuse_and_write_nothing(engine: Engine) -> None:
    with transaction(engine) as s:
        s.execute(update(Market).values(is_default=False))
    with pytest.raises(NotFound, match="there is no default market"), transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 8000, 10000, 10000))
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 0
        with pytest.raises(NotFound, match="no plan currency"):
            plan_currency(s)


def test_the_commands_make_the_configured_market_the_default(engine: Engine,
                                                               db_url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", db_url, "markets", "list", "--json"],
                                env={"PATRONAGE_MARKET": "MX", "PATRONAGE_CURRENCY": "MXN"})
    assert result.exit_code == 0, result.output
    assert _defaults(engine) == [("MX", "MXN")]
    refused = CliRunner().invoke(cli, ["--db", db_url, "markets", "list", "--json"],
                                 env={"PATRONAGE_MARKET": "MX", "PATRONAGE_CURRENCY": "USD"})
    assert refused.exit_code != 0
    assert "PATRONAGE_CURRENCY 'USD' differs" in str(refused.exception)
