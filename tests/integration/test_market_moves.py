"""`patronage members move-market`: a member and their open autoships move to another market,
re-priced in its currency; refused whole when a product has no price there; audited."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.subscriptions import Item, subscribe
from patronage.cli.main import app as cli
from patronage.db.accounts import AuditEntry
from patronage.db.autoship import Subscription
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.markets.markets import NewMarket, add_market
from patronage.markets.moves import move_market
from patronage.markets.prices import MarketPrice, set_price
from patronage.orders.catalog import NewProduct, add_product, product_by_sku
from tests.factories import customer, distributor

pytestmark = pytest.mark.storage

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)


def _company(engine: Engine) -> dict[str, int]:
    """SHAKE priced in MX, TEA not; Cory (US) has an autoship of SHAKE and a cancelled one;
    Tina (US) an autoship of TEA."""
    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 6000, 4500, 4000, 3600))
        add_product(s, NewProduct("TEA", "Tea", 2500, 2000, 1500, 1200))
        mx = add_market(s, NewMarket("MX", "Mexico", "MXN", ["es-MX"], "America/Mexico_City"))
        set_price(s, product_by_sku(s, "SHAKE"), mx, MarketPrice(129000, 97000, 4500, 4000))
        d = distributor(s, "Dana", ref="D1")
        cory = customer(s, d, "Cory", ref="C1")
        tina = customer(s, d, "Tina", ref="C2")
        ids = {"d": d, "cory": cory, "tina": tina}
        for name, sku in (("cory", "SHAKE"), ("tina", "TEA")):
            ids[f"{name}_sub"] = subscribe(s, ids[name], [Item(sku, 1)],
                                           Frequency("monthly", 20), start=date(2026, 10, 20),
                                           now=NOW, actor="test").id
        gone = subscribe(s, cory, [Item("TEA", 1)], Frequency("monthly", 5),
                         start=date(2026, 11, 5), now=NOW, actor="test")
        gone.status = "cancelled"
        ids["gone"] = gone.id
    return ids


def test_a_member_moves_with_their_open_autoships(engine: Engine, db_url: str) -> None:
    ids = _company(engine)
    result = CliRunner().invoke(cli, ["--db", db_url, "members", "move-market", "C1", "mx",
                                      "--now", NOW.isoformat(), "--actor", "ops"])
    assert result.exit_code == 0, result.output
    assert f"member C1: market US -> MX (MXN); subscriptions re-priced: #{ids['cory_sub']}" \
        in " ".join(result.output.split())
    with transaction(engine) as s:
        member = s.get(Member, ids["cory"])
        assert member is not None and member.market_id is not None
        subs = {sub.id: sub.market for sub in s.scalars(select(Subscription))}
        assert subs[ids["cory_sub"]] == "MX"
        assert subs[ids["gone"]] != "MX"  # a cancelled autoship stays where it was
        entries = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "member.move_market")).all()
        assert [(e.actor, e.target) for e in entries] == [("ops", f"member {ids['cory']}")]
        assert "market US (USD) -> MX (MXN)" in entries[0].detail
        # Again: nothing to do, nothing audited.
        again = move_market(s, ids["cory"], "MX", actor="ops", now=NOW)
        assert not again.changed
        # And back to the default market.
        back = move_market(s, ids["cory"], "US", actor="ops", now=NOW)
        assert back.new == "US" and s.get(Member, ids["cory"]).market_id is None  # type: ignore[union-attr]


def test_a_product_without_a_price_refuses_the_whole_move(engine: Engine, db_url: str) -> None:
    ids = _company(engine)
    with pytest.raises(PatronageError, match=(
            rf"move member {ids['tina']} to MX: subscription {ids['tina_sub']}: product 'TEA' "
            "has no price in market MX")), transaction(engine) as s:
        move_market(s, ids["tina"], "MX", actor="ops", now=NOW)
    result = CliRunner().invoke(cli, ["--db", db_url, "members", "move-market", "C2", "MX",
                                      "--now", NOW.isoformat()])
    assert result.exit_code != 0 and "has no price in market MX" in str(result.exception)
    for ref, message in (("C9", "member 'C9' does not exist"), ("C1", "market 'JP'")):
        result = CliRunner().invoke(cli, ["--db", db_url, "members", "move-market", ref, "JP",
                                          "--now", NOW.isoformat()])
        assert result.exit_code != 0 and message in str(result.exception)
    with transaction(engine) as s:
        assert s.get(Member, ids["tina"]).market_id is None  # type: ignore[union-attr]
        assert {sub.market for sub in s.scalars(select(Subscription))} != {"MX"}
        assert not s.scalars(select(AuditEntry).where(
            AuditEntry.action == "member.move_market")).all()
