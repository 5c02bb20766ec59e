"""Importing a members file: streamed, checked in chunks, written in bulk, all or nothing.

Each row is checked on its own as it is read (formats, the enrolment rules that need no other
record: kind, sponsor or owner by kind, birthday, email, join date and birth year bounds) and
staged; then the rows are checked against each other and the store in SQL (a ref given twice or
already taken, sponsors and owners that must be distributors and active, referrers that must
exist, a row referring to a row that failed, cycles of references inside the file); then, with
no problem anywhere, the members, their consents and the suppressions of withdrawn consents are
written by one statement each. The rules are those of
:func:`patronage.network.members.enroll_member`; memory stays bounded by the chunk size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pycountry
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    SmallInteger,
    String,
    func,
    select,
    table,
    text,
)
from sqlalchemy import column as sa_column

from patronage.clock import DEFAULT_COMPANY_ZONE, zone
from patronage.compensation.carry import place_imported
from patronage.db.bulk import allocate_ids, copy_payload, copy_stream
from patronage.db.markets import Market
from patronage.db.tables import MEMBER_KINDS, Member
from patronage.errors import PatronageError
from patronage.fastpath.collector import relaxed_collector
from patronage.fastpath.copy_binary import column_types
from patronage.languages import N_
from patronage.markets.core.contacts import phone_problem, postal_problem, region_problem
from patronage.network.intake import (
    EARLIEST_BIRTH_YEAR,
    EARLIEST_JOINED,
    JOINED_AHEAD,
    check_birth_year,
    check_joined_at,
    normalise_email,
)
from patronage.network.members import address_hasher, suppression_key
from patronage.orders.csv_rows import CHUNK_ROWS, Findings, Row, count_lines
from patronage.orders.import_cycles import LINKS, drop_links, make_links, unsettled
from patronage.orders.import_pipe import checked_chunks
from patronage.orders.import_stage import (
    create_stage,
    import_connection,
    index_stage,
    loose_indexes,
    loose_keys,
    restore_indexes,
    restore_keys,
    roomy_sorts,
    rows,
    sorted_groups,
    stage_tuples,
    whole_joins,
)

MEMBER_COLUMNS = [
    "ref", "kind", "first_name", "last_name", "email", "phone", "sponsor_ref", "owner_ref",
    "referrer_ref", "joined_at", "timezone", "locale", "birth_month", "birth_day", "birth_year",
    "address_line1", "address_line2", "city", "region", "postal_code", "country", "channel",
    "consent_email", "consent_post", "consent_sms", "market",
]
MEMBER_REQUIRED = ["ref", "kind", "first_name", "joined_at"]
_RELATIONS = ("sponsor", "owner", "referrer")
_TEXT = ["ref", "kind", "first_name", "last_name", "email", "phone", "sponsor_ref", "owner_ref",
         "referrer_ref", "timezone", "locale", "address_line1", "address_line2", "city",
         "region", "postal_code", "country", "channel", "market"]
_SMALL = ["birth_month", "birth_day", "birth_year", "consent_email", "consent_post",
          "consent_sms"]
_REF_LENGTH: int = Member.__table__.c.ref.type.length  # type: ignore[attr-defined]


def member_limits() -> dict[str, int]:
    """Each text column's most characters: the members table's column lengths."""
    table = Member.__table__
    limits = {c: int(table.c[c].type.length) for c in _TEXT  # type: ignore[attr-defined]
              if c in table.c and getattr(table.c[c].type, "length", None)}
    for relation in _RELATIONS:
        limits[f"{relation}_ref"] = _REF_LENGTH
    limits["market"] = 2
    return limits


_FLAGS = {"1": 1, "true": 1, "yes": 1, "y": 1, "0": 0, "false": 0, "no": 0, "n": 0}


def _flag(value: str) -> int | None:
    """1 for a yes, 0 for a no, ``None`` for neither (in any case)."""
    flag = _FLAGS.get(value)
    return _FLAGS.get(value.lower()) if flag is None else flag


@lru_cache(maxsize=1024)
def _zone_ok(name: str) -> bool:
    try:
        zone(name)
    except PatronageError:
        return False
    return True


@lru_cache(maxsize=512)
def _country(code: str) -> str | None:
    return code.upper() if pycountry.countries.get(alpha_2=code.upper()) is not None else None


def parse_time(value: str) -> datetime | str:
    """An aware time, or why the text is not one."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"{value!r} is not an ISO 8601 time"
    if moment.tzinfo is None:
        return f"{value!r} has no time zone (add Z or +hh:mm)"
    return moment


