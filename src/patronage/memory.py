"""Freed memory kept for reuse while a large vectorised run is in progress (glibc only).

A run over millions of members makes hundreds of arrays of tens of megabytes. glibc's malloc
maps each such array afresh and unmaps it when freed, so every new array pays a page fault per
4 KiB page (on the 2-core benchmark machine, when this was introduced, the 10M-member engine
run took 10.4 s with only its own arrays reused and 9.1–9.3 s with the facts' memory reused
too). Inside :func:`reused_memory`, large blocks come from the heap instead and freed ones stay
there for the next array (``M_MMAP_MAX`` 0, a high ``M_TRIM_THRESHOLD``); on the way out the
defaults come back and the free memory is returned to the system (``malloc_trim``). Elsewhere
than glibc on Linux it does nothing. The settings are the process's: nested or concurrent runs
share them, the last one out restores them.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
#: glibc's documented defaults, restored on the way out.
DEFAULT_TRIM_THRESHOLD, DEFAULT_MMAP_MAX = 128 * 1024, 65536
#: The largest threshold ``mallopt`` takes (a C int): free memory above the heap's last block
#: is kept up to this much.
KEEP_FREE = 2**31 - 1

_lock = threading.Lock()
_inside = 0


def _glibc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    needed = ("mallopt", "malloc_trim", "gnu_get_libc_version")
    return libc if all(hasattr(libc, name) for name in needed) else None


_LIBC = _glibc()


def available() -> bool:
    """Whether this process's C library is glibc, where the settings apply."""
    return _LIBC is not None


@contextmanager
def reused_memory() -> Iterator[None]:
    """Large blocks from the heap, and freed ones kept, until the last caller leaves."""
    global _inside
    libc = _LIBC
    if libc is None:
        yield
        return
    with _lock:
        if _inside == 0:
            libc.mallopt(M_MMAP_MAX, 0)
            libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREE)
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                libc.malloc_trim(0)
