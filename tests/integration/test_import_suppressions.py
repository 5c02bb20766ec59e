"""A members import suppresses the addresses of withdrawn consents: one suppression per address,
as of the earliest join, stored ones left as they are, nothing at all when the import fails or is
only a check; on PostgreSQL with the keys checked in bulk, it writes consents chunk by chunk while
it reads, with the same outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from patronage.db.engine import transaction
from patronage.db.tables import Consent, Member, Suppression
from patronage.errors import Problems
from patronage.network.members import address_hash, suppress
from patronage.orders import import_stage, members_import
from patronage.orders.csv_import import import_members

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)
HEADER = ("ref,kind,first_name,sponsor_ref,owner_ref,joined_at,email,consent_email,phone,"
          "consent_sms,country\n")


def _file(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def _suppressions(engine: Engine) -> dict[tuple[str, str], tuple[str, datetime]]:
    with transaction(engine) as s:
        return {(x.channel, x.address_hash): (x.reason, x.at.replace(tzinfo=UTC))
                for x in s.scalars(select(Suppression))}


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of two rows: a file of a few rows is written over several chunks."""
    monkeypatch.setattr(members_import, "CHUNK_ROWS", 2)


ROWS = [
    "D1,distributor,Dee,,,2026-01-05T00:00:00Z,d1@example.com,yes,+12125550101,yes,US",
    "C1,retail,Cy,,D1,2026-03-01T00:00:00Z,Same@Example.com,no,+12125550102,no,US",
    "C2,retail,Cal,,D1,2026-02-01T00:00:00Z,c2@example.com,no,+12125550103,yes,US",
    "C3,retail,Cat,,D1,2026-04-01T00:00:00Z,c3@example.com,yes,+12125550104,no,US",
    # The address of line 3 again, four lines further down, with an earlier join.
    "C4,retail,Coe,,D1,2026-01-10T00:00:00Z,same@example.com,no,,,US",
]


def test_an_address_on_rows_of_several_chunks_is_suppressed_once_as_of_the_earliest_join(
        engine: Engine, tmp_path: Path, small_chunks: None) -> None:
    assert import_members(engine, _file(tmp_path / "m.csv", ROWS), now=NOW).written == 5
    assert _suppressions(engine) == {
        ("email", address_hash("same@example.com")):
            ("withdrawn: import", datetime(2026, 1, 10, tzinfo=UTC)),
        ("email", address_hash("c2@example.com")):
            ("withdrawn: import", datetime(2026, 2, 1, tzinfo=UTC)),
        ("sms", address_hash("+12125550102")):
            ("withdrawn: import", datetime(2026, 3, 1, tzinfo=UTC)),
        ("sms", address_hash("+12125550104")):
            ("withdrawn: import", datetime(2026, 4, 1, tzinfo=UTC)),
    }


def test_a_stored_suppression_is_left_as_it_is(
        engine: Engine, tmp_path: Path, small_chunks: None) -> None:
    before = datetime(2026, 6, 1, tzinfo=UTC)
    with transaction(engine) as s:
        suppress(s, "email", "same@example.com", reason="unsubscribed", at=before)
    assert import_members(engine, _file(tmp_path / "m.csv", ROWS), now=NOW).written == 5
    got = _suppressions(engine)
    assert got[("email", address_hash("same@example.com"))] == ("unsubscribed", before)
    assert len(got) == 4


def test_a_problem_in_a_later_chunk_leaves_no_suppression(
        engine: Engine, tmp_path: Path, small_chunks: None) -> None:
    bad = [*ROWS, "C5,retail,Cid,,NOBODY,2026-01-11T00:00:00Z,c5@example.com,no,,,US"]
    with pytest.raises(Problems, match="no member with ref 'NOBODY'"):
        import_members(engine, _file(tmp_path / "m.csv", bad), now=NOW)
    assert _suppressions(engine) == {}
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 0


def test_a_check_writes_no_suppression(
        engine: Engine, tmp_path: Path, small_chunks: None) -> None:
    report = import_members(engine, _file(tmp_path / "m.csv", ROWS), now=NOW, dry_run=True)
    assert report.rows == 5
    assert _suppressions(engine) == {}


def test_consents_written_chunk_by_chunk_with_keys_checked_in_bulk(
        engine: Engine, tmp_path: Path, small_chunks: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL with the keys checked in bulk, the consents are written as each chunk is
    staged; elsewhere after the members: the same consents either way."""
    monkeypatch.setattr(import_stage, "BULK_KEYS_ROWS", 1)
    assert import_members(engine, _file(tmp_path / "m.csv", ROWS), now=NOW).written == 5
    with transaction(engine) as s:
        got = {(m.ref, c.channel, c.granted) for c, m in s.execute(
            select(Consent, Member).join(Member, Member.id == Consent.member_id))}
    assert got == {("D1", "email", True), ("D1", "sms", True), ("C1", "email", False),
                   ("C1", "sms", False), ("C2", "email", False), ("C2", "sms", True),
                   ("C3", "email", True), ("C3", "sms", False), ("C4", "email", False)}


def test_consents_written_early_go_when_a_later_chunk_has_a_problem(
        engine: Engine, tmp_path: Path, small_chunks: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_stage, "BULK_KEYS_ROWS", 1)
    bad = [*ROWS, "C5,retail,Cid,,NOBODY,2026-01-11T00:00:00Z,c5@example.com,no,,,US"]
    with pytest.raises(Problems, match="no member with ref 'NOBODY'"):
        import_members(engine, _file(tmp_path / "m.csv", bad), now=NOW)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Consent)) == 0
        assert s.scalar(select(func.count()).select_from(Member)) == 0
    # and the keys are back: a consent naming no member is refused
    with pytest.raises(Exception, match=r"(?i)foreign key"), transaction(engine) as s:
        s.add(Consent(member_id=999_999, channel="email", granted=True, at=NOW,
                      method="test"))


def test_many_addresses_each_suppressed_once_as_of_its_earliest_join(
        engine: Engine, tmp_path: Path) -> None:
    """Addresses given by up to four rows each, in any order of join dates, some suppressed
    already: the suppressions are those a plain reading of the rows gives."""
    import random

    rng = random.Random(5)
    stored_at = datetime(2026, 6, 1, tzinfo=UTC)
    stored = {f"p{i}@example.com" for i in range(0, 60, 7)}
    with transaction(engine) as s:
        for address in sorted(stored):
            suppress(s, "email", address, reason="unsubscribed", at=stored_at)
    rows = ["D1,distributor,Dee,,,2026-01-05T00:00:00Z,d1@example.com,yes,,,US"]
    expected: dict[tuple[str, str], tuple[str, datetime]] = {
        ("email", address_hash(a)): ("unsubscribed", stored_at) for a in stored}
    for i in range(240):
        address = f"p{rng.randrange(60)}@example.com"
        withdrawn = rng.random() < 0.6
        day = datetime(2026, 1 + rng.randrange(9), 1 + rng.randrange(28), tzinfo=UTC)
        rows.append(f"C{i},retail,Cy,,D1,{day:%Y-%m-%dT%H:%M:%SZ},{address},"
                    f"{'no' if withdrawn else 'yes'},,,US")
        key = ("email", address_hash(address))
        if withdrawn and address not in stored:
            expected[key] = ("withdrawn: import", min(day, expected.get(key, (None, day))[1]))
    assert import_members(engine, _file(tmp_path / "m.csv", rows), now=NOW).written == 241
    assert _suppressions(engine) == expected
