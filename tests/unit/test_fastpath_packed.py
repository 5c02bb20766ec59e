"""Packed reads: codes told apart by their first letter, refused when they cannot be; fields
packed by SQL arithmetic come back by shifts."""

from __future__ import annotations

import numpy as np
import pytest

from patronage.facts import KIND_CODES, SOURCE_CODES, STATUS_CODES
from patronage.fastpath.packed import Word, fits, letter_codes, select, unpack, width


def test_the_stored_codes_map_back_from_their_first_letters() -> None:
    for codes in (KIND_CODES, STATUS_CODES, SOURCE_CODES):
        table = letter_codes(codes)
        assert {v: int(table[ord(v[0])]) for v in codes} == codes
        assert int((table >= 0).sum()) == len(codes)


def test_two_codes_with_one_first_letter_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'paid' and 'pending' start with the same letter 'p'"):
        letter_codes({"paid": 0, "pending": 1})


def test_a_code_not_starting_with_an_ascii_letter_is_refused() -> None:
    with pytest.raises(ValueError, match=r"packed code 'été'.*ASCII"):
        letter_codes({"été": 0})
    with pytest.raises(ValueError, match=r"packed code ''"):
        letter_codes({"": 0})


def test_refused_under_python_optimisation_too() -> None:
    # The guard is a raised error, not an assert that ``python -O`` strips.
    import subprocess
    import sys
    out = subprocess.run(
        [sys.executable, "-O", "-c",
         "from patronage.fastpath.packed import letter_codes\n"
         "try:\n    letter_codes({'ab': 0, 'ac': 1})\nexcept ValueError:\n    print('refused')"],
        capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "refused"


def test_fields_packed_high_to_low_come_back_with_the_top_field_signed() -> None:
    words = [Word((("a", 0), ("b", 31), ("c", 7)))]
    assert select(words, packed=True) == "(a) * 274877906944 + (b) * 128 + (c)"
    assert select(words, packed=False) == "a, b, c"
    assert width(words, True) == 1 and width(words, False) == 3
    a = np.array([-5, 0, 30_000_000], dtype=np.int64)
    b = np.array([0, 2**31 - 2, 12345], dtype=np.int64)
    c = np.array([127, 0, ord("d")], dtype=np.int64)
    value = a * 2**38 + b * 2**7 + c
    got = unpack(value.reshape(-1, 1), words, packed=True)
    assert [g.tolist() for g in got] == [a.tolist(), b.tolist(), c.tolist()]


def test_ids_fit_below_two_to_the_thirty_one_minus_one() -> None:
    assert fits((0, 2**31 - 2))
    assert not fits((2**31 - 1,))
