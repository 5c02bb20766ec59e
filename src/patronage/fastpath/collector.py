"""A less eager cycle collector while an import reads and checks its rows.

Python's cycle collector looks through the young container objects every 700 allocations. An
import makes millions of short-lived containers (a list per CSV row, a tuple per checked row),
all freed by reference counting as soon as their chunk is written; the collector finds nothing
among them yet costs a fifth to a third of the CPU of reading and checking a file. Inside
:func:`relaxed_collector` the youngest generation is collected every :data:`RELAXED_THRESHOLD`
allocations instead: the collector still runs (memory stays bounded, cycles made meanwhile are
still freed), only less often.

The threshold is the interpreter's, shared by every thread: the setting is counted, so that
overlapping sections (two imports, one thread each) restore the threshold found by the first
only when the last ends. Turned off (:data:`ENABLED` false), nothing changes but the time.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The youngest generation's threshold inside :func:`relaxed_collector` (Python's: 700).
RELAXED_THRESHOLD = 50_000
#: Whether :func:`relaxed_collector` changes anything (benchmarks turn it off to compare).
ENABLED = True

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def relaxed_collector() -> Iterator[None]:
    """Collect the youngest generation less often while the section runs (see the module)."""
    global _depth, _saved
    with _lock:
        if _depth == 0 and ENABLED:
            _saved = gc.get_threshold()
            if _saved[0] < RELAXED_THRESHOLD:
                gc.set_threshold(RELAXED_THRESHOLD, _saved[1], _saved[2])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
