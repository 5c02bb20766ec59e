"""The fast path: the few low-level tricks that make large reads, writes and runs fast, kept
behind one door so the rest of the code reads as ordinary SQLAlchemy and numpy.

Each trick is optional in the sense that the product's results do not depend on it: turned off,
the same rows and arrays come back, only slower. ``benchmarks/fastpath.py`` times each one on
and off; the register below (and ``docs/fastpath.md``) gives what was measured and what the
trick costs.

=====================  ==============================  ===============================  =========================================
Trick                  Module, used by                 Measured gain                    Cost
=====================  ==============================  ===============================  =========================================
Binary COPY in         :mod:`.copy_binary`;            see ``docs/fastpath.md``         A second encoder beside the text one, tied
                       ``db.bulk.write_rows`` on                                        to PostgreSQL's binary formats (integer
                       PostgreSQL                                                       widths, epoch 2000-01-01); falls back to
                                                                                        text for any type or value it lacks.
All-integer reads      :mod:`.reads`;                  see ``docs/fastpath.md``         Queries must return integers only (codes,
(binary COPY out)      ``integer_matrix`` everywhere                                    times and NULLs mapped in SQL); a stray
                                                                                        NULL is refused, not read.
Packed reads           :mod:`.packed`;                 see ``docs/fastpath.md``         SQL arithmetic per field; ids must be
                       ``db.loaders`` (genealogy,                                       below 2**31 - 1 (else read unpacked);
                       order lines)                                                     codes must differ in their first ASCII
                                                                                        letter (refused otherwise).
Forked reader          :mod:`.forked`;                 see ``docs/fastpath.md``         A second process (Linux, fork); only from
                       ``load_period_facts`` on a                                       a single-threaded process; the two reads
                       SQLite file of 200,000+                                          see the database each at its moment.
                       members
Allocator tuning       :mod:`.allocator`;              see ``docs/fastpath.md``         glibc only; ``mallopt`` is MT-unsafe and
                       ``patronage commissions``                                        its effect outlasts the command (dynamic
                       commands only                                                    mmap threshold off for good), so batch
                                                                                        commands only (import-linter contract).
=====================  ==============================  ===============================  =========================================
"""
