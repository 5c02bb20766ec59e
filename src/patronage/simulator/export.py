"""A simulation's months as CSV for analysts: one row a month, money in minor units, volumes
in hundredths of a point, shares as fractions. (Parquet needs pyarrow, which is not installed:
CSV only.)"""

from __future__ import annotations

import csv
import io

from patronage.simulator.core.outputs import MonthRow


def months_csv(rows: list[MonthRow], label: str | None = None) -> str:
    """The months as CSV text; with ``label``, a first column naming the run (for two runs
    written one after the other)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = MonthRow.columns()
    writer.writerow((["run"] if label is not None else []) + columns)
    for r in rows:
        values = r.as_dict()
        writer.writerow(([label] if label is not None else []) +
                        [_cell(values[c]) for c in columns])
    return out.getvalue()


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
