"""Plots of simulations (matplotlib, drawn off screen): the network against the market, the
income distribution over time, the payout share; two runs side by side on the same axes.

matplotlib is imported inside :func:`plot` only, so commands that do not draw start fast.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from patronage.languages import N_
from patronage.simulator.core.outputs import MonthRow

#: The plots there are, by name.
PLOTS = ("network", "incomes", "payout")
STYLES = ("-", "--")
COLOURS = ("#2f6f4f", "#c9822b", "#4a6fa5", "#9b4d7a", "#777777")

Run = tuple[str, Sequence[MonthRow], int]  # label, months, market (0: unlimited)
Text = Callable[[str], str]


def plot(name: str, runs: Sequence[Run], fmt: str = "svg", text: Text = str) -> bytes:
    """The plot ``name`` (one of :data:`PLOTS`) of one or two runs, as SVG or PNG bytes;
    ``text`` translates the labels."""
    if name not in PLOTS:
        raise ValueError(f"unknown plot {name!r} (known: {', '.join(PLOTS)})")
    if fmt not in ("svg", "png"):
        raise ValueError(f"unknown image format {fmt!r} (svg or png)")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # Text stays text in SVG (translatable, small); ids differ between plots on one page.
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": f"simulation-{name}"})

    fig = Figure(figsize=(6.4, 3.8), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    {"network": _network, "incomes": _incomes, "payout": _payout}[name](ax, runs, text)
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_xlabel(text(N_("Month")))
    ax.legend(fontsize=7.5, loc="best", frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()


TITLES = {"network": N_("Network size and saturation"), "incomes": N_("Income distribution"),
          "payout": N_("Payout and who it reaches")}


def inline_svg(name: str, runs: Sequence[Run], text: Text = str) -> str:
    """The plot as SVG markup to place in a page (no XML prologue), as wide as its box on any
    screen, named for screen readers."""
    svg = plot(name, runs, "svg", text).decode("utf-8")
    label = escape(text(TITLES[name]), quote=True)
    return svg[svg.index("<svg"):].replace(
        "<svg ", f'<svg role="img" aria-label="{label}" style="width:100%;height:auto" ', 1)


def _series(ax: Any, runs: Sequence[Run], lines: list[tuple[str, Callable[[MonthRow], float]]],
            ) -> None:
    for j, (label, rows, _) in enumerate(runs):
        months = [r.month for r in rows]
        for i, (name, value) in enumerate(lines):
            ax.plot(months, [value(r) for r in rows], STYLES[j % 2],
                    color=COLOURS[i % len(COLOURS)],
                    label=f"{name} ({label})" if len(runs) > 1 else name)


def _network(ax: Any, runs: Sequence[Run], text: Text) -> None:
    _series(ax, runs, [(text(N_("Distributors")), lambda r: r.distributors),
                       (text(N_("Customers")), lambda r: r.customers),
                       (text(N_("Everyone ever reached")), lambda r: r.reached)])
    # The market as a line when the network comes near it; otherwise the line would flatten the
    # curves to nothing, and the share reached is named in the legend instead.
    reached = max((r.reached for _, rows, _ in runs for r in rows), default=0)
    for m in sorted({m for _, _, m in runs if m}):
        market, share = text(N_("Market")), text(N_("reached"))
        if reached >= m / 4:
            ax.axhline(m, color="#b00020", linewidth=0.8, linestyle=":", label=market)
        else:
            ax.plot([], [], " ", label=f"{market}: {m:,} ({reached / m:.1%} {share})")
    ax.set_ylabel(text(N_("People")))
    ax.set_title(text(TITLES["network"]), fontsize=10)


def _incomes(ax: Any, runs: Sequence[Run], text: Text) -> None:
    _series(ax, runs, [(text(N_("Median paid")), lambda r: r.median_earned / 100),
                       (text(N_("75th percentile")), lambda r: r.p75_earned / 100),
                       (text(N_("90th percentile")), lambda r: r.p90_earned / 100),
                       (text(N_("99th percentile")), lambda r: r.p99_earned / 100),
                       (text(N_("Median net of costs")), lambda r: r.median_net / 100)])
    ax.set_ylabel(text(N_("Monthly income per distributor")))
    ax.set_title(text(TITLES["incomes"]), fontsize=10)


def _payout(ax: Any, runs: Sequence[Run], text: Text) -> None:
    _series(ax, runs, [(text(N_("Payout share of CV")), lambda r: 100 * r.payout_share_of_cv),
                       (text(N_("Volume bought by customers")), lambda r: 100 * r.customer_share),
                       (text(N_("Distributors earning more than their costs")),
                        lambda r: 100 * r.share_net_positive)])
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.set_title(text(TITLES["payout"]), fontsize=10)
