"""Withheld release: a payment the customer-volume rule withheld in an earlier committed period,
paid to its distributor in the first later period whose run finds their team meeting the rule,
when the plan says so (``[compliance] release_withheld_within``; see
:mod:`patronage.compensation.core.compliance`).

It is not a plan section of its own: the compliance rule writes its lines, one per distributor
and earlier period released. A line's level is how many committed periods before this one the
amount was withheld (1: the last), its volume the amount released. The release is not capped
again, not withheld again, and not clawed back (the lines it stands for were never paid).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from patronage.compensation.core.bonuses.base import BonusType
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.units import Strict
from patronage.languages import N_, _

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan

#: The payout line the release writes.
LINE = "withheld_release"


class WithheldReleaseSection(Strict):
    """No settings: the release is switched on by ``[compliance] release_withheld_within``."""


class WithheldReleaseLines(BonusType[WithheldReleaseSection]):
    name = "withheld_release"
    model = WithheldReleaseSection
    lines: ClassVar[dict[str, int]] = {LINE: 14}
    names: ClassVar[dict[str, str]] = {LINE: N_("withheld release")}
    money_volume = True
    plan_section = False

    def pay(self, st: PayState, section: WithheldReleaseSection) -> None:
        """Nothing here: the compliance rule pays the releases after every bonus."""

    def reference(self, st: ReferenceState, section: WithheldReleaseSection) -> None:
        """Nothing here: the compliance rule pays the releases after every bonus."""

    def describe(self, plan: Plan, level: int, volume: int) -> str | None:
        return _("withheld release: paid now that the team's customers buy enough of its "
                 "volume, withheld %(periods)d committed period(s) before") % {"periods": level}


BONUS = WithheldReleaseLines()
