"""The binary COPY encoder: exact bytes for a small block, and the cases it leaves to text."""

from __future__ import annotations

import struct

import numpy as np

from patronage.fastpath.copy_binary import HEADER, TRAILER, encode

TYPES = {"id": 23, "big": 20, "flag": 16, "name": 1043, "at": 1184, "small": 21}


def test_a_block_is_header_rows_and_trailer_in_postgresql_binary_form() -> None:
    block = encode({"id": np.array([1, 2]), "name": ["ab", None], "flag": np.array([True, False]),
                    "at": np.array([946_684_801, 0]), "big": [None, -5]},
                   TYPES, ["at"], 0, 2)
    row1 = (struct.pack(">h", 5) + struct.pack(">ii", 4, 1) + struct.pack(">i", 2) + b"ab"
            + struct.pack(">ib", 1, 1) + struct.pack(">iq", 8, 1_000_000)
            + struct.pack(">i", -1))
    row2 = (struct.pack(">h", 5) + struct.pack(">ii", 4, 2) + struct.pack(">i", -1)
            + struct.pack(">ib", 1, 0) + struct.pack(">iq", 8, -946_684_800 * 1_000_000)
            + struct.pack(">iq", 8, -5))
    assert block == HEADER + row1 + row2 + TRAILER


def test_repeated_names_are_encoded_per_row_from_their_distinct_values() -> None:
    names = np.array(["unilevel", "fast_start", "unilevel", "ü"])
    block = encode({"name": names, "small": np.arange(4)}, TYPES, [], 1, 4)
    assert block is not None
    body = block[len(HEADER):-len(TRAILER)]
    rows, at = [], 0
    while at < len(body):
        at += 2
        (size,) = struct.unpack_from(">i", body, at)
        rows.append(body[at + 4:at + 4 + size].decode())
        at += 4 + size + 4 + 2
    assert rows == ["fast_start", "unilevel", "ü"]


def test_values_the_encoder_does_not_handle_are_left_to_the_text_format() -> None:
    assert encode({"id": np.array([1.5])}, TYPES, [], 0, 1) is None  # floats
    assert encode({"at": np.array([1])}, TYPES, [], 0, 1) is None  # a time not given as seconds
    assert encode({"name": [3]}, TYPES, [], 0, 1) is None  # a number for a text column
    assert encode({"other": np.array([1])}, TYPES, [], 0, 1) is None  # an unknown column type


def test_rows_of_fixed_width_fields_come_out_as_the_general_layout_would() -> None:
    block = encode({"id": np.array([7, 8]), "small": np.array([-1, 2]),
                    "flag": np.array([False, True])}, TYPES, [], 0, 2)
    rows = b"".join(struct.pack(">hiiihib", 3, 4, i, 2, s, 1, f)
                    for i, s, f in ((7, -1, 0), (8, 2, 1)))
    assert block == HEADER + rows + TRAILER


def test_dates_and_datetime64_times_are_days_and_microseconds_since_2000_null_at_nat() -> None:
    types = {"day": 1082, "at": 1184}
    block = encode({"day": np.array(["2000-01-02", "NaT"], "datetime64[D]"),
                    "at": np.array(["2000-01-01T00:00:01.5", "1999-12-31"], "datetime64[ms]")},
                   types, [], 0, 2)
    row1 = struct.pack(">h", 2) + struct.pack(">ii", 4, 1) + struct.pack(">iq", 8, 1_500_000)
    row2 = (struct.pack(">h", 2) + struct.pack(">i", -1)
            + struct.pack(">iq", 8, -86_400 * 1_000_000))
    assert block == HEADER + row1 + row2 + TRAILER
    assert encode({"day": ["2000-01-02"]}, types, [], 0, 1) is None  # text: left to COPY text