#: A time in UTC to the second, as most exports write one: its text as SQLite stores it is the
#: same digits (see :func:`time_text`).
_UTC_SECOND = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def time_text(value: str, moment: datetime) -> str:
    """``moment``, read from ``value`` by :func:`parse_time`, as SQLite's bulk writes store a
    time: UTC, without zone, to the microsecond (``2026-03-01 09:30:00.000000``)."""
    if _UTC_SECOND.fullmatch(value):  # already UTC, whole seconds: the digits as written
        return f"{value[:10]} {value[11:19]}.000000"
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ",
                                                                  timespec="microseconds")


def parse_int(value: str, low: int, high: int) -> int | str:
    """A whole number within ``low..high``, or why the text is not one."""
    try:
        number = int(value)
    except ValueError:
        return f"{value!r} is not a whole number"
    if number < low or number > high:
        return f"{number} is outside {low}..{high}"
    return number


class _Checker:
    """The checks of one row that need no other record, turning cells into staged values."""

    def __init__(self, found: Findings, now: datetime | None, key: bytes,
                 markets: dict[str, int], default_market: str, time_text: bool = False) -> None:
        self.found, self.now, self.time_text = found, now, time_text
        self.markets, self.default_market = markets, default_market
        self.hash = address_hasher(key)
        self.latest = None if now is None else now + JOINED_AHEAD
        # The commonest valid cells, looked up instead of parsed (any other text is parsed).
        self.months = {str(m): m for m in range(1, 13)}
        self.days = {str(d): d for d in range(1, 32)}
        self.years = ({} if now is None else
                      {str(y): y for y in range(EARLIEST_BIRTH_YEAR, now.year + 1)})

    def bad(self, row: Row, column: str, reason: str) -> None:
        row.ok = False
        self.found.cell(row.line, column, reason)

    def member(self, row: Row) -> tuple[Any, ...]:
        (ref, kind, first, last, email, phone, sponsor, owner, referrer, joined, tz, locale,
         month, day, year, line1, line2, city, region, postal, country, channel,
         c_email, c_post, c_sms, market) = row.cells
        if kind is not None and kind not in MEMBER_KINDS:
            self.bad(row, "(row)", f"kind: {kind!r} is not one of {', '.join(MEMBER_KINDS)}")
        at: datetime | None = None
        if joined is not None:
            parsed = parse_time(joined)
            if isinstance(parsed, str):
                self.bad(row, "joined_at", parsed)
            else:
                at = parsed
                if at < EARLIEST_JOINED or (self.latest is not None and at > self.latest):
                    try:
                        check_joined_at(at, self.now)
                    except PatronageError as exc:
                        self.bad(row, "joined_at", str(exc).removeprefix("joined_at: "))
        if tz is not None and not _zone_ok(tz):
            self.bad(row, "timezone", f"{tz!r} is not an IANA time zone")
        if email is not None:
            try:
                email = normalise_email(email)
            except PatronageError as exc:
                self.bad(row, "email", str(exc).removeprefix("email: "))
        if country is not None:
            code = _country(country)
            if code is None:
                self.bad(row, "country", f"{country!r} is not a two-letter ISO 3166 country "
                                         "code (like US, CA, GB, MX)")
            country = code
        if market is None:
            market_id, market = None, self.default_market
        else:
            market_id, market = self._market(row, market)
        place = country if country is not None else _country(market)
        if phone is not None:
            phone, problem = phone_problem(phone, place)
            if problem is not None:
                self.bad(row, "phone", problem)
        if place is not None and region is not None:
            region, problem = region_problem(region, place)
            if problem is not None:
                self.bad(row, "region", problem)
        if place is not None and postal is not None:
            postal, problem = postal_problem(postal, place)
            if problem is not None:
                self.bad(row, "postal_code", problem)
        b_month = None if month is None else self.months.get(month)
        if b_month is None and month is not None:
            b_month = self._number(row, "birth_month", month, 1, 12)
        b_day = None if day is None else self.days.get(day)
        if b_day is None and day is not None:
            b_day = self._number(row, "birth_day", day, 1, 31)
        b_year = None if year is None else self.years.get(year)
        if b_year is None and year is not None:  # not a year from 1900 to now's
            b_year = self._number(row, "birth_year", year, -(2**15), 2**15 - 1)
            if b_year is not None:
                try:
                    check_birth_year(b_year, self.now)
                except PatronageError as exc:
                    self.bad(row, "birth_year", str(exc).removeprefix("birth_year: "))
        if b_month is None or b_day is None or b_day > 28:  # else a day of every month
            self._birthday(row, b_month, b_day, b_year, month, day)
        f_email = f_post = f_sms = None
        if (c_email is not None and (f_email := _FLAGS.get(c_email)) is None
                and (f_email := _flag(c_email)) is None):
            self.bad(row, "consent_email", f"{c_email!r} is not yes/no")
        if (c_post is not None and (f_post := _FLAGS.get(c_post)) is None
                and (f_post := _flag(c_post)) is None):
            self.bad(row, "consent_post", f"{c_post!r} is not yes/no")
        if (c_sms is not None and (f_sms := _FLAGS.get(c_sms)) is None
                and (f_sms := _flag(c_sms)) is None):
            self.bad(row, "consent_sms", f"{c_sms!r} is not yes/no")
        if kind == "distributor":
            if owner is not None:
                self.bad(row, "(row)", "a distributor has a sponsor, not an owner")
        elif kind in ("retail", "preferred"):
            if sponsor is not None:
                self.bad(row, "(row)", "a customer has an owner, not a sponsor")
            if owner is None:
                self.bad(row, "(row)",
                         "a customer must have an owner (the distributor serving them)")
        ok = row.ok
        email_hash = self.hash(email) if f_email == 0 and email and ok else None
        phone_hash = self.hash(phone) if f_sms == 0 and phone and ok else None
        staged_at: datetime | str | None = at
        if self.time_text and at is not None:  # as SQLite's bulk writes store a time
            staged_at = time_text(joined, at)  # type: ignore[arg-type]
        return (row.line, 1 if ok else 0, ref, kind, first, last or "", email, phone,
                sponsor, owner, referrer, staged_at, tz or "UTC", locale or "en-US", b_month,
                b_day, b_year, line1, line2, city, region, postal, country, channel, f_email,
                f_post, f_sms, email_hash, phone_hash, market_id, 0)

    def _market(self, row: Row, code: str | None) -> tuple[int | None, str]:
        """The row's market id (``None``: the default market) and code."""
        if code is None:
            return None, self.default_market
        market_id = self.markets.get(code.upper())
        if market_id is None:
            self.bad(row, "market", f"{code!r} is not a market (markets: "
                                    f"{', '.join(sorted(self.markets))})")
            return None, self.default_market
        return market_id, code.upper()

    def _number(self, row: Row, column: str, value: str, low: int, high: int) -> int | None:
        got = parse_int(value, low, high)
        if isinstance(got, str):
            self.bad(row, column, got)
            return None
        return got

    def _birthday(self, row: Row, month: int | None, day: int | None, year: int | None,
                  month_text: str | None, day_text: str | None) -> None:
        if month is None and day is None:
            if year is not None and month_text is None and day_text is None:
                self.bad(row, "(row)", "birthday: a birth year without month and day")
            return
        if month is None or day is None:
            if month_text is None or day_text is None:
                self.bad(row, "(row)", "birthday: give both birth month and birth day")
            return
        try:
            date(year if year is not None else 2000, month, day)  # 2000 is a leap year
        except ValueError as exc:
            self.bad(row, "(row)", f"birthday: {month}-{day} is not a calendar day ({exc})")


