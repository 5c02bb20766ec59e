"""Charts print their numbers, the heatmap's shades keep dark text readable, and the style
sheet's colours meet WCAG 2.2 AA contrast (the current menu item was 3.87:1)."""

from __future__ import annotations

import re
from pathlib import Path

from patronage.web.charts import bars, heat, line
from patronage.web.views.staff import phone_keys

CSS = (Path(__file__).resolve().parents[2] / "src" / "patronage" / "web" / "static"
       / "style.css").read_text(encoding="utf-8")
INK, GREEN, MUTED, WARN = "#1d2320", "#2f6f4f", "#66706b", "#a4441f"


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_palette_meets_aa() -> None:
    assert f"--green: {GREEN}" in CSS and f"--ink: {INK}" in CSS and f"--muted: {MUTED}" in CSS
    assert contrast("#ffffff", GREEN) >= 4.5  # buttons, the header, the current menu item
    assert contrast("#ffffff", WARN) >= 4.5
    assert contrast("#f6f7f5", MUTED) >= 4.5  # muted text on the page background
    assert re.search(r"\.top nav a\[aria-current\] \{ background: #fff; color: var\(--green\)",
                     CSS)
    assert ":focus-visible { outline: 3px solid" in CSS


def test_heatmap_shades_keep_dark_text_readable() -> None:
    for share in (0.0, 0.25, 0.5, 0.75, 1.0, 1.7):
        assert contrast(heat(share), INK) >= 7.0
    assert heat(0.0) == "#ffffff" and heat(1.0) != heat(0.5)


def test_line_prints_every_value_and_label() -> None:
    svg = str(line([("2026-11", 123456.0), ("2026-12", 100000.0)], label="Forecast"))
    assert 'role="img"' in svg and 'aria-label="Forecast"' in svg
    assert ">1,235<" in svg and ">1,000<" in svg and ">2026-11<" in svg
    assert str(line([], label="x")) == ""


def test_bars_print_values_when_asked() -> None:
    printed = str(bars([("USD", [12000, 0, 33000])], ["a", "b", "c"], printed=True))
    assert ">120<" in printed and ">330<" in printed
    assert ">330<" not in str(bars([("USD", [12000, 0, 33000])], ["a", "b", "c"]))


def test_phone_keys() -> None:
    assert phone_keys("(312) 555-0123", "US")[:2] == ["+13125550123", "3125550123"]
    assert phone_keys("020 7946 0958", "GB")[0] == "+442079460958"
    assert phone_keys("ann@example.com", "US") == []


def test_intervals_draws_each_row_with_its_estimate_and_a_zero_line() -> None:
    from patronage.care.core.lift import Interval
    from patronage.web.charts import intervals

    svg = str(intervals([("All", Interval(0.05, 0.02, 0.08)),
                         ("birthday_email", Interval(-0.01, -0.04, 0.02))], label="Lift"))
    assert svg.count("<circle") == 2 and 'aria-label="Lift"' in svg
    assert "All: +5.0 pts [+2.0, +8.0]" in svg and ">0</text>" in svg
    assert str(intervals([], label="Lift")) == ""
