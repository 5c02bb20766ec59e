"""Freed memory kept for reuse while a batch command runs a large vectorised job (glibc only).

A run over millions of members makes hundreds of arrays of tens of megabytes. glibc's malloc
maps each such array afresh and unmaps it when freed, so every new array pays a page fault per
4 KiB page. Inside :func:`reused_memory`, large blocks come from the heap instead and freed ones
stay there for the next array (``M_MMAP_MAX`` 0, a high ``M_TRIM_THRESHOLD``); see
:mod:`patronage.fastpath` for the measured gain.

What the way out does, and does not do: the two parameters are set to the values glibc
documents as its starting defaults (``M_MMAP_MAX`` 65536, ``M_TRIM_THRESHOLD`` 128 KiB) and the
free memory is returned to the system (``malloc_trim``). That is *not* the state before: glibc
has no call that reads the parameters back, any value set through ``MALLOC_*_`` environment
variables is replaced, and setting either parameter turns off glibc's dynamic mmap threshold
for the rest of the process (mallopt(3)). The process is changed for good; so only batch
commands that end after their job use this (``patronage commissions …``), never a server.

``mallopt`` is MT-unsafe (glibc's manual): it changes settings other threads' ``malloc`` reads
without a lock. The settings are therefore changed only from the main thread while it is the
process's only thread; anywhere else (a server's request threads, a test runner with helper
threads) :func:`reused_memory` leaves the allocator alone and the job runs with glibc's own
behaviour, only slower. Elsewhere than glibc on Linux it does nothing. Nested uses share the
settings: the first in sets them, the last out resets them.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
#: The values glibc documents as its starting defaults, set on the way out.
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


def single_threaded() -> bool:
    """Whether the caller is the main thread and no other thread runs: the only time the
    allocator's settings may be changed."""
    return (threading.current_thread() is threading.main_thread()
            and threading.active_count() == 1)


@contextmanager
def reused_memory() -> Iterator[None]:
    """Large blocks from the heap, and freed ones kept, until the last caller leaves; nothing
    changes unless the caller is a single-threaded process's main thread (a batch command).
    Should the job leave a thread running, the settings stay as they are (changing them then
    would be the unsafe call this avoids)."""
    global _inside
    libc = _LIBC
    if libc is None or (_inside == 0 and not single_threaded()):
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
            if _inside == 0 and single_threaded():
                libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                libc.malloc_trim(0)
