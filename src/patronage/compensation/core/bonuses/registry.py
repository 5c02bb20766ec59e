"""The bonus types a plan file may use, by section name, and the payout line codes they write.

A :class:`Registry` builds the model of a plan's ``[bonuses]`` table (one optional section per
type) and orders the work: both engines run the types in registry order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from pydantic import create_model

from patronage.compensation.core.bonuses.base import BonusType
from patronage.compensation.core.units import Strict


class BonusSections(Strict):
    """A plan's ``[bonuses]`` table: one optional section per type of :attr:`registry`."""

    registry: ClassVar[Registry]

    def section(self, name: str) -> Strict | None:
        """The section of bonus type ``name`` (None: not in the plan)."""
        found = getattr(self, name, None)
        return found if isinstance(found, Strict) else None

    def present(self) -> list[tuple[BonusType[Any], Strict]]:
        """The plan's bonus types with their sections, in registry order."""
        out = []
        for bonus in self.registry.types:
            section = self.section(bonus.name)
            if section is not None:
                out.append((bonus, section))
        return out


class Registry:
    """Bonus types by plan section name; their payout line names by stored code."""

    def __init__(self, types: Sequence[BonusType[Any]], module: str = __name__) -> None:
        """``module`` is where the sections model is kept as ``Bonuses`` (so plans pickle)."""
        self.types = tuple(types)
        self.by_name = {t.name: t for t in self.types}
        if len(self.by_name) != len(self.types):
            raise ValueError("two bonus types share a section name")
        by_code = {code: (line, t) for t in self.types for line, code in t.lines.items()}
        if sorted(by_code) != list(range(sum(len(t.lines) for t in self.types))):
            raise ValueError("payout line codes must be 0, 1, 2, ... each used once")
        #: Payout line names by code.
        self.lines = tuple(by_code[c][0] for c in range(len(by_code)))
        if len(set(self.lines)) != len(self.lines):
            raise ValueError("two bonus types write payout lines of the same name")
        self.code = {line: c for c, line in enumerate(self.lines)}
        self._of_line = {line: t for line, t in by_code.values()}
        fields: dict[str, Any] = {t.name: (t.model | None, None) for t in self.types}
        self.sections: type[BonusSections] = create_model(
            "Bonuses", __base__=BonusSections, __module__=module, **fields)
        self.sections.registry = self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.by_name)

    @property
    def plan_names(self) -> tuple[str, ...]:
        """The section names a plan file may use (:attr:`BonusType.plan_section`)."""
        return tuple(t.name for t in self.types if t.plan_section)

    def of_line(self, line: str) -> BonusType[Any]:
        """The bonus type that writes payout lines named ``line``."""
        return self._of_line[line]

    def codes_of(self, names: Iterable[str]) -> list[int]:
        """The payout line codes of the bonus types ``names`` (all the lines of each)."""
        return [c for name in names for c in sorted(self.by_name[name].lines.values())]

    def clawed_lines(self, source_kind: str) -> tuple[str, ...]:
        """Payout line names that a refund clawing back lines of ``source_kind`` looks for."""
        return tuple(line for t in self.types if source_kind in t.clawed_sources
                     for line in sorted(t.lines, key=t.lines.__getitem__))

    def extended(self, *types: BonusType[Any]) -> Registry:
        """This registry with ``types`` added after its own."""
        return Registry((*self.types, *types))
