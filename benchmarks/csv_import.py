"""CSV import of members and orders: rows per second and peak memory, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/csv_import.py                # 200,000 rows, then 800,000
    .venv/bin/python benchmarks/csv_import.py --rows 20000 --no-bigger --sqlite-only
    .venv/bin/python benchmarks/csv_import.py --rows 20000 --no-bigger --binary --members-only
    .venv/bin/python benchmarks/csv_import.py --members-only --shuffled

Writes a members file and an orders file of ``--rows`` rows each (a fifth distributors, each
sponsored by an earlier one; customers owned by a distributor; every column filled; orders of one
to three lines; with ``--shuffled``, the members file's rows in a random order, so that about half
of the references point to a row further down), imports them into a scratch SQLite database and a
scratch PostgreSQL database (``--postgres``, default the local test server), and prints, per file
and database, the rows per second (wall clock, and per CPU second of the importing process and of
the process that reads and checks the file beside it, see ``patronage.orders.import_pipe``: on a
shared machine the wall clock mostly measures the wait for a core; PostgreSQL's own work is not in
the CPU seconds) and the peak resident memory of the importing process (each import runs in a child
process, so that its peak is its own): the peak resident set, which on SQLite also counts the
database file's pages read through its memory map, the peak anonymous memory (the heap, sampled
every 0.1 s from outside, so the importing process keeps a single thread), and the peak resident
set of its reading process. ``--one-process`` reads and checks in the importing process itself, to
compare. Then the same for files ``--factor`` times bigger (default 4): the peaks should stay where
they were. With ``--binary`` the scratch databases store the binary hybrid plan (in force from
2020), so the members import also places every distributor in the placement tree.

Each import is set against a reference taken on the same database just before it and again
just after: the file's rows, read with the ``csv`` module and written as they are (every cell
as text, no check, no reference between rows) into a table of their own with a key and an index
on the first column, in one transaction (``plain rows/s``, from the two runs' mean time;
``× plain`` is the import's rows per second over it). The machine is shared and its speed
varies from one minute to the next: the ratio says how the import compares with the plainest
write of the same rows at about the same time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
PRODUCTS = ("sku,name,retail_price,wholesale_price,qv,cv,is_enrollment_pack,product_line\n"
            "PACK,Starter pack,199.00,149.00,100,0,yes,packs\n"
            "SHAKE,Daily shake,65.00,49.00,45,40,no,nutrition\n"
            "BAR,Protein bar,3.50,2.50,2,2,no,nutrition\n"
            "TEA,Green tea,12.00,9.00,8,7,no,drinks\n")
ZONES = ("UTC", "America/New_York", "America/Chicago", "Europe/London", "Asia/Tokyo")
COUNTRIES = ("US", "CA", "GB", "MX", "JP")
#: Per country: a valid phone number (in E.164, as most exports write them), a region and a
#: postal code of its format.
CONTACTS = {
    "US": (lambda i: f"+1212{200 + (i // 10000) % 800}{i % 10000:04d}", "IL", "62701"),
    "CA": (lambda i: f"+1416{200 + (i // 10000) % 800}{i % 10000:04d}", "ON", "M5V 2T6"),
    "GB": (lambda i: f"+44207{i % 10_000_000:07d}", "LND", "SW1A 1AA"),
    "MX": (lambda i: f"+5255{i % 100_000_000:08d}", "CMX", "06600"),
    "JP": (lambda i: f"+8135{i % 10_000_000:07d}", "13", "154-0023"),
}


def write_members(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    span = int((NOW - timedelta(days=2) - start).total_seconds())
    distributors: list[int] = []
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["ref", "kind", "first_name", "last_name", "email", "phone", "sponsor_ref",
                      "owner_ref", "referrer_ref", "joined_at", "timezone", "locale",
                      "birth_month", "birth_day", "birth_year", "address_line1", "city",
                      "region", "postal_code", "country", "channel", "consent_email",
                      "consent_post", "consent_sms"])
        for i in range(n):
            joined = (start + timedelta(seconds=span * i // max(n, 1))).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
            is_distributor = i == 0 or rng.random() < 0.2
            kind = "distributor" if is_distributor else rng.choice(("retail", "preferred"))
            upline = f"M{rng.choice(distributors)}" if distributors else ""
            referrer = f"M{rng.randrange(i)}" if i and rng.random() < 0.3 else ""
            country = rng.choice(COUNTRIES)
            phone, region, postal = CONTACTS[country]
            out.writerow([
                f"M{i}", kind, f"First{i}", f"Last{i}", f"person{i}@mail{i % 97}.example.com",
                phone(i), upline if is_distributor else "",
                "" if is_distributor else upline, referrer, joined, rng.choice(ZONES), "en-US",
                rng.randint(1, 12), rng.randint(1, 28), rng.randint(1940, 2005),
                f"{i} Main Street", "Springfield", region, postal, country, "web",
                rng.choice(("yes", "no")), "yes", "no"])
            if is_distributor:
                distributors.append(i)


def shuffle_rows(path: Path, seed: int = 3) -> None:
    """The file's rows in a random order (the header first): about half of the references then
    point to a row further down, as in a file ordered by name."""
    with path.open(encoding="utf-8") as f:
        header, *rows = f.readlines()
    random.Random(seed).shuffle(rows)
    with path.open("w", encoding="utf-8") as f:
        f.writelines([header, *rows])


def write_orders(path: Path, n: int, members: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    first = NOW - timedelta(days=300)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["order_key", "buyer_ref", "placed_at", "source", "currency", "sku",
                      "quantity", "unit_price"])
        written = key = 0
        while written < n:
            buyer = f"M{rng.randrange(members)}"
            at = (first + timedelta(seconds=rng.randrange(290 * 86_400))).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
            for sku in rng.sample(("PACK", "SHAKE", "BAR", "TEA"), rng.randint(1, 3)):
                if written == n:
                    break
                price = "" if rng.random() < 0.8 else "10.00"
                out.writerow([f"K{key}", buyer, at, "one_time", "USD", sku, rng.randint(1, 4),
                              price])
                written += 1
            key += 1


def _anon_mb(pid: int | str = "self") -> float:
    """A process's anonymous resident memory now (heap, not files mapped by SQLite)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # the process has ended
        pass
    return 0.0


