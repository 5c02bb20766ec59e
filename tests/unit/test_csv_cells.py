"""Cells a spreadsheet would run as formulas are written quoted, and read back unquoted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from patronage.csv_cells import safe_cell, unquote_cell


def test_formula_led_text_is_quoted() -> None:
    for text in ("=1+1", "+1 555 0100", "-2+3", "@SUM(A1)", "\tx", "\rx",
                 '=HYPERLINK("http://evil.example","click")'):
        assert safe_cell(text) == "'" + text


def test_plain_text_numbers_and_non_text_are_left_alone() -> None:
    for value in ("Ann", "", "'quoted already", "-3.50", "42", 7, None, 1.5):
        assert safe_cell(value) == value


@given(st.text())
def test_every_text_reads_back_as_written(text: str) -> None:
    written = safe_cell(text)
    assert not (isinstance(written, str) and written[:1] in ("=", "+", "@", "\t", "\r"))
    if written != text or not text.startswith("'"):
        assert unquote_cell(written) == text
