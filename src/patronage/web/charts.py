"""Charts as inline SVG, drawn on the server: a radar for the seven values, bars for volumes.

Pure functions returning markup (escaped), so pages need no JavaScript chart library.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from markupsafe import Markup

PALETTE = ("#2f6f4f", "#c9822b", "#4a6fa5", "#9b4d7a")


def radar(scores: dict[str, float], *, size: int = 240, label: str = "Seven values",
          labels: bool = True) -> Markup:
    """A radar of 0–100 scores, one spoke per value, with rings at 25, 50, 75 and 100; each
    spoke named with its score unless ``labels`` is false (a thumbnail)."""
    names = list(scores)
    n = len(names)
    if n < 3:
        return Markup("")
    c, r = size / 2, size / 2 - (30 if labels else 3)
    pad = 64 if labels else 0
    def point(i: int, value: float) -> tuple[float, float]:
        a = -math.pi / 2 + 2 * math.pi * i / n
        return c + r * value / 100 * math.cos(a), c + r * value / 100 * math.sin(a)

    parts = [f'<svg class="chart radar" viewBox="{-pad} 0 {size + 2 * pad} {size}" '
             f'role="img" aria-label="{escape(label)}">']
    for ring in (25, 50, 75, 100):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, ring) for i in range(n)))
        parts.append(f'<polygon points="{pts}" fill="none" stroke="#ddd"/>')
    for i, name in enumerate(names):
        x, y = point(i, 100)
        lx, ly = point(i, 112)
        anchor = "middle" if abs(lx - c) < 8 else ("start" if lx > c else "end")
        parts.append(f'<line x1="{c}" y1="{c}" x2="{x:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        if labels:
            parts.append(f'<text x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="{anchor}" '
                         f'font-size="11">{escape(name)} {round(scores[name])}</text>')
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in
                   (point(i, max(0.0, min(100.0, float(scores[nm])))) for i, nm in
                    enumerate(names)))
    parts.append(f'<polygon points="{pts}" fill="{PALETTE[0]}" fill-opacity="0.35" '
                 f'stroke="{PALETTE[0]}" stroke-width="2"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(series: list[tuple[str, list[int]]], labels: list[str], *, height: int = 160,
         label: str = "Volume", width: int = 480, printed: bool = False,
         show_values: bool = False) -> Markup:
    """Grouped vertical bars: ``series`` is (name, one value per label); a legend underneath.
    With ``show_values`` (or ``printed``), each bar's value (hundredths, shown whole) is printed
    on it, readable on a phone without hovering, and the baseline is drawn. The pages print the
    numbers in a table next to the chart as its text equivalent."""
    if not labels or not series:
        return Markup("")
    top = max([v for _, values in series for v in values] + [1])
    if printed:
        top = round(top * 1.15)  # room for the tallest bar's value above it
    groups = len(labels)
    slot = width / groups
    bar_w = max(2.0, slot * 0.8 / len(series))
    chart_h = height - 34
    parts = [f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(label)}">']
    for g, name in enumerate(labels):
        for s, (_, values) in enumerate(series):
            v = values[g] if g < len(values) else 0
            h = chart_h * max(v, 0) / top
            x = g * slot + slot * 0.1 + s * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{chart_h - h:.1f}" width="{bar_w - 1:.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}"><title>'
                         f'{escape(series[s][0])} {escape(name)}: {v / 100:,.2f}</title></rect>')
            if show_values or (printed and v):
                size = min(16.0, max(10.0, bar_w * 0.45))
                y = max(size, chart_h - h - 3)
                parts.append(f'<text class="value" x="{x + (bar_w - 1) / 2:.1f}" y="{y:.1f}" '
                             f'text-anchor="middle" font-size="{size:.0f}">'
                             f'{_whole(v)}</text>')
        if groups <= 12 or g % max(1, groups // 12) == 0:
            parts.append(f'<text x="{g * slot + slot / 2:.1f}" y="{chart_h + 13}" '
                         f'text-anchor="middle" font-size="{12 if show_values else 10}">'
                         f'{escape(name)}</text>')
    if show_values:
        parts.append(f'<line x1="0" y1="{chart_h}" x2="{width}" y2="{chart_h}" '
                     f'stroke="#888" stroke-width="1"/>')
    for s, (name, _) in enumerate(series):
        x = 4 + s * 130
        parts.append(f'<rect x="{x}" y="{height - 12}" width="10" height="10" '
                     f'fill="{PALETTE[s % len(PALETTE)]}"/><text x="{x + 14}" y="{height - 3}" '
                     f'font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _whole(hundredths: int) -> str:
    """A value kept in hundredths, whole and short: 394, 6.2k, 1.3M."""
    v = hundredths / 100
    if abs(v) >= 1_000_000:
        return f"{v / 1_000_000:.1f}M"
    if abs(v) >= 10_000:
        return f"{v / 1_000:.0f}k"
    if abs(v) >= 1_000:
        return f"{v / 1_000:.1f}k"
    return f"{v:.0f}"


def progress(actual: int, needed: int, *, label: str) -> Markup:
    """A horizontal progress bar toward a target (e.g. customers against 1:50)."""
    share = 0.0 if needed <= 0 else min(1.0, max(0.0, actual / needed))
    return Markup(
        f'<svg class="chart progress" viewBox="0 0 300 18" role="img" '
        f'aria-label="{escape(label)}: {actual} of {needed}">'
        f'<rect x="0" y="0" width="300" height="18" rx="9" fill="#eee"/>'
        f'<rect x="0" y="0" width="{300 * share:.1f}" height="18" rx="9" fill="{PALETTE[0]}"/>'
        f"</svg>")


def line(points: list[tuple[str, float]], *, label: str, width: int = 480,
         height: int = 170) -> Markup:
    """A line through (label, value) points with each value printed at its point and the
    labels on the axis (values in hundredths, as points and minor units are)."""
    if not points:
        return Markup("")
    top = max([v for _, v in points] + [1.0])
    left, right, chart_h = 24.0, 24.0, height - 30
    step = (width - left - right) / max(1, len(points) - 1)
    xy = [(left + i * step, 14 + (chart_h - 14) * (1 - max(v, 0.0) / top))
          for i, (_, v) in enumerate(points)]
    parts = [f'<svg class="chart line" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(label)}">',
             f'<line x1="{left}" y1="{chart_h}" x2="{width - right}" y2="{chart_h}" '
             f'stroke="#8a938e"/>',
             '<polyline fill="none" stroke="' + PALETTE[0] + '" stroke-width="2.5" points="'
             + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + '"/>']
    for (name, v), (x, y) in zip(points, xy, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{PALETTE[0]}"/>'
                     f'<text x="{x:.1f}" y="{y - 7:.1f}" text-anchor="middle" font-size="10">'
                     f'{v / 100:,.0f}</text>'
                     f'<text x="{x:.1f}" y="{chart_h + 16}" text-anchor="middle" '
                     f'font-size="10">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def heat(share: float) -> str:
    """A background for a heatmap cell holding ``share`` (0–1): from pale to mid green, every
    shade light enough for dark text at WCAG AA."""
    share = min(1.0, max(0.0, share))
    r, g, b = (round(255 - (255 - c) * share * 0.55) for c in (47, 160, 100))
    return f"#{r:02x}{g:02x}{b:02x}"


def intervals(measured: list[tuple[str, Any]], *, label: str, width: int = 480,
              row_height: int = 26, unit: str = "pts", scale: float = 100.0) -> Markup:
    """One line per row: its interval (low to high) as a bar and its estimate as a dot, with a
    zero line; ``measured`` are (name, an interval with ``low``, ``estimate``, ``high``), drawn
    times ``scale`` (shares as points). The pages print the same numbers in a table as its
    text equivalent."""
    rows = [(name, float(i.low) * scale, float(i.estimate) * scale, float(i.high) * scale)
            for name, i in measured]
    if not rows:
        return Markup("")
    finite = [v for _, lo, est, hi in rows for v in (lo, est, hi) if math.isfinite(v)]
    lo_all, hi_all = min([*finite, 0.0]), max([*finite, 0.0])
    span = (hi_all - lo_all) or 1.0
    left, right = 130, width - 60
    height = row_height * len(rows) + 20

    def x(v: float) -> float:
        v = min(max(v, lo_all), hi_all)
        return left + (right - left) * (v - lo_all) / span

    parts = [f'<svg class="chart intervals" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(label)}">',
             f'<line x1="{x(0):.1f}" y1="0" x2="{x(0):.1f}" y2="{height - 16}" stroke="#888" '
             'stroke-dasharray="3 3"/>',
             f'<text x="{x(0):.1f}" y="{height - 3}" text-anchor="middle" font-size="10">0</text>']
    for i, (name, lo, est, hi) in enumerate(rows):
        y = 14 + i * row_height
        colour = PALETTE[0] if lo > 0 else (PALETTE[1] if hi < 0 else "#888")
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" font-size="11">'
                     f'{escape(name)}</text>')
        parts.append(f'<line x1="{x(lo):.1f}" y1="{y}" x2="{x(hi):.1f}" y2="{y}" '
                     f'stroke="{colour}" stroke-width="4" stroke-linecap="round"/>')
        parts.append(f'<circle cx="{x(est):.1f}" cy="{y}" r="5" fill="{colour}"><title>'
                     f'{escape(name)}: {est:+.1f} {unit} [{lo:+.1f}, {hi:+.1f}]</title>'
                     '</circle>')
        parts.append(f'<text x="{right + 6}" y="{y + 4}" font-size="11">{est:+.1f}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
