"""What a bonus type is: one class holding everything about it.

A bonus type names its plan file section (``[bonuses.<name>]``) and the model that reads it,
checks the section against the rest of the plan, pays it over arrays (:meth:`BonusType.pay`)
and again in plain Python (:meth:`BonusType.reference`, the oracle the property tests hold the
first to), says what a refund of an earlier period takes back (:meth:`BonusType.clawback_base`),
words its lines for explanations and lists which of its plan amounts are money. See
``docs/bonuses.md``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Generic, NamedTuple, TypeVar, cast

from patronage.compensation.core.units import Strict
from patronage.languages import _

if TYPE_CHECKING:
    from patronage.compensation.core.bonuses.state import PayState, ReferenceState
    from patronage.compensation.core.plan import Plan

S = TypeVar("S", bound=Strict)


class Refunded(NamedTuple):
    """A refunded order line of an earlier period: its QV, CV and amount, and whether its
    volume was ``"consumption"`` or ``"promotional"``."""

    qv: int
    cv: int
    amount: int
    volume_kind: str


class BonusType(ABC, Generic[S]):
    """One bonus type. Subclasses set the class attributes and write :meth:`pay` and
    :meth:`reference`; the other methods have defaults."""

    #: The plan file's section name, ``[bonuses.<name>]``.
    name: str
    #: The model of that section (a :class:`~patronage.compensation.core.units.Strict` model).
    model: type[S]
    #: The payout line names this type writes, each with its stored code. Codes are stored
    #: with every line: never renumber one; a new type takes the next free numbers.
    lines: ClassVar[dict[str, int]]
    #: Fields of the section that are money amounts in currency hundredths (fixed amounts,
    #: caps), as opposed to rates and volumes: a plan in another currency converts these.
    money: tuple[str, ...] = ()
    #: Source kinds (``"order"``, ``"member"``) of this type's lines that a refund of an
    #: earlier period's order claws back (see :meth:`clawback_base`); empty: never clawed.
    #: ``"buyer"``: member lines whose source is the customer who placed the refunded order.
    clawed_sources: tuple[str, ...] = ()
    #: Whether the plan may pay it by the week (``period = "week"`` in its section): only
    #: types that read the orders of the period alone, not the month's whole volume.
    weekly: ClassVar[bool] = False
    #: Whether a line's volume is money (what was earned or paid) rather than points.
    money_volume: bool = False
    #: How explanations name each of :attr:`lines`, marked for translation with ``N_``
    #: (a line not listed is named by its key, underscores as spaces).
    names: ClassVar[dict[str, str]] = {}
    #: Whether a plan file may have this type's section (False: its lines are written by
    #: another rule of the plan, and a plan naming the section is refused).
    plan_section: ClassVar[bool] = True

    def section_of(self, plan: Plan) -> S | None:
        """This type's section of ``plan`` (None: the plan does not pay it)."""
        return cast("S | None", plan.bonuses.section(self.name))

    def calendar(self, section: S) -> str:
        """The calendar the plan pays this type on: ``"month"`` or ``"week"``."""
        return str(getattr(section, "period", "month"))

    def check(self, plan: Plan, section: S) -> list[tuple[str, str]]:
        """Contradictions between the section and the rest of the plan that the model cannot
        see alone, as (key path from the file's root, what is wrong)."""
        return []

    def money_amounts(self, section: S) -> dict[str, int]:
        """The section's money amounts by field name (:attr:`money`), in currency hundredths."""
        return {key: int(getattr(section, key)) for key in self.money}

    def convert_money(self, section: S, convert: Callable[[int], int]) -> S:
        """The section with each money amount (:attr:`money`) replaced by ``convert(amount)``;
        rates and volumes unchanged."""
        return section.model_copy(update={key: convert(int(getattr(section, key)))
                                          for key in self.money})

    @abstractmethod
    def pay(self, st: PayState, section: S) -> None:
        """Append this type's payout and skip lines for the period to ``st``, vectorised:
        loops run per level or per rank, never per member or order."""

    @abstractmethod
    def reference(self, st: ReferenceState, section: S) -> None:
        """The same lines as :meth:`pay`, written for obviousness: member by member, order by
        order, up the sponsor chain."""

    def history_periods(self, section: S) -> int:
        """How many committed periods before this one the type reads from the rank history
        (``PayState.history``); 0: none."""
        return 0

    def clawback_base(self, section: S | None, refunded: Refunded) -> int:
        """The part of a line's volume that ``refunded`` takes back (0: none). The clawback is
        this share of the line's amount; only lines of :attr:`clawed_sources` are asked."""
        return 0

    def describe(self, plan: Plan, level: int, volume: int) -> str | None:
        """A payout line of this type at ``level`` with ``volume`` in words, with how its
        amount was reached (the amount itself follows); None: the standard wording ("label
        from source: rate of volume")."""
        return None

    def label(self, line: str, level: int) -> str:
        """How explanations name a line of ``line`` at ``level`` (0: no level), in the reader's
        language."""
        name = self.names.get(line)
        word = _(name) if name else line.replace("_", " ")
        return _("%(bonus)s level %(level)d") % {"bonus": word, "level": level} if level \
            else word
