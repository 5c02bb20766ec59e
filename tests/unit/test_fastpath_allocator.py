"""Freed memory kept for reuse during a batch job; the allocator left alone off the main thread
or beside other threads."""

from __future__ import annotations

import threading
from contextlib import ExitStack

import pytest

from patronage.fastpath import allocator as memory


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("trim", pad, 0))
        return 1


SET = [("mallopt", memory.M_MMAP_MAX, 0), ("mallopt", memory.M_TRIM_THRESHOLD, memory.KEEP_FREE)]
RESTORED = [("mallopt", memory.M_MMAP_MAX, memory.DEFAULT_MMAP_MAX),
            ("mallopt", memory.M_TRIM_THRESHOLD, memory.DEFAULT_TRIM_THRESHOLD),
            ("trim", 0, 0)]


def _recording(monkeypatch: pytest.MonkeyPatch, alone: bool = True) -> _Recorder:
    libc = _Recorder()
    monkeypatch.setattr(memory, "_LIBC", libc)
    if alone:  # as in a batch command (a test runner may have helper threads of its own)
        monkeypatch.setattr(memory, "single_threaded", lambda: True)
    return libc


def test_overlapping_runs_set_the_policy_once_and_the_last_one_out_resets_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    libc = _recording(monkeypatch)
    first, second = ExitStack(), ExitStack()
    first.enter_context(memory.reused_memory())
    second.enter_context(memory.reused_memory())
    assert libc.calls == SET
    first.close()  # the first run ends while the second goes on
    assert libc.calls == SET
    second.close()
    assert libc.calls == SET + RESTORED
    with memory.reused_memory():
        pass
    assert libc.calls == (SET + RESTORED) * 2


def test_a_thread_other_than_the_main_one_never_changes_the_allocator(
        monkeypatch: pytest.MonkeyPatch) -> None:
    libc = _recording(monkeypatch, alone=False)
    done: list[bool] = []

    def job() -> None:
        with memory.reused_memory():
            done.append(True)

    worker = threading.Thread(target=job)
    worker.start()
    worker.join()
    assert done == [True]
    assert libc.calls == []


def test_beside_another_thread_the_main_thread_leaves_the_allocator_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    libc = _recording(monkeypatch, alone=False)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not memory.single_threaded()
        with memory.reused_memory():
            pass
    finally:
        stop.set()
        other.join()
    assert libc.calls == []


def test_a_thread_still_running_at_the_end_keeps_the_settings_unchanged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    libc = _recording(monkeypatch)
    with memory.reused_memory():
        monkeypatch.setattr(memory, "single_threaded", lambda: False)
    assert libc.calls == SET


_LARGE_ARRAY = """
import ctypes, sys
import numpy as np
from patronage.fastpath import allocator as memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

def mapped() -> int:
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    return int(libc.mallinfo2().hblkhd)

size = 50_000_000  # 400 MB: far above any mapping threshold
before = mapped()
with memory.reused_memory():
    inside = np.ones(size, dtype=np.int64)
    grew_inside = mapped() - before
    total = int(inside.sum())
    del inside
outside = np.ones(size, dtype=np.int64)
grew_outside = mapped() - before
print(grew_inside, grew_outside, total, int(outside.sum()))
"""


@pytest.mark.skipif(not memory.available(), reason="the policy applies to glibc only")
def test_inside_a_large_array_comes_from_the_heap_and_outside_from_its_own_mapping() -> None:
    # In a fresh process: the test runner's own threads (a mail server, a worker) would rightly
    # make the policy stand aside.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _LARGE_ARRAY], capture_output=True, text=True,
                          check=True, timeout=120)
    grew_inside, grew_outside, total, again = map(int, done.stdout.split())
    size = 50_000_000
    assert grew_inside < size * 8 // 2
    assert grew_outside >= size * 8
    assert total == again == size
