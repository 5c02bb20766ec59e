"""A large import reads and checks its file in a second process, with the same outcome as in one;
on PostgreSQL it checks the foreign keys of what it writes once, in bulk, and it builds the plain
indexes of what it writes again in one sort each: still all or nothing, and every key and index
back as before."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, select, text

from patronage.db.engine import transaction
from patronage.db.tables import Consent, Member, Order, OrderLine
from patronage.errors import Problems
from patronage.orders import import_pipe, import_stage, members_import
from patronage.orders.csv_import import import_members, import_orders, import_products
from patronage.orders.csv_rows import MAX_PROBLEMS

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)
PRODUCTS = """sku,name,retail_price,wholesale_price,qv,cv,is_enrollment_pack,product_line
PACK,Starter pack,199.00,149.00,100,0,yes,packs
SHAKE,Daily shake,65.00,49.00,45,40,no,nutrition
"""
HEADER = ("ref,kind,first_name,last_name,email,sponsor_ref,owner_ref,referrer_ref,joined_at,"
          "birth_month,birth_day,consent_email,consent_sms,phone,country\n")


def _members(path: Path, n: int, bad_every: int = 0) -> Path:
    """``n`` members: a distributor every fifth row, sponsored by the one before; the others
    customers of the latest distributor; with ``bad_every``, a bad cell on every such row."""
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(n):
            lead = i - i % 5
            kind = "distributor" if i % 5 == 0 else "retail"
            sponsor = f"M{lead - 5}" if kind == "distributor" and i else ""
            owner = "" if kind == "distributor" else f"M{lead}"
            email = f"m{i}@example.com"
            month = "2"
            if bad_every and i % bad_every == 3:
                email, month = "not an address", "13"
            out.write(f"M{i},{kind},First{i},Last{i},{email},{sponsor},{owner},,"
                      f"2026-01-01T00:00:00Z,{month},3,{'no' if i % 2 else 'yes'},no,"
                      f"+1212{200 + i // 10_000}{i % 10_000:04d},US\n")
    return path


def _orders(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("order_key,buyer_ref,placed_at,sku,quantity\n")
        for i in range(n):
            out.write(f"K{i // 2},M{(i // 2) % 500},2026-10-02T10:00:00Z,"
                      f"{'SHAKE' if i % 2 else 'PACK'},1\n")
    return path


def _count(engine: Engine, table: type) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def _problems(engine: Engine, path: Path) -> list[tuple[str, str]]:
    with pytest.raises(Problems) as caught:
        import_members(engine, path, now=NOW)
    return [(p.place, p.reason) for p in caught.value.problems]


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file read in a second process, however small."""
    monkeypatch.setattr(import_pipe, "PARALLEL_BYTES", 0)
    assert import_pipe.can_fork()


def test_a_file_read_in_a_second_process_imports_as_in_one(
        engine: Engine, tmp_path: Path, forked: None, monkeypatch: pytest.MonkeyPatch) -> None:
    members = _members(tmp_path / "members.csv", 12_000)
    orders = _orders(tmp_path / "orders.csv", 6_000)
    assert import_pipe._parallel(members)
    import_products(engine, PRODUCTS)
    report = import_members(engine, members, now=NOW)
    assert (report.rows, report.written) == (12_000, 12_000)
    assert _count(engine, Member) == 12_000
    assert _count(engine, Consent) == 24_000
    with transaction(engine) as s:
        m7 = s.scalar(select(Member).where(Member.ref == "M7"))
        assert m7 is not None and m7.owner_id is not None and m7.phone == "+12122000007"
    first = import_orders(engine, orders, now=NOW)
    assert (first.rows, first.written, first.already) == (6_000, 3_000, 0)
    again = import_orders(engine, orders, now=NOW)
    assert (again.written, again.already) == (0, 3_000)
    assert _count(engine, Order) == 3_000
    assert _count(engine, OrderLine) == 6_000


