"""Reading and checking an import's file in a second process while the database writes.

An import reads its file a chunk of rows at a time, checks each row on its own and hands the
chunk to the database (its staging table). Reading and checking are Python's work, writing is
the database's: done one after the other, one core waits while the other works. For a file of
at least :data:`PARALLEL_BYTES`, :func:`checked_chunks` forks a child process that reads and
checks the chunks and sends each, ready to stage (and the problems found in it), through a
pipe, while the importing process stages the one before: the wall clock is about the longer of
the two instead of their sum. As for :mod:`the second reader of a close
<patronage.fastpath.forked>`, a child is forked only from a process of a single thread (a
command, a script: ``patronage import``); a server's import jobs run in a thread beside others,
whose locks a forked copy could inherit, and read in their own process.

With ``share`` (a members import on SQLite), the checking is shared: the child checks every
other chunk and sends the one between as it was read, for the importing process to check
itself. Reading takes the child about as long as staging takes the importing process, and the
checks are the rest of the work: each process then has about half of it. (On PostgreSQL the
importing process also waits for the server's writes while the file is read, so it keeps no
checks of its own there.) The problems still come in the file's order: those found in reading
a chunk, then those found in checking it.

Memory stays bounded: the pipe holds no chunk of its own (the child waits until the previous
one is taken), so at most three chunks exist at once — one being staged, one being sent, one
being read. The child touches no database connection (it only reads the file and runs the
checks that need no other record); the problems it finds are passed on in the file's order,
and the importing process keeps the same first :data:`~patronage.orders.csv_rows.MAX_PROBLEMS`
as a reading in one process would. Where a child may not be forked, for a smaller file, a text
given in memory, or with :data:`ENABLED` false, the chunks are read and checked in the
importing process itself, with the same results. See docs/decisions/import-reader-process.md.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any, TypeVar

from patronage.fastpath.forked import can_fork
from patronage.orders.csv_rows import CHUNK_ROWS, Findings, Row, read_rows

#: A file at least this large is read and checked in a child process (a smaller one reads in
#: well under a second, less than starting the child is worth).
PARALLEL_BYTES = 2 * 1024 * 1024
#: Whether big files are read in a child process at all (benchmarks turn it off to compare).
ENABLED = True

T = TypeVar("T")


def _parallel(source: Path | str) -> bool:
    return (ENABLED and isinstance(source, Path) and can_fork()
            and source.stat().st_size >= PARALLEL_BYTES)


def checked_chunks(source: Path | str, columns: list[str], required: Iterable[str],
                   limits: Mapping[str, int], found: Findings,
                   check: Callable[[list[Row]], T],
                   chunk: int = CHUNK_ROWS, share: bool = False) -> Iterator[tuple[int, T]]:
    """Each chunk of the file's rows (see :func:`~patronage.orders.csv_rows.read_rows`) as its
    number of rows and ``check(rows)``; problems are recorded in ``found`` (``check`` records
    its own there too: in a child process, in the child's copy, passed on with the chunk).
    ``share``: a child checks every other chunk only, this process the others."""
    if not _parallel(source):
        for rows in read_rows(source, columns, required, limits, found, chunk):
            yield len(rows), check(rows)
        return
    receiver, sender = multiprocessing.get_context("fork").Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(
        target=_child, args=(sender, source, columns, required, limits, found, check, chunk,
                             share),
        daemon=True, name="patronage-import-reader")
    child.start()
    sender.close()
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                raise RuntimeError("the import's reading process ended unexpectedly") from None
            kind = message[0]
            if kind == "error":
                raise RuntimeError(f"the import's reading process failed:\n{message[1]}")
            _, count, payload, problems, more = message
            for place, reason in problems:
                found.add(place, reason)
            found.more += more
            if kind == "end":
                break
            yield count, check(payload) if kind == "rows" else payload
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _child(sender: Pipe, source: Path, columns: list[str], required: Iterable[str],
           limits: Mapping[str, int], found: Findings, check: Callable[[list[Row]], Any],
           chunk: int, share: bool) -> None:
    """The child's work: read, check, send each chunk with the problems found since the last."""
    sent, sent_more = len(found.listed), found.more

    def news() -> tuple[list[tuple[str, str]], int]:
        nonlocal sent, sent_more
        problems = [(p.place, p.reason) for p in found.listed[sent:]]
        more = found.more - sent_more
        sent, sent_more = len(found.listed), found.more
        return problems, more

    try:
        for number, rows in enumerate(read_rows(source, columns, required, limits, found,
                                                chunk)):
            if share and number % 2:  # the importing process checks this one
                problems, more = news()
                sender.send(("rows", len(rows), rows, problems, more))
                continue
            payload = check(rows)
            problems, more = news()
            sender.send(("chunk", len(rows), payload, problems, more))
        problems, more = news()
        sender.send(("end", 0, None, problems, more))
    except BrokenPipeError:
        pass  # the importing process stopped reading (it failed or was interrupted)
    except BaseException:
        with contextlib.suppress(OSError):
            sender.send(("error", traceback.format_exc()))
    finally:
        sender.close()
        # Leave without the parent's exit handlers (its database pools, its temporary files).
        os._exit(0)
