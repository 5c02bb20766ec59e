"""Customer-volume evidence: how much of a distributor's, a team's and the company's volume was
bought by non-participants (retail and preferred customers), how much was promotional, and how
many customers each distributor serves.

Volumes are the CV of paid orders credited to each distributor in a committed period (integer
hundredths of a point), split three ways by the commission run: consumption CV, promotional CV
(enrollment packs), and of all of it the CV customers bought. A distributor's *team* is
themselves and their whole downline in the sponsor tree. Shares are exact fractions; a group with
no volume has no share (``None``), never 0% or 100%.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from patronage.arrays import I64, index_of
from patronage.network.core.genealogy import build, subtree_sums


@dataclass(frozen=True)
class VolumeMix:
    """A group's volume: ``consumption + promotional`` is all of it; ``customer`` is the part
    customers bought (of either kind)."""

    consumption: int
    promotional: int
    customer: int

    @property
    def total(self) -> int:
        return self.consumption + self.promotional

    @property
    def customer_share(self) -> Fraction | None:
        return Fraction(self.customer, self.total) if self.total else None

    @property
    def promotional_share(self) -> Fraction | None:
        return Fraction(self.promotional, self.total) if self.total else None

    def __add__(self, other: VolumeMix) -> VolumeMix:
        return VolumeMix(self.consumption + other.consumption,
                         self.promotional + other.promotional, self.customer + other.customer)


@dataclass(frozen=True)
class DistributorEvidence:
    """Per distributor (arrays indexed alike): personal and team volume mix, and customers."""

    member_id: I64
    sponsor: I64  # index of the sponsoring distributor, -1 at the top
    consumption: I64
    promotional: I64
    customer: I64
    team_consumption: I64
    team_promotional: I64
    team_customer: I64
    customers: I64  # customers the distributor serves (owner), as of the period
    ordering_customers: I64  # customers who bought, summed over the months (customer-months)

    @property
    def size(self) -> int:
        return int(self.member_id.shape[0])

    def personal(self, i: int) -> VolumeMix:
        return VolumeMix(int(self.consumption[i]), int(self.promotional[i]),
                         int(self.customer[i]))

    def team(self, i: int) -> VolumeMix:
        return VolumeMix(int(self.team_consumption[i]), int(self.team_promotional[i]),
                         int(self.team_customer[i]))

    def company(self) -> VolumeMix:
        return VolumeMix(int(self.consumption.sum()), int(self.promotional.sum()),
                         int(self.customer.sum()))


def sponsor_indexes(member_id: I64, sponsor_id: I64) -> I64:
    """Each distributor's sponsor as an index into ``member_id`` (-1 when the sponsor is not a
    distributor of the list, or there is none)."""
    return index_of(member_id, sponsor_id)


def evidence(member_id: I64, sponsor: I64, consumption: I64, promotional: I64, customer: I64,
             customers: I64, ordering_customers: I64) -> DistributorEvidence:
    """Team sums over the sponsor tree (``sponsor`` holds indexes, -1 at a root)."""
    tree = build(member_id, sponsor)
    return DistributorEvidence(
        member_id=member_id, sponsor=sponsor, consumption=consumption, promotional=promotional,
        customer=customer, team_consumption=subtree_sums(tree, consumption),
        team_promotional=subtree_sums(tree, promotional),
        team_customer=subtree_sums(tree, customer), customers=customers,
        ordering_customers=ordering_customers)


def below_share(part: I64, whole: I64, minimum: Fraction) -> np.ndarray:
    """Where ``part / whole < minimum`` (exactly, in integers); a group with no volume is not
    below (it has nothing to be judged on)."""
    num, den = minimum.numerator, minimum.denominator
    result: np.ndarray = (whole > 0) & (part * den < whole * num)
    return result


@dataclass(frozen=True)
class CustomerRatio:
    """Customers per distributor across the company."""

    distributors: int
    customers: int
    ordering_customers: int
    distributors_without_customers: int

    @property
    def per_distributor(self) -> Fraction | None:
        return Fraction(self.customers, self.distributors) if self.distributors else None


def customer_ratio(ev: DistributorEvidence) -> CustomerRatio:
    return CustomerRatio(distributors=ev.size, customers=int(ev.customers.sum()),
                         ordering_customers=int(ev.ordering_customers.sum()),
                         distributors_without_customers=int((ev.customers == 0).sum()))