def _children_cpu() -> float:
    """CPU seconds of the child processes ended so far (the import's reading process)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def child(kind: str, url: str, file: Path, one_process: bool = False) -> None:
    """One import, in a process of a single thread (as ``patronage import`` runs: its memory is
    sampled from outside, by :func:`_run_child`), so it may fork its reading process."""
    from patronage.db.engine import make_engine
    from patronage.orders import import_pipe
    from patronage.orders.csv_import import import_members, import_orders

    import_pipe.ENABLED = not one_process
    engine = make_engine(url)
    began, cpu = time.perf_counter(), time.process_time() + _children_cpu()
    if kind == "members":
        report = import_members(engine, file, now=NOW)
    else:
        report = import_orders(engine, file, now=NOW)
    seconds = time.perf_counter() - began
    cpu = time.process_time() + _children_cpu() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reader_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    from sqlalchemy import text

    with engine.connect() as conn:
        placed = conn.execute(text("SELECT COUNT(*) FROM placements")).scalar_one()
    print(json.dumps({"rows": report.rows, "written": report.written, "seconds": seconds,
                      "placed": placed, "cpu": cpu, "peak_mb": peak_mb,
                      "reader_mb": reader_mb, "anon_mb": _anon_mb()}))


def _run_child(kind: str, url: str, file: Path, one_process: bool = False) -> dict[str, float]:
    """Run :func:`child` in a process of its own, sampling its anonymous memory every 0.1 s."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, __file__, "--child", kind, "--db", url,
                                 "--file", str(file)] + (["--one-process"] if one_process
                                                         else []),
                                stdout=out, stderr=err, text=True)
        peak_anon = 0.0
        while proc.poll() is None:
            peak_anon = max(peak_anon, _anon_mb(proc.pid))
            time.sleep(0.1)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{kind} import failed:\n{err.read()[-3000:]}")
        result: dict[str, float] = json.loads(out.read().strip().splitlines()[-1])
    result["anon_mb"] = max(result["anon_mb"], peak_anon)
    return result


def _fresh(dialect: str, scratch: Path, postgres: str, tag: str, binary: bool = False) -> str:
    from sqlalchemy import text

    from patronage.db.engine import make_engine
    from patronage.db.schema import upgrade
    from patronage.orders.csv_import import import_products

    if dialect == "sqlite":
        url = f"sqlite:///{scratch / f'{tag}.db'}"
    else:
        name = f"bench_import_{tag}"
        admin = make_engine(postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = postgres.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    import_products(engine, PRODUCTS)
    if binary:
        from patronage.clock import Period
        from patronage.compensation.core.plan import default_plan_path
        from patronage.compensation.plan_versions import set_plan

        hybrid = default_plan_path().with_name("binary-hybrid.toml").read_text(encoding="utf-8")
        set_plan(engine, hybrid, Period(2020, 1), source="binary-hybrid.toml", actor="bench",
                 now=NOW)
    engine.dispose()
    return url


def _drop(url: str, postgres: str) -> None:
    if url.startswith("sqlite"):
        return
    from sqlalchemy import text

    from patronage.db.engine import make_engine

    admin = make_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]}"))
    admin.dispose()