def test_problems_found_in_a_second_process_are_those_found_in_one(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A bad row in every 7: more than MAX_PROBLEMS problems, the rest counted.
    path = _members(tmp_path / "bad.csv", 4_000, bad_every=7)
    monkeypatch.setattr(import_pipe, "ENABLED", False)
    alone = _problems(engine, path)
    monkeypatch.setattr(import_pipe, "ENABLED", True)
    monkeypatch.setattr(import_pipe, "PARALLEL_BYTES", 0)
    assert import_pipe._parallel(path)
    beside = _problems(engine, path)
    assert beside == alone
    assert len(alone) == MAX_PROBLEMS + 1 and alone[-1][0] == "(more)"
    assert any(place == "line 5, column email" for place, _ in alone)
    assert any(place == "line 5, column birth_month" for place, _ in alone)
    assert _count(engine, Member) == 0


def test_a_failure_in_the_reading_process_fails_the_import(
        engine: Engine, tmp_path: Path, forked: None, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _members(tmp_path / "members.csv", 12_000)
    checked = members_import._Checker.member

    def member(self: members_import._Checker, row: members_import.Row) -> object:
        if row.line == 11_000:  # in the third chunk, which the reading process checks
            raise ValueError("a fault in the reader")
        return checked(self, row)

    monkeypatch.setattr(members_import._Checker, "member", member)
    with pytest.raises(RuntimeError, match="a fault in the reader"):
        import_members(engine, path, now=NOW)
    assert _count(engine, Member) == 0


def test_a_failure_checking_the_importing_process_s_share_fails_the_import(
        engine: Engine, tmp_path: Path, forked: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite every other chunk of a members file is checked by the importing process."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the checks are shared on SQLite only")
    path = _members(tmp_path / "members.csv", 12_000)
    checked = members_import._Checker.member
    pid = os.getpid()

    def member(self: members_import._Checker, row: members_import.Row) -> object:
        if row.line == 9_000:  # in the second chunk
            assert os.getpid() == pid
            raise ValueError("a fault in the importer")
        return checked(self, row)

    monkeypatch.setattr(members_import._Checker, "member", member)
    with pytest.raises(ValueError, match="a fault in the importer"):
        import_members(engine, path, now=NOW)
    assert _count(engine, Member) == 0


def _keys(conn: Connection) -> set[tuple[str, str]]:
    return {(str(t), str(d)) for t, d in conn.execute(text(
        "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = ANY(ARRAY['members', 'consents', 'orders', "
        "'order_lines']::regclass[])"))}


@pytest.fixture
def bulk_keys(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    """PostgreSQL, keys checked in bulk from the first row; the keys found before."""
    if engine.dialect.name != "postgresql":
        pytest.skip("foreign keys are checked in bulk on PostgreSQL only")
    monkeypatch.setattr(import_stage, "BULK_KEYS_ROWS", 1)
    with engine.connect() as conn:
        before = _keys(conn)
    assert ("consents", "FOREIGN KEY (member_id) REFERENCES members(id)") in before
    return before


def test_keys_checked_in_bulk_are_back_after_the_import(
        engine: Engine, tmp_path: Path, bulk_keys: set[tuple[str, str]]) -> None:
    import_products(engine, PRODUCTS)
    assert import_members(engine, _members(tmp_path / "m.csv", 600), now=NOW).written == 600
    assert import_orders(engine, _orders(tmp_path / "o.csv", 400), now=NOW).written == 200
    with engine.connect() as conn:
        assert _keys(conn) == bulk_keys


def test_a_bad_reference_fails_the_whole_import_when_keys_are_checked_in_bulk(
        engine: Engine, tmp_path: Path, bulk_keys: set[tuple[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    written = members_import._write

    def write(conn: Connection, top: int | None, *, consents: bool, forward: bool) -> None:
        """The import's writes, and a consent naming no member (which its checks never let
        through: only the key can stop it here)."""
        written(conn, top, consents=consents, forward=forward)
        conn.exec_driver_sql("INSERT INTO consents (member_id, channel, granted, at, method) "
                             "SELECT MAX(id) + 1000, 'email', true, now(), 'import' "
                             "FROM members")

    monkeypatch.setattr(members_import, "_write", write)
    with pytest.raises(Exception, match="fk_consents_member_id_members"):
        import_members(engine, _members(tmp_path / "m.csv", 600), now=NOW)
    assert _count(engine, Member) == 0
    assert _count(engine, Consent) == 0
    with engine.connect() as conn:
        assert _keys(conn) == bulk_keys


def test_keys_stay_when_their_tables_are_busy(
        engine: Engine, tmp_path: Path, bulk_keys: set[tuple[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_stage, "BULK_KEYS_WAIT", "100ms")
    dropped: list[object] = []
    loose = import_stage.loose_keys

    def spy(conn: Connection, tables: list[str], count: int) -> list[tuple[str, str, str]]:
        got = loose(conn, tables, count)
        dropped.append(got)
        return got

    monkeypatch.setattr(members_import, "loose_keys", spy)
    with engine.connect() as reader, reader.begin():
        reader.execute(text("SELECT COUNT(*) FROM consents"))  # holds a lock on consents
        assert import_members(engine, _members(tmp_path / "m.csv", 600), now=NOW).written == 600
    assert dropped == [[]]  # the keys were kept, checked row by row
    with engine.connect() as conn:
        assert _keys(conn) == bulk_keys


def test_a_few_rows_into_a_large_store_keep_their_keys(
        engine: Engine, tmp_path: Path, bulk_keys: set[tuple[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    dropped: list[list[tuple[str, str, str]]] = []
    loose = import_stage.loose_keys

    def spy(conn: Connection, tables: list[str], count: int) -> list[tuple[str, str, str]]:
        got = loose(conn, tables, count)
        dropped.append(got)
        return got

    monkeypatch.setattr(members_import, "loose_keys", spy)
    assert import_members(engine, _members(tmp_path / "m.csv", 600), now=NOW).written == 600
    with engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("ANALYZE members")
        conn.exec_driver_sql("ANALYZE consents")
    more = tmp_path / "more.csv"
    more.write_text(HEADER + "N1,retail,Ann,Bee,n1@example.com,,M0,,2026-01-01T00:00:00Z,"
                    "2,3,yes,yes,,US\n", encoding="utf-8")
    assert import_members(engine, more, now=NOW).written == 1
    # The first import (into an empty store) checked its keys in bulk; the second (one row
    # beside 1,800 consents) row by row.
    assert [bool(d) for d in dropped] == [True, False]
    with engine.connect() as conn:
        assert _keys(conn) == bulk_keys


def _indexes(conn: Connection) -> set[tuple[str, str]]:
    """Every index of the tables an import fills, by name and definition."""
    tables = ("members", "consents", "orders", "order_lines")
    if conn.dialect.name == "postgresql":
        return {(str(n), str(d)) for n, d in conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('members', 'consents', 'orders', 'order_lines')"))}
    return {(str(n), str(d)) for n, d in conn.execute(text(
        "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name "
        f"IN {tables}"))}


@pytest.fixture
def bulk_rows(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    """Indexes built again in bulk from the first row (and on PostgreSQL keys checked in
    bulk); the indexes found before."""
    monkeypatch.setattr(import_stage, "BULK_KEYS_ROWS", 1)
    with engine.connect() as conn:
        before = _indexes(conn)
    assert any(name == "ix_members_owner" for name, _ in before)
    return before


def test_indexes_built_in_bulk_are_back_after_the_import(
        engine: Engine, tmp_path: Path, bulk_rows: set[tuple[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    dropped: list[list[tuple[str, str]]] = []
    loose = import_stage.loose_indexes

    def spy(conn: Connection, tables: list[str], written: int,
            keys: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
        got = loose(conn, tables, written, keys)
        dropped.append(got)
        return got

    monkeypatch.setattr(members_import, "loose_indexes", spy)
    import_products(engine, PRODUCTS)
    assert import_members(engine, _members(tmp_path / "m.csv", 600), now=NOW).written == 600
    assert import_orders(engine, _orders(tmp_path / "o.csv", 400), now=NOW).written == 200
    # The members import built its plain indexes again (the unique ones stayed).
    assert {name for name, _ in dropped[0]} >= {"ix_members_owner", "ix_members_downline",
                                                "ix_consents_member_channel"}
    assert "uq_members_ref" not in {name for name, _ in dropped[0]}
    with engine.connect() as conn:
        assert _indexes(conn) == bulk_rows
        # The rebuilt indexes serve: a customer is found through their owner.
        owner = conn.execute(text("SELECT id FROM members WHERE ref = 'M0'")).scalar_one()
        assert conn.execute(text("SELECT COUNT(*) FROM members WHERE owner_id = :o"),
                            {"o": owner}).scalar_one() == 4


def test_a_failed_import_leaves_every_index(
        engine: Engine, tmp_path: Path, bulk_rows: set[tuple[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    written = members_import._write

    def write(conn: Connection, top: int | None, *, consents: bool, forward: bool) -> None:
        """The import's writes (with its plain indexes dropped), then a failure."""
        written(conn, top, consents=consents, forward=forward)
        raise RuntimeError("a failure after the writes")

    monkeypatch.setattr(members_import, "_write", write)
    with pytest.raises(RuntimeError, match="a failure after the writes"):
        import_members(engine, _members(tmp_path / "m.csv", 600), now=NOW)
    assert _count(engine, Member) == 0
    with engine.connect() as conn:
        assert _indexes(conn) == bulk_rows


def test_a_few_rows_into_a_large_store_keep_their_indexes(
        engine: Engine, tmp_path: Path, bulk_rows: set[tuple[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    dropped: list[list[tuple[str, str]]] = []
    loose = import_stage.loose_indexes

    def spy(conn: Connection, tables: list[str], written: int,
            keys: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
        got = loose(conn, tables, written, keys)
        dropped.append(got)
        return got

    monkeypatch.setattr(members_import, "loose_indexes", spy)
    assert import_members(engine, _members(tmp_path / "m.csv", 600), now=NOW).written == 600
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("ANALYZE members")
            conn.exec_driver_sql("ANALYZE consents")
    more = tmp_path / "more.csv"
    more.write_text(HEADER + "N1,retail,Ann,Bee,n1@example.com,,M0,,2026-01-01T00:00:00Z,"
                    "2,3,yes,yes,,US\n", encoding="utf-8")
    assert import_members(engine, more, now=NOW).written == 1
    assert [bool(d) for d in dropped] == [True, False]
    with engine.connect() as conn:
        assert _indexes(conn) == bulk_rows


def test_an_import_session_with_room_for_its_stage_is_not_pooled(
        engine: Engine, tmp_path: Path) -> None:
    """On PostgreSQL an import's session keeps more of its staging tables in memory, and is
    closed at its end: the pool's next session has the server's default."""
    if engine.dialect.name != "postgresql":
        pytest.skip("temp_buffers is PostgreSQL's")
    with engine.connect() as conn:
        default = conn.exec_driver_sql("SHOW temp_buffers").scalar_one()
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    seen: list[tuple[str, int]] = []
    stage = members_import.create_stage

    def spy(conn: Connection, name: str, columns: list[object]) -> object:
        seen.append((str(conn.exec_driver_sql("SHOW temp_buffers").scalar_one()),
                     int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())))
        return stage(conn, name, columns)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(members_import, "create_stage", spy)
        assert import_members(engine, _members(tmp_path / "m.csv", 30), now=NOW).written == 30
    assert seen[0][0] == import_stage.STAGE_BUFFERS
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW temp_buffers").scalar_one() == default
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() not in (
            seen[0][1], None)
    assert pid == seen[0][1]  # the import had the pool's session, and closed it


def test_an_import_in_a_session_that_used_temporary_tables_keeps_its_buffers(
        tmp_path: Path, engine: Engine) -> None:
    """A session that has touched a temporary table can no longer change its buffers: the
    import runs with them as they are."""
    if engine.dialect.name != "postgresql":
        pytest.skip("temp_buffers is PostgreSQL's")
    from patronage.db.engine import make_engine

    one = make_engine(engine.url.render_as_string(hide_password=False), pool_size=1,
                      max_overflow=0)
    try:
        with one.connect() as conn:
            default = conn.exec_driver_sql("SHOW temp_buffers").scalar_one()
            conn.exec_driver_sql("CREATE TEMPORARY TABLE _used (x int)")
            conn.exec_driver_sql("INSERT INTO _used VALUES (1)")
            conn.commit()
        seen: list[str] = []
        stage = members_import.create_stage

        def spy(conn: Connection, name: str, columns: list[object]) -> object:
            seen.append(str(conn.exec_driver_sql("SHOW temp_buffers").scalar_one()))
            return stage(conn, name, columns)  # type: ignore[arg-type]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(members_import, "create_stage", spy)
            assert import_members(one, _members(tmp_path / "m.csv", 30), now=NOW).written == 30
        assert seen == [default]
        assert _count(one, Member) == 30
    finally:
        one.dispose()


def test_references_joined_whole_when_keys_are_checked_in_bulk(
        engine: Engine, tmp_path: Path, bulk_keys: set[tuple[str, str]]) -> None:
    """Under the bulk rule the checks and writes join whole tables (hash joins): each member
    still gets the sponsor and owner the file names, including one stored before."""
    with transaction(engine) as s:
        s.add(Member(ref="OLD", kind="distributor", first_name="Old", last_name="",
                     joined_at=NOW, status="active"))
    path = _members(tmp_path / "m.csv", 600)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "M0,distributor,First0,Last0,m0@example.com,,", "M0,distributor,First0,Last0,"
        "m0@example.com,OLD,", 1), encoding="utf-8")
    assert import_members(engine, path, now=NOW).written == 600
    with transaction(engine) as s:
        refs = {i: r for i, r in s.execute(select(Member.id, Member.ref))}
        got = {ref: (refs.get(sponsor), refs.get(owner)) for ref, sponsor, owner in
               s.execute(select(Member.ref, Member.sponsor_id, Member.owner_id))}
    for i in range(600):
        lead = i - i % 5
        if i % 5:
            assert got[f"M{i}"] == (None, f"M{lead}")
        else:
            assert got[f"M{i}"] == (f"M{lead - 5}" if i else "OLD", None)


def test_planner_settings_hold_inside_their_block_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("join methods are chosen on PostgreSQL only")
    with engine.connect() as conn:
        jit = conn.exec_driver_sql("SHOW jit").scalar_one()
    with engine.connect() as conn, conn.begin():
        import_stage.roomy_sorts(conn)
        assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
        for before in ("on", "off"):  # whatever the transaction had, it has again after
            conn.exec_driver_sql(f"SET LOCAL enable_nestloop = {before}")
            with import_stage.whole_joins(conn, True):
                assert conn.exec_driver_sql("SHOW enable_nestloop").scalar_one() == "off"
            assert conn.exec_driver_sql("SHOW enable_nestloop").scalar_one() == before
        conn.exec_driver_sql("SET LOCAL enable_nestloop = on")
        with import_stage.whole_joins(conn, False):
            assert conn.exec_driver_sql("SHOW enable_nestloop").scalar_one() == "on"
        with import_stage.sorted_groups(conn):
            assert conn.exec_driver_sql("SHOW enable_hashagg").scalar_one() == "off"
        assert conn.exec_driver_sql("SHOW enable_hashagg").scalar_one() == "on"
    with engine.connect() as conn:  # the import's settings ended with its transaction
        assert conn.exec_driver_sql("SHOW jit").scalar_one() == jit
