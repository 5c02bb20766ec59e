"""Freed memory kept for reuse during a run, and the process's settings restored after."""

from __future__ import annotations

import ctypes
from contextlib import ExitStack

import numpy as np
import pytest

from patronage import memory


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


def test_overlapping_runs_set_the_policy_once_and_the_last_one_out_restores_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    libc = _Recorder()
    monkeypatch.setattr(memory, "_LIBC", libc)
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


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mapped_bytes() -> int:
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    return int(libc.mallinfo2().hblkhd)


@pytest.mark.skipif(not memory.available(), reason="the policy applies to glibc only")
def test_inside_a_large_array_comes_from_the_heap_and_outside_from_its_own_mapping() -> None:
    size = 50_000_000  # 400 MB: far above any mapping threshold
    before = _mapped_bytes()
    with memory.reused_memory():
        inside = np.ones(size, dtype=np.int64)
        assert _mapped_bytes() - before < size * 8 // 2
        total = int(inside.sum())
        del inside
    outside = np.ones(size, dtype=np.int64)
    assert _mapped_bytes() - before >= size * 8
    assert total == int(outside.sum()) == size
