"""Phones and addresses at every door: the members import (with its market column), enrolment
(the API's service) and the profile form read a phone in the member's country, refuse an
invalid one by place and reason, and store E.164; regions and postal codes are checked in the
country; the export writes the market back."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError, Problems
from patronage.markets.markets import NewMarket, add_market
from patronage.network.members import NewMember, enroll_member, viewer_country
from patronage.orders.csv_export import export_members
from patronage.orders.csv_import import import_members
from tests.factories import T0, distributor

pytestmark = pytest.mark.storage

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)
HEADER = ("ref,kind,first_name,owner_ref,sponsor_ref,joined_at,phone,country,region,"
          "postal_code,market\n")
AT = "2026-01-01T00:00:00Z"


def _markets(engine: Engine) -> None:
    with transaction(engine) as s:
        add_market(s, NewMarket("MX", "Mexico", "MXN", ["es-MX"], "America/Mexico_City",
                                shipping_countries=["MX"]))
        add_market(s, NewMarket("EU", "Europe", "EUR", ["en-GB"], "Europe/Paris"))


def test_the_import_reads_each_phone_in_its_country_or_market(engine: Engine) -> None:
    _markets(engine)
    report = import_members(engine, HEADER + "\n".join([
        f"D1,distributor,Dana,,,{AT},(212) 555-0123,,ny,10001,",
        f"C1,retail,Lupe,D1,,{AT},55 5555 1234,,Ciudad de México,06600,mx",
        f"C2,retail,Liam,D1,,{AT},020 7946 0123,GB,LND,sw1a 1aa,EU",
        f"C3,retail,Ana,D1,,{AT},+525555559876,,,,EU",
    ]) + "\n", now=NOW)
    assert report.written == 4
    with transaction(engine) as s:
        got = {m.ref: (m.phone, m.region, m.postal_code, m.market_id)
               for m in s.scalars(select(Member))}
        mx = s.scalar(select(Member.market_id).where(Member.ref == "C1"))
        assert got["D1"] == ("+12125550123", "NY", "10001", None)
        assert got["C1"] == ("+525555551234", "CMX", "06600", mx)
        assert got["C2"][:3] == ("+442079460123", "LND", "SW1A 1AA")
        assert got["C3"][0] == "+525555559876"
        c1 = s.scalars(select(Member).where(Member.ref == "C1")).one()
        assert viewer_country(s, c1.id) == "MX"
    out = io.StringIO()
    export_members(engine, out)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(",market")
    assert [line.rsplit(",", 1)[1] for line in lines[1:]] == ["US", "MX", "EU", "EU"]


def test_bad_phones_regions_postal_codes_and_markets_are_refused_by_line(
        engine: Engine) -> None:
    _markets(engine)
    with pytest.raises(Problems) as caught:
        import_members(engine, HEADER + "\n".join([
            f"D1,distributor,Dana,,,{AT},+1 555 0100,,,,",
            f"D2,distributor,Dan,,D1,{AT},55 5555 1234,,,,",      # a Mexican number in the US
            f"D3,distributor,Eva,,D1,{AT},555 0123,,,,EU",       # no country to read it in
            f"D4,distributor,Rob,,D1,{AT},,CA,IL,60601,",
            f"D5,distributor,Kim,,D1,{AT},,,,,JP",
        ]) + "\n", now=NOW)
    problems = [str(p) for p in caught.value.problems]
    assert problems[0].startswith("line 2, column phone: '+1 555 0100' is not a valid phone "
                                  "number in US")
    assert problems[1].startswith("line 3, column phone: '55 5555 1234' is not a valid phone "
                                  "number in US")
    assert problems[2].startswith("line 4, column phone: '555 0123' has no +country code")
    assert problems[3].startswith("line 5, column region: 'IL' is not a subdivision of CA")
    assert problems[4].startswith("line 5, column postal_code: '60601' is not a postal code "
                                  "of CA")
    assert problems[5] == "line 6, column market: 'JP' is not a market (markets: EU, MX, US)"
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 0


def test_enrolment_stores_e164_and_refuses_with_the_field_named(engine: Engine) -> None:
    _markets(engine)
    with transaction(engine) as s:
        d = distributor(s, phone="212-555-0123", region="Illinois", postal_code="60601")
        mx = enroll_member(s, NewMember(kind="retail", first_name="Lupe", joined_at=T0,
                                        owner_id=d, phone="55 5555 1234", market="MX"))
        member = s.get(Member, d)
        assert member is not None
        assert (member.phone, member.region, member.postal_code) == ("+12125550123", "IL",
                                                                     "60601")
        assert mx.phone == "+525555551234" and mx.market_id is not None
    for bad, message in (({"phone": "12"}, "phone: '12' is not a"),
                         ({"country": "CA", "postal_code": "60601"},
                          "postal_code: '60601' is not a postal code of CA"),
                         ({"country": "XX"}, "country: 'XX' is not a two-letter"),
                         ({"market": "JP"}, "market 'JP' does not exist")):
        with pytest.raises(PatronageError, match=message), transaction(engine) as s:
            distributor(s, "Eve", **bad)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 2