_STAGED = ["line", "ok", "ref", "kind", "first_name", "last_name", "email", "phone",
           "sponsor_ref", "owner_ref", "referrer_ref", "joined_at", "timezone", "locale",
           "birth_month", "birth_day", "birth_year", "address_line1", "address_line2", "city",
           "region", "postal_code", "country", "channel", "consent_email", "consent_post",
           "consent_sms", "email_hash", "phone_hash", "market_id", "dup"]


def _stage_columns(ids: str | None) -> list[Column[Any]]:
    """The staging table's columns; ``ids``: where PostgreSQL takes each row's member id as
    the row is copied in (the members' id sequence)."""
    columns: list[Column[Any]] = [Column("line", Integer, primary_key=True),
                                  Column("id", Integer, server_default=None if ids is None
                                         else text(f"nextval('{ids}'::regclass)")),
                                  Column("ok", SmallInteger),
                                  Column("dup", SmallInteger)]
    for name in _STAGED[2:-1]:
        if name == "joined_at":
            columns.append(Column(name, DateTime(timezone=True)))
        elif name in _SMALL:
            columns.append(Column(name, SmallInteger))
        elif name == "market_id":
            columns.append(Column(name, Integer))
        else:
            columns.append(Column(name, String))
    return columns


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: Microseconds since 1970 of the times :func:`_joined` converts a chunk at a time: a day inside
#: the years 1 to 9999, where a time in any zone is a time in UTC too.
_SAFE_MICROS = ((datetime(1, 1, 2, tzinfo=UTC) - _EPOCH) // _MICROSECOND,
                (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH) // _MICROSECOND)


def _joined(values: Sequence[datetime | None]) -> np.ndarray[Any, Any]:
    """The times in UTC as ``datetime64[us]`` (``None``: NaT)."""
    micros = np.fromiter(map(_micros, values), dtype=np.int64, count=len(values))
    present = micros[micros != _NAT]
    if present.size and (present.min() < _SAFE_MICROS[0] or present.max() > _SAFE_MICROS[1]):
        # At the ends of the calendar a time may not be one in UTC: as each was, one by one.
        return np.array([None if v is None else v.astimezone(UTC).replace(tzinfo=None)
                         for v in values], dtype="datetime64[us]")
    return micros.view("datetime64[us]")


_NAT = np.iinfo(np.int64).min


def _micros(moment: datetime | None) -> int:
    """Microseconds since 1970-01-01 UTC (``None``: NaT's integer)."""
    return _NAT if moment is None else (moment - _EPOCH) // _MICROSECOND


Progress = Callable[[str, int], None]


def import_members_file(engine: Engine, source: Path | str, *, name: str, dry_run: bool,
                        now: datetime | None, progress: Progress | None = None,
                        company_zone: str = DEFAULT_COMPANY_ZONE) -> tuple[int, Findings]:
    """Check and (unless ``dry_run``) write the members of ``source``; returns the number of
    rows and the problems found (with any problem nothing is written). When the plan in force
    (at ``now``; without it, at the latest join date in the file) pays a binary bonus, the
    distributors are placed in the placement tree in the same transaction."""
    found = Findings()
    count = 0
    forward = False  # a row refers to a row further down the file
    # The markets are read first, on their own: on SQLite the import's transaction must not
    # read the store before it takes the write lock (another connection's commit in between
    # would fail the import).
    with engine.connect() as look:
        markets = {str(c): int(i) for c, i in look.execute(select(Market.code, Market.id))}
        default = look.scalar(select(Market.code).where(Market.is_default.is_(True)))
    with relaxed_collector(), import_connection(engine) as conn, conn.begin() as tx:
        sqlite = conn.dialect.name == "sqlite"
        # On SQLite the checked rows go to the staging table as they are, times as text.
        checker = _Checker(found, now, suppression_key(), markets, str(default or "US"),
                           time_text=sqlite)
        roomy_sorts(conn)
        ids = None
        top: int | None = None  # SQLite: ids are ``top`` plus the line
        loosened: list[tuple[str, str, str]] = []
        indexes: list[tuple[str, str]] = []
        if not sqlite:
            # Ids from the members' sequence, safe beside other writers, taken as rows are
            # staged (an update of every staged row afterwards would write the table twice).
            ids = str(conn.exec_driver_sql(
                "SELECT pg_get_serial_sequence('members', 'id')").scalar_one())
            if not dry_run:
                about = max(count_lines(source) - 1, 0)
                loosened = loose_keys(conn, ["members", "consents"], about)
                indexes = loose_indexes(conn, ["members", "consents"], about, loosened)
        stage = create_stage(conn, "_import_members", _stage_columns(ids))
        types = {} if sqlite else column_types(conn.connection.driver_connection, stage.name)
        # On PostgreSQL with the keys dropped, while no problem is found, each chunk's
        # consents are written as soon as it is staged: the server writes them while the next
        # chunk is read and checked.
        early = _EarlyConsents(conn) if loosened else None

        def check(chunk: list[Row]) -> Any:
            """A chunk checked and made ready to stage (perhaps in a reading process, see
            :mod:`patronage.orders.import_pipe`): SQLite's rows, PostgreSQL's COPY stream."""
            checked = [checker.member(row) for row in chunk]
            if sqlite:
                return checked
            columns: dict[str, Any] = dict(zip(_STAGED, zip(*checked, strict=True),
                                               strict=True))
            columns["joined_at"] = _joined(columns["joined_at"])
            return copy_payload(columns, types)

        for size, ready in checked_chunks(source, MEMBER_COLUMNS, MEMBER_REQUIRED,
                                          member_limits(), found, check, CHUNK_ROWS,
                                          share=sqlite):
            if sqlite:
                stage_tuples(conn, stage, _STAGED, ready)
            else:
                copy_stream(conn, stage.name, _STAGED, ready)
            count += size
            if early is not None and not found.any:
                early.chunk()
            if progress is not None:
                progress(N_("checking"), count)
        if count:
            if progress is not None:
                progress(N_("checking references"), count)
            if sqlite:
                top = _take_ids(conn)
            index_stage(conn, stage, "ref", analysed=["line", "ok", "dup", "ref", "kind",
                                                      "sponsor_ref", "owner_ref",
                                                      "referrer_ref"],
                        covering=["dup", "ok", "kind", "joined_at"])
            with whole_joins(conn, bool(loosened)):
                forward = _check_against_each_other(conn, found)
        if not found.any and count and not dry_run:
            if progress is not None:
                progress(N_("writing"), count)
            if sqlite:
                indexes = loose_indexes(conn, ["members", "consents"], count, [])
            with whole_joins(conn, bool(loosened)):
                _write(conn, top, consents=early is None, forward=forward)
            restore_indexes(conn, indexes)
            restore_keys(conn, loosened)
            _place(conn, now, company_zone, top)
        if found.any or dry_run:
            tx.rollback()
        else:  # the staging table ends with the connection (see import_connection)
            tx.commit()
    return count, found


_S = "_import_members"


def _take_ids(conn: Connection) -> int:
    """SQLite: the largest member id, after taking the write lock, held from here to the end
    of the import (the staging table is in the connection's own temporary database, which
    takes no lock: while the file is read, other connections write, an import job's progress
    among them): a staged row's id is this plus its line, computed where it is used (see
    :func:`_id`)."""
    return int(allocate_ids(conn, "members", 1)[0]) - 1


class _EarlyConsents:
    """PostgreSQL, with the keys dropped (see :func:`~patronage.orders.import_stage.loose_keys`):
    each staged chunk's consents, written as soon as it is staged, in the import's transaction
    (rolled back with it if a problem is found later)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.through = 0  # the last line of the chunk before

    def chunk(self) -> None:
        """The chunk just staged."""
        last = int(self.conn.exec_driver_sql(f"SELECT MAX(line) FROM {_S}").scalar_one())
        # A range of lines: read through the staging table's key.
        _write_consents(self.conn, None, f"s.line BETWEEN {self.through + 1} AND {last}")
        self.through = last


#: The most rows a check reads back (more problems than the list keeps in any case).
_LISTED = 10_000


def _mark(conn: Connection, lines: list[int]) -> None:
    for i in range(0, len(lines), 500):
        part = lines[i:i + 500]
        conn.exec_driver_sql(f"UPDATE {_S} SET ok = 0 WHERE line IN "
                             f"({', '.join(str(int(x)) for x in part)})")


def _report(conn: Connection, found: Findings, sql: str,
            describe: Callable[[tuple[Any, ...]], tuple[str, str]],
            params: dict[str, Any] | None = None) -> list[int]:
    """Record each row of a check (its first value is the line) and mark it failed."""
    if found.full:
        return []
    got = rows(conn, sql, params, limit=_LISTED)
    for row in got:
        column, reason = describe(row)
        found.cell(int(row[0]), column, reason)
    lines = sorted({int(r[0]) for r in got})
    _mark(conn, lines)
    return lines


def _check_against_each_other(conn: Connection, found: Findings) -> bool:
    """The checks of the rows against each other and the store; returns whether a row
    refers to a row further down the file."""
    twice = f"SELECT ref FROM {_S} WHERE ref IS NOT NULL GROUP BY ref HAVING COUNT(*) > 1"
    if rows(conn, twice, limit=1):
        conn.exec_driver_sql(f"UPDATE {_S} SET dup = 1 WHERE ref IN ({twice}) AND line > "
                             f"(SELECT MIN(f.line) FROM {_S} f WHERE f.ref = {_S}.ref)")
        _report(conn, found, f"SELECT s.line, s.ref, (SELECT MIN(f.line) FROM {_S} f WHERE "
                             f"f.ref = s.ref) FROM {_S} s WHERE s.dup = 1 ORDER BY s.line",
                lambda r: ("ref", f"{r[1]!r} also on line {r[2]}"))
    _report(conn, found, f"SELECT s.line, s.ref FROM {_S} s JOIN members m ON m.ref = s.ref "
                         "ORDER BY s.line",
            lambda r: ("ref", f"{r[1]!r} is already taken by another member"))
    ahead = [_check_relation(conn, found, relation) for relation in _RELATIONS]
    forward = _check_cycles(conn, found, None if None in ahead else any(ahead))
    # A row referring to a row of the file that cannot be imported cannot be either.
    for _ in range(100):
        if not found.any or found.full:
            break
        marked: list[int] = []
        for relation in _RELATIONS:
            marked += _report(
                conn, found,
                f"SELECT s.line, s.{relation}_ref, f.line FROM {_S} s JOIN {_S} f ON "
                f"f.ref = s.{relation}_ref AND f.dup = 0 WHERE s.ok = 1 AND f.ok = 0 "
                "ORDER BY s.line", _unimportable(relation))
        if not marked:
            break
    return forward


def _check_relation(conn: Connection, found: Findings, relation: str) -> bool | None:
    """Each row's ``relation`` reference: to a member of the file or the store, a distributor
    and not terminated unless a referrer. The same pass tells whether a reference points to a
    row further down the file (``None``: it cannot tell, when the problems fill the list)."""
    if found.full:
        return None
    must_lead = relation != "referrer"
    wrong_kind = ("OR COALESCE(f.kind, m.kind) <> 'distributor' OR (f.line IS NULL AND "
                  "m.status IN ('terminated', 'erased'))") if must_lead else ""
    bad = f"(f.ok IS NULL OR f.ok = 1) AND ((f.line IS NULL AND m.id IS NULL) {wrong_kind})"
    # The problems first, in the file's order: a list cut short by references ahead still
    # holds every problem (up to the list's length).
    got = rows(conn, f"SELECT s.line, s.{relation}_ref, f.kind, m.kind, m.status, "
                     f"CASE WHEN {bad} THEN 1 ELSE 0 END, "
                     "CASE WHEN f.line >= s.line THEN 1 ELSE 0 END "
                     f"FROM {_S} s LEFT JOIN {_S} f ON f.ref = s.{relation}_ref AND f.dup = 0 "
                     f"LEFT JOIN members m ON m.ref = s.{relation}_ref "
                     f"WHERE s.{relation}_ref IS NOT NULL AND (({bad}) OR f.line >= s.line) "
                     "ORDER BY 6 DESC, 1", limit=_LISTED)
    failed = [r for r in got if r[5]]
    _describe_relation(found, relation, failed)
    _mark(conn, sorted({int(r[0]) for r in failed}))
    ahead = any(r[6] for r in got)
    # A list of problems only, full: whether a reference further on points ahead is unknown.
    return ahead if ahead or len(failed) < _LISTED else None


def _describe_relation(found: Findings, relation: str, failed: list[tuple[Any, ...]]) -> None:
    for line, ref, file_kind, kind, status, *_ in failed:
        if file_kind is None and kind is None:
            reason = f"{relation}_ref: no member with ref {ref!r}"
        elif (file_kind or kind) != "distributor":
            article = "an" if relation[0] in "aeiou" else "a"
            reason = (f"{relation}_ref: {ref!r} is a {file_kind or kind} customer; "
                      f"{article} {relation} must be a distributor")
        else:
            reason = f"{relation}_ref: {ref!r} is {status}"
        found.cell(int(line), "(row)", reason)


def _unimportable(relation: str) -> Callable[[tuple[Any, ...]], tuple[str, str]]:
    def describe(r: tuple[Any, ...]) -> tuple[str, str]:
        return "(row)", f"{relation}_ref: {r[1]!r} (line {r[2]}) could not be imported"
    return describe


def _check_cycles(conn: Connection, found: Findings, ahead: bool | None) -> bool:
    """A reference to a row further down the file may close a cycle: from each such reference
    among the rows that may lie on a cycle (see :mod:`patronage.orders.import_cycles`), follow
    references (inside the file) and see whether they come back. Returns whether there is a
    reference to a row further down (``ahead``: whether the checks saw one, ``None``: they
    could not tell)."""
    if ahead is False:
        return False
    forward = " UNION ALL ".join(
        f"SELECT s.line AS src, '{r}' AS rel, f.line AS dst, f.ref AS ref FROM {_S} s "
        f"JOIN {_S} f ON f.ref = s.{r}_ref AND f.dup = 0 WHERE f.line >= s.line"
        for r in _RELATIONS)
    if not rows(conn, forward, limit=1):
        return False
    if not rows(conn, _against_joining(), limit=1):
        return True  # every reference leads to a member who joined before: no cycle
    make_links(conn, " UNION ALL ".join(
        f"SELECT s.line AS src, f.line AS dst FROM {_S} s JOIN {_S} f ON f.ref = s.{r}_ref "
        "AND f.dup = 0" for r in _RELATIONS))
    if unsettled(conn):  # else no cycle: every row could be written after those it refers to
        _report(conn, found,
                f"WITH RECURSIVE fwd AS (SELECT w.* FROM ({forward}) w WHERE EXISTS (SELECT 1 "
                f"FROM {LINKS} k WHERE k.src = w.src AND k.dst = w.dst)), "
                "reach(start, first, node) AS (SELECT src, dst, dst FROM fwd UNION "
                f"SELECT r.start, r.first, l.dst FROM reach r JOIN {LINKS} l ON "
                "l.src = r.node) SELECT DISTINCT fwd.src, fwd.rel, fwd.ref, fwd.dst FROM fwd "
                "JOIN reach ON reach.start = fwd.src AND reach.first = fwd.dst AND "
                "reach.node = fwd.src ORDER BY fwd.src",
                lambda r: (f"{r[1]}_ref", f"cycle through {r[2]!r} (line {r[3]})"))
    drop_links(conn)
    return True


def _against_joining() -> str:
    """The references inside the file that do not lead to a member who joined earlier (or at
    the same time, on a line above). Without one, no reference closes a cycle: following
    references goes back in time, never to the same row again. It is the rule of any export
    (a member's sponsor, owner and referrer were members when the member joined), so a file
    in another order (by name) has its cycles ruled out in one pass, where setting aside the
    rows that cannot lie on a cycle (:func:`~patronage.orders.import_cycles.unsettled`) takes
    a statement per level of the tree: for 800,000 shuffled rows 1.2 s against 5.1 s on
    PostgreSQL, 1.2 s against 3.2 s on SQLite (whose staged ``ref`` index holds the join time
    for it). A file breaking the rule is searched as before."""
    return " UNION ALL ".join(
        f"SELECT s.line FROM {_S} s JOIN {_S} f ON f.ref = s.{r}_ref AND f.dup = 0 "
        "WHERE s.joined_at IS NULL OR f.joined_at IS NULL OR f.joined_at > s.joined_at "
        "OR (f.joined_at = s.joined_at AND f.line >= s.line)" for r in _RELATIONS)


_WRITTEN = ["id", "ref", "kind", "first_name", "last_name", "email", "phone", "address_line1",
            "address_line2", "city", "region", "postal_code", "country", "timezone", "locale",
            "birth_month", "birth_day", "birth_year", "joined_at", "channel", "market_id"]


def _id(alias: str, top: int | None) -> str:
    """The member id of a staged row: staged on PostgreSQL, ``top`` plus the line on SQLite."""
    return f"{alias}.id" if top is None else f"({int(top)} + {alias}.line)"


def _place(conn: Connection, now: datetime | None, company_zone: str,
           top: int | None) -> None:
    """The imported distributors placed by the plan's rule, each as of joining."""
    staged = table(_S, sa_column("id"), sa_column("line"))
    ids = select(staged.c.id if top is None else staged.c.line + int(top))
    at = now or conn.scalar(select(func.max(Member.joined_at)).where(Member.id.in_(ids)))
    if at is not None:
        place_imported(conn, ids, at=at, actor="import", company_zone=company_zone)


def _write(conn: Connection, top: int | None, *, consents: bool, forward: bool) -> None:
    """Members (referring to each other by id), their consents unless written already, and
    the suppressions of withdrawn consents. ``forward``: some row refers to a row further
    down the file (see :func:`_later_references`)."""
    later = forward and top is not None
    picks = ", ".join(_id("s", top) if c == "id" else f"s.{c}" for c in _WRITTEN)
    joins, ids = [], []
    for r in _RELATIONS:
        joins.append(f"LEFT JOIN {_S} {r[0]}f ON {r[0]}f.ref = s.{r}_ref "
                     f"LEFT JOIN members {r[0]}m ON {r[0]}m.ref = s.{r}_ref")
        staged = _id(r[0] + "f", top)
        if later:  # a row further down: not written yet, set by _later_references
            staged = f"CASE WHEN {r[0]}f.line < s.line THEN {staged} END"
        ids.append(f"COALESCE({staged}, {r[0]}m.id)")
    conn.exec_driver_sql(
        f"INSERT INTO members ({', '.join(_WRITTEN)}, status, sponsor_id, owner_id, "
        f"referrer_id) SELECT {picks}, 'active', {', '.join(ids)} FROM {_S} s "
        f"{' '.join(joins)} ORDER BY s.line")
    if later:
        _later_references(conn, int(top))  # type: ignore[arg-type]
    if consents:
        _write_consents(conn, top, "TRUE")
    _write_suppressions(conn, sqlite=top is not None)


def _write_suppressions(conn: Connection, *, sqlite: bool) -> None:
    """The suppressions of the withdrawn consents: per channel, each address once, as of the
    earliest join date giving it, none for an address suppressed already; in the order of
    the suppressions' unique index (channel, address), each entry going at its right edge
    rather than at a scattered place.

    On SQLite the rows are sorted by address and time and written with ``OR IGNORE``, which
    keeps the first of each address (its earliest) and passes over an address suppressed
    already (the table's only constraints are that index and its columns, all given): for
    800,000 addresses 0.8 s, against 1.3 s grouping them and looking each up. On PostgreSQL
    the addresses are grouped by sorting them as bytes (``COLLATE "C"``: hexadecimal text
    sorts so in any collation, without the collation's slower comparisons): one sort where a
    hash table and a sort in the database's collation took 1.7 s for 800,000 addresses,
    against 0.9 s."""
    with sorted_groups(conn):
        for channel, column in (("email", "email_hash"), ("sms", "phone_hash")):
            if sqlite:
                conn.exec_driver_sql(
                    "INSERT OR IGNORE INTO suppressions (channel, address_hash, reason, at) "
                    f"SELECT '{channel}', s.{column}, 'withdrawn: import', s.joined_at "
                    f"FROM {_S} s WHERE s.{column} IS NOT NULL "
                    f"ORDER BY s.{column}, s.joined_at")
                continue
            key = f's.{column} COLLATE "C"'
            conn.exec_driver_sql(
                "INSERT INTO suppressions (channel, address_hash, reason, at) SELECT "
                f"'{channel}', {key}, 'withdrawn: import', MIN(s.joined_at) FROM {_S} s "
                f"WHERE s.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM suppressions x "
                f"WHERE x.channel = '{channel}' AND x.address_hash = s.{column}) "
                f"GROUP BY {key} ORDER BY {key}")


def _later_references(conn: Connection, top: int) -> None:
    """SQLite: the references to rows further down the file, set once every row is written.

    SQLite checks a foreign key row by row. A member referring to one not written yet counts
    as a pending violation of the statement, and while any is pending, each member written
    looks for rows that may refer to it in every table that refers to members (their indexes
    are dropped under the bulk rule, and some tables have none): a file ordered by name made
    each row's write a scan, and 60,000 rows took more than ten minutes. So the members are
    written with such references left empty, all in place when written, and the references
    are set afterwards by one update of the rows that have them (``UPDATE ... FROM``, SQLite
    3.33; the store needs 3.35 already, for ``RETURNING``)."""
    top = int(top)
    later = {r: f"CASE WHEN {r[0]}f.line > s.line THEN {top} + {r[0]}f.line END"
             for r in _RELATIONS}
    joins = " ".join(f"LEFT JOIN {_S} {r[0]}f ON {r[0]}f.ref = s.{r}_ref" for r in _RELATIONS)
    # One pass over the staged rows gives each row's later references; the update reads them
    # by member id.
    sets = ", ".join(f"{r}_id = COALESCE(members.{r}_id, x.{r})" for r in _RELATIONS)
    conn.exec_driver_sql(
        f"UPDATE members SET {sets} FROM (SELECT {top} + s.line AS id, "
        f"{', '.join(f'{later[r]} AS {r}' for r in _RELATIONS)} FROM {_S} s {joins} "
        f"WHERE {' OR '.join(f'{r[0]}f.line > s.line' for r in _RELATIONS)}) AS x "
        "WHERE members.id = x.id")


def _write_consents(conn: Connection, top: int | None, lines: str) -> None:
    """The consents of the staged rows that ``lines`` (an SQL condition on ``s``) keeps: one
    pass over them, each row giving its consents of the three channels."""
    given = " ".join(f"WHEN '{c}' THEN s.consent_{c}" for c in ("email", "post", "sms"))
    conn.exec_driver_sql(
        "INSERT INTO consents (member_id, channel, granted, at, method) "
        f"SELECT {_id('s', top)}, c.channel, (CASE c.channel {given} END = 1), s.joined_at, "
        f"'import' FROM {_S} s CROSS JOIN (SELECT 'email' AS channel UNION ALL SELECT 'post' "
        f"UNION ALL SELECT 'sms') c WHERE {lines} AND CASE c.channel {given} END IS NOT NULL "
        "ORDER BY s.line, c.channel")