def plain(url: str, file: Path) -> float:
    """Seconds to write the file's rows as they are (see the module's text) into a new table."""
    from patronage.db.engine import make_engine

    engine = make_engine(url)
    with file.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        columns = ", ".join(f"c{i} TEXT" for i in range(len(header)))
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TABLE plain_rows (id INTEGER PRIMARY KEY, {columns})")
            conn.exec_driver_sql("CREATE INDEX ix_plain_rows ON plain_rows (c0)")
        began = time.perf_counter()
        with engine.begin() as conn:
            raw: Any = conn.connection.driver_connection
            if engine.dialect.name == "sqlite":
                marks = ", ".join("?" * (len(header) + 1))
                batch: list[list[str]] = []
                for number, row in enumerate(reader):
                    batch.append([str(number), *row])
                    if len(batch) == 5000:
                        raw.executemany(f"INSERT INTO plain_rows VALUES ({marks})", batch)
                        batch.clear()
                raw.executemany(f"INSERT INTO plain_rows VALUES ({marks})", batch)
            else:
                with raw.cursor().copy("COPY plain_rows FROM STDIN") as copy:
                    for number, row in enumerate(reader):
                        copy.write_row([number, *row])
        seconds = time.perf_counter() - began
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE plain_rows")
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--no-bigger", action="store_true", help="skip the bigger files")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--binary", action="store_true",
                        help="store the binary hybrid plan: the import places distributors")
    parser.add_argument("--members-only", action="store_true", help="skip the orders file")
    parser.add_argument("--shuffled", action="store_true",
                        help="the members file's rows in a random order (references pointing "
                             "down the file as well as up)")
    parser.add_argument("--one-process", action="store_true",
                        help="read and check the file in the importing process itself")
    parser.add_argument("--child", choices=("members", "orders"))
    parser.add_argument("--db")
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db, args.file, args.one_process)
        return
    sizes = [args.rows] + ([] if args.no_bigger else [args.rows * args.factor])
    dialects = (([] if args.postgres_only else ["sqlite"])
                + ([] if args.sqlite_only else ["postgresql"]))
    with tempfile.TemporaryDirectory(prefix="patronage-bench-") as tmp:
        scratch = Path(tmp)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'rows':>9} {'file':>8} {'MB':>6} {'database':>10} {'seconds':>8} "
              f"{'rows/s':>8} {'cpu s':>6} {'rows/cpu-s':>10} {'peak RSS MB':>12} "
              f"{'peak anon MB':>12} {'reader MB':>9} {'placed':>7} {'plain rows/s':>12} "
              f"{'× plain':>7}")
        for n in sizes:
            members, orders = scratch / f"members_{n}.csv", scratch / f"orders_{n}.csv"
            write_members(members, n)
            if args.shuffled:
                shuffle_rows(members)
            write_orders(orders, n, n)
            for dialect in dialects:
                url = _fresh(dialect, scratch, args.postgres, f"{dialect}_{n}", args.binary)
                try:
                    files = [("members", members)] + ([] if args.members_only
                                                      else [("orders", orders)])
                    for kind, file in files:
                        before = plain(url, file)
                        got = _run_child(kind, url, file, args.one_process)
                        reference = (before + plain(url, file)) / 2
                        size = file.stat().st_size / 1e6
                        print(f"{n:>9} {kind:>8} {size:>6.0f} {dialect:>10} "
                              f"{got['seconds']:>8.1f} {got['rows'] / got['seconds']:>8.0f} "
                              f"{got['cpu']:>6.1f} {got['rows'] / got['cpu']:>10.0f} "
                              f"{got['peak_mb']:>12.0f} {got['anon_mb']:>12.0f} "
                              f"{got['reader_mb']:>9.0f} {got['placed']:>7} "
                              f"{n / reference:>12.0f} "
                              f"{reference / got['seconds'] * got['rows'] / n:>7.2f}",
                              flush=True)
                finally:
                    _drop(url, args.postgres)
            members.unlink()
            orders.unlink()


if __name__ == "__main__":
    main()
