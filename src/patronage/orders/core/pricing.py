"""Pricing and classification of order lines, written once (no database, no clock).

Used by :func:`patronage.orders.orders.place_order` (one order), the daily autoship run (a
million lines at once) and the demo company's generator, all on numpy arrays:

- *unit price*: a retail customer pays the retail price, everyone else (preferred customers,
  distributors) the wholesale price, in the buyer's market's currency;
- *volume*: the product's QV and CV in the buyer's market times the quantity; none at a zero
  price unless the product carries volume when free;
- *volume kind*: ``promotional`` for an enrollment pack, ``consumption`` otherwise;
- *buyer class*: ``distributor`` for a distributor's own purchase, ``customer`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from patronage.arrays import I64, Bools


@dataclass(frozen=True)
class PricedLines:
    """Lines priced and classified, one row each (amounts and volumes are line totals)."""

    unit_price: I64
    amount: I64
    qv: I64
    cv: I64
    retail_total: I64
    wholesale_total: I64
    promotional: Bools
    by_distributor: Bools

    def volume_kinds(self) -> npt.NDArray[np.str_]:
        return np.where(self.promotional, "promotional", "consumption")

    def buyer_classes(self) -> npt.NDArray[np.str_]:
        return np.where(self.by_distributor, "distributor", "customer")


def unit_prices(retail: I64, wholesale: I64, pays_retail: Bools) -> I64:
    """What each buyer pays for one unit at list price."""
    return np.where(pays_retail, retail, wholesale).astype(np.int64)


def price_lines(*, retail: I64, wholesale: I64, qv: I64, cv: I64, quantity: I64,
                pays_retail: Bools, by_distributor: Bools, promotional: Bools,
                volume_when_free: Bools, unit_price: I64 | None = None) -> PricedLines:
    """Price and classify lines from their products' prices and volume in the buyer's market
    (``unit_price``: a price given instead of the list price, where not negative)."""
    listed = unit_prices(retail, wholesale, pays_retail)
    unit = listed if unit_price is None else np.where(unit_price >= 0, unit_price, listed)
    no_volume = (unit == 0) & ~volume_when_free
    return PricedLines(
        unit_price=unit.astype(np.int64), amount=(unit * quantity).astype(np.int64),
        qv=np.where(no_volume, 0, qv * quantity).astype(np.int64),
        cv=np.where(no_volume, 0, cv * quantity).astype(np.int64),
        retail_total=(retail * quantity).astype(np.int64),
        wholesale_total=(wholesale * quantity).astype(np.int64),
        promotional=np.asarray(promotional, dtype=bool),
        by_distributor=np.asarray(by_distributor, dtype=bool))
