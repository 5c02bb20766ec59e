"""Period facts: the genealogy and the order lines of a period as numpy arrays.

This is what every engine consumes. It is built in bulk by :mod:`patronage.db.loaders` (no ORM
object per row) or directly by tests and benchmarks. Member arrays are indexed by *member index*
``0..n-1`` (``member_id[i]`` is the database id); line arrays refer to members by index.

Volumes (QV, CV) are integer hundredths of a point; amounts are integer minor units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from patronage.arrays import I8, I32, I64
from patronage.arrays import Bools as B
from patronage.arrays import index_of as index_of  # the engines' lookup, re-exported

#: Member kinds as small integers in :attr:`Genealogy.kind`.
KIND_RETAIL, KIND_PREFERRED, KIND_DISTRIBUTOR = 0, 1, 2
KIND_CODES = {"retail": KIND_RETAIL, "preferred": KIND_PREFERRED, "distributor": KIND_DISTRIBUTOR}
#: Member statuses as small integers in :attr:`Genealogy.status`.
STATUS_ACTIVE, STATUS_INACTIVE, STATUS_TERMINATED, STATUS_ERASED = 0, 1, 2, 3
STATUS_CODES = {"active": STATUS_ACTIVE, "inactive": STATUS_INACTIVE,
                "terminated": STATUS_TERMINATED, "erased": STATUS_ERASED}
#: Order sources as small integers in :attr:`OrderLines.source`.
SOURCE_ENROLLMENT, SOURCE_AUTOSHIP, SOURCE_ONE_TIME, SOURCE_RETAIL = 0, 1, 2, 3
SOURCE_CODES = {"enrollment": SOURCE_ENROLLMENT, "autoship": SOURCE_AUTOSHIP,
                "one_time": SOURCE_ONE_TIME, "retail": SOURCE_RETAIL}


@dataclass(frozen=True)
class Genealogy:
    """The member tree as of a date.

    ``parent`` is the sponsor for a distributor and the owner for a customer (``-1`` at a root), so
    a customer's volume flows up through the distributor who serves them. ``sponsor``, ``owner``
    and ``referrer`` keep each relation separately (``-1`` when absent). ``preorder`` lists member
    indexes in an order where every subtree is contiguous: the subtree of member ``i`` is
    ``preorder[position[i] : position[i] + subtree_size[i]]``.
    """

    member_id: I64
    parent: I64
    sponsor: I64
    owner: I64
    referrer: I64
    kind: I8
    status: I8
    joined_at: I64  # unix seconds, UTC
    depth: I32
    preorder: I64
    position: I64
    subtree_size: I64

    @property
    def size(self) -> int:
        return int(self.member_id.shape[0])

    def index_of(self, member_ids: I64) -> I64:
        """Member indexes for database ids (``-1`` for ids not in the tree)."""
        return index_of(self.member_id, member_ids)


@dataclass(frozen=True)
class OrderLines:
    """Order lines placed in the period (refunds are in :class:`RefundLines`)."""

    line_id: I64
    order_id: I64
    buyer: I64  # member index of the buyer
    credited_to: I64  # member index of the distributor credited with the volume (-1: none)
    product_id: I64
    placed_at: I64  # unix seconds, UTC
    source: I8
    promotional: B  # True: promotional (enrollment pack); False: consumption volume
    customer_purchase: B  # True: bought by a customer; False: a distributor's own purchase
    qv: I64
    cv: I64
    amount: I64
    retail_total: I64
    wholesale_total: I64

    @property
    def size(self) -> int:
        return int(self.line_id.shape[0])


@dataclass(frozen=True)
class RefundLines:
    """Refund lines recorded in the period, each against an order line (maybe of an earlier one)."""

    refund_line_id: I64
    order_line_id: I64
    order_id: I64
    buyer: I64
    credited_to: I64
    refunded_at: I64  # unix seconds, UTC
    order_placed_at: I64  # unix seconds, UTC, of the original order
    promotional: B
    customer_purchase: B
    qv: I64
    cv: I64
    amount: I64

    @property
    def size(self) -> int:
        return int(self.refund_line_id.shape[0])


#: Sides of a placement in :attr:`Placement.side`.
SIDE_LEFT, SIDE_RIGHT = 0, 1
SIDE_CODES = {"left": SIDE_LEFT, "right": SIDE_RIGHT}


@dataclass(frozen=True)
class Placement:
    """The placement (binary) tree beside the sponsor tree, as of the period's end, by member
    index: ``parent`` is the member placed above (-1: a root or not placed), ``side`` which
    leg of that parent (:data:`SIDE_LEFT`, :data:`SIDE_RIGHT`)."""

    parent: I64
    side: I8


@dataclass(frozen=True)
class PeriodFacts:
    """Everything an engine needs about one period (or day): ``[start, end)`` in unix seconds."""

    label: str
    start: int
    end: int
    genealogy: Genealogy
    lines: OrderLines
    refunds: RefundLines
    meta: dict[str, str] = field(default_factory=dict)
    #: The placement tree (None: the company places nobody).
    placement: Placement | None = None
    #: What bonus types carried over from the previous period, by name, each an array by
    #: member index (e.g. ``binary_left``, ``binary_right``: leg volume carried over).
    carry_in: dict[str, I64] = field(default_factory=dict)


def empty_lines() -> OrderLines:
    z = np.zeros(0, dtype=np.int64)
    return OrderLines(
        line_id=z, order_id=z, buyer=z, credited_to=z, product_id=z, placed_at=z,
        source=np.zeros(0, dtype=np.int8), promotional=np.zeros(0, dtype=bool),
        customer_purchase=np.zeros(0, dtype=bool), qv=z, cv=z, amount=z, retail_total=z,
        wholesale_total=z,
    )


def empty_refunds() -> RefundLines:
    z = np.zeros(0, dtype=np.int64)
    return RefundLines(
        refund_line_id=z, order_line_id=z, order_id=z, buyer=z, credited_to=z, refunded_at=z,
        order_placed_at=z, promotional=np.zeros(0, dtype=bool),
        customer_purchase=np.zeros(0, dtype=bool), qv=z, cv=z, amount=z,
    )
