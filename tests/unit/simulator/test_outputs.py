"""A simulation's months as CSV (read back the same) and as plots (SVG and PNG, two runs on one
set of axes, labels translated)."""

from __future__ import annotations

import csv
import io

import pytest

from patronage.compensation.core.plan import default_plan_path, load_plan
from patronage.simulator.core.outputs import MonthRow
from patronage.simulator.core.params import Models, Params
from patronage.simulator.core.simulation import simulate
from patronage.simulator.export import months_csv
from patronage.simulator.plots import PLOTS, inline_svg, plot


@pytest.fixture(scope="module")
def rows() -> list[MonthRow]:
    params = Params(market=5_000, founders=20, recruits_per_distributor=0.3)
    return simulate(load_plan(default_plan_path()), params, Models.priors(), 12, 5).rows


def test_csv_has_a_row_a_month_that_reads_back_the_same(rows: list[MonthRow]) -> None:
    read = list(csv.DictReader(io.StringIO(months_csv(rows))))
    assert len(read) == 12 and list(read[0]) == MonthRow.columns()
    back = [MonthRow.from_dict(r) for r in read]
    assert [r.distributors for r in back] == [r.distributors for r in rows]
    assert [r.payout for r in back] == [r.payout for r in rows]
    assert [round(r.payout_share_of_cv, 4) for r in back] == \
        [round(r.payout_share_of_cv, 4) for r in rows]
    labelled = list(csv.reader(io.StringIO(months_csv(rows, "A"))))
    assert labelled[0][0] == "run" and {r[0] for r in labelled[1:]} == {"A"}


def test_plots_draw_one_or_two_runs_as_svg_and_png(rows: list[MonthRow]) -> None:
    for name in PLOTS:
        png = plot(name, [("A", rows, 5_000), ("B", rows[:6], 5_000)], "png")
        assert png.startswith(b"\x89PNG")
    svg = inline_svg("network", [("A", rows, 5_000)], text=lambda s: s.upper())
    assert svg.startswith("<svg ") and 'aria-label="NETWORK SIZE AND SATURATION"' in svg
    assert "DISTRIBUTORS" in svg  # labels go through the translation given
    with pytest.raises(ValueError, match="unknown plot"):
        plot("pie", [("A", rows, 0)])
    with pytest.raises(ValueError, match="unknown image format"):
        plot("network", [("A", rows, 0)], "gif")
