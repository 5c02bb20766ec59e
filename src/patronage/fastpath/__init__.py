"""The fast path: the few low-level tricks that make large reads, writes and runs fast, kept
behind one door so the rest of the code reads as ordinary SQLAlchemy and numpy.

Turned off, every trick gives the same rows and arrays, only slower: the product's results do
not depend on any of them. :data:`REGISTER` lists each with where it is used, the gain measured
by ``benchmarks/fastpath.py`` (each trick on and off, alternately, best of several runs) and what
it costs; ``docs/fastpath.md`` gives the same with the commands and conditions.
"""

from __future__ import annotations

from typing import NamedTuple


class Trick(NamedTuple):
    name: str
    module: str
    used_by: str
    gain: str
    cost: str


#: Measured 2026-12-06 on the shared 2-core machine (load average 7–12 from other work), with
#: ``benchmarks/fastpath.py --members 200000 --engine-members 1000000 --rows 500000``.
REGISTER: tuple[Trick, ...] = (
    Trick("binary COPY in", "patronage.fastpath.copy_binary",
          "db.bulk.write_rows on PostgreSQL (generators, autoship run, commission close)",
          "500,000 rows of 4 columns: 1.43–3.50x faster than COPY text",
          "a second encoder beside the text one, tied to PostgreSQL's binary formats; falls "
          "back to text for a type or value it does not encode"),
    Trick("all-integer reads", "patronage.fastpath.reads",
          "integer_matrix: loaders, autoship run, care tick, customer value, commission close",
          "not timed off (it is the only reader of these queries)",
          "queries return integers only: codes, times and NULLs mapped in SQL; a stray NULL is "
          "refused, never misread"),
    Trick("packed reads", "patronage.fastpath.packed",
          "db.loaders: genealogy and order lines of a period",
          "load_period_facts at 200,000 members: 1.07–2.22x on SQLite, 0.54–1.13x on "
          "PostgreSQL (no clear gain there under load)",
          "SQL arithmetic per field; ids below 2**31 - 1 (else read unpacked); codes must "
          "differ in their first ASCII letter (refused otherwise)"),
    Trick("forked reader", "patronage.fastpath.forked",
          "load_period_facts on a SQLite file of PARALLEL_FROM (200,000) members or more",
          "at 200,000 members 0.36–0.65x (a loss) with both cores busy with other work; it "
          "pays only when a second core is free",
          "a second process (Linux fork), only from a single-threaded process; its reads see "
          "the database at their own moment"),
    Trick("allocator tuning", "patronage.fastpath.allocator",
          "patronage commissions commands only (an import-linter contract keeps it out of the "
          "server and services)",
          "run_engine at 1,000,000 members: 2.11–2.90x faster inside reused_memory()",
          "glibc only; mallopt is MT-unsafe, so it is applied only from a single-threaded "
          "main thread; its effect outlasts the command (glibc's dynamic mmap threshold stays "
          "off)"),
    Trick("relaxed cycle collector", "patronage.fastpath.collector",
          "CSV imports of members and orders, while rows are read, checked and staged",
          "reading and checking 50,000 members: 1.09–1.19 s down to 0.76–0.82 s of CPU",
          "the collector's threshold is the interpreter's: every thread of the process sees "
          "the young generation collected every 50,000 allocations (not 700) while an import "
          "runs; counted, so overlapping imports restore it once"),
)
