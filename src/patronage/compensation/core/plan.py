"""A compensation plan written as data (TOML), validated into typed objects.

Every problem in a plan file is reported at once, each naming the file, the key path and what is
wrong. Rates are written as fractions (``0.05`` for 5%) and kept as exact basis points; volumes
and amounts are written in points and currency units and kept as integer hundredths.

The bonus types (each optional, each with its own validation) are those of
:data:`patronage.compensation.core.bonuses.BONUS_TYPES`, one module each; and a global ``cap`` on
payout as a share of CV.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError, create_model, field_validator, model_validator

from patronage.compensation.core.bonuses import BONUS_TYPES, BonusSections, Registry
from patronage.compensation.core.compliance import ComplianceRule
from patronage.compensation.core.units import BP, Strict, bp, hundredths
from patronage.errors import Problem, Problems, read_toml, validation_problems

__all__ = ["BP", "KNOWN_BONUSES", "Cap", "Plan", "Rank", "load_plan", "parse_plan"]

#: Section names of the bonus types a plan file may use.
KNOWN_BONUSES = BONUS_TYPES.plan_names

if TYPE_CHECKING:
    Bonuses = BonusSections
else:
    Bonuses = BONUS_TYPES.sections

class LegRank(Strict):
    rank: str
    count: int = Field(ge=1)


class Rank(Strict):
    """A rank and what it takes in a period. Volumes in hundredths of a point."""

    name: str
    min_pv: int = 0
    min_gv: int = 0
    leg_cap: int = BP  # basis points of min_gv one leg may contribute (BP: no cap)
    min_active_legs: int = Field(default=0, ge=0)
    legs_with_rank: LegRank | None = None
    min_active_customers: int = Field(default=0, ge=0)
    min_customer_volume: int = 0
    unilevel_depth: int = Field(default=0, ge=0)
    #: Consecutive committed periods (this one included) the rank must be qualified for
    #: before it is paid (1: paid the period it is qualified for).
    min_periods: int = Field(default=1, ge=1, le=24)
    #: This rank's own unilevel rates by level (basis points); None: the unilevel section's.
    unilevel_rates: list[int] | None = None
    #: Basis points of the unilevel volume past this rank's last level, down to the next
    #: member paid as this rank or higher (0: no infinity).
    unilevel_infinity: int = 0

    @model_validator(mode="before")
    @classmethod
    def _depth_of_rates(cls, data: Any) -> Any:
        """A rank with its own ``unilevel_rates`` is paid as deep as they go."""
        if isinstance(data, dict) and isinstance(data.get("unilevel_rates"), list):
            depth = data.get("unilevel_depth")
            if depth is None:
                return {**data, "unilevel_depth": len(data["unilevel_rates"])}
            if depth != len(data["unilevel_rates"]):
                raise ValueError(f"unilevel_depth {depth} but {len(data['unilevel_rates'])} "
                                 "unilevel_rates: leave unilevel_depth out or make them agree")
        return data

    @field_validator("unilevel_rates", mode="before")
    @classmethod
    def _rates(cls, v: Any) -> Any:
        return [bp(x) for x in v] if isinstance(v, list) else v

    @field_validator("unilevel_infinity", mode="before")
    @classmethod
    def _infinity(cls, v: Any) -> int:
        return bp(v)

    @field_validator("min_pv", "min_gv", "min_customer_volume", mode="before")
    @classmethod
    def _volume(cls, v: Any) -> int:
        return hundredths(v)

    @field_validator("leg_cap", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> int:
        return bp(v)


class Cap(Strict):
    """Total of the capped bonuses ≤ ``max_share_of_cv`` × the period's CV."""

    max_share_of_cv: int
    bonuses: list[str] = Field(default_factory=lambda: [
        "fast_start", "unilevel", "stair_step", "customer_acquisition", "customer_referral",
        "unilevel_generation", "matching", "customer_first_order"])

    @field_validator("max_share_of_cv", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> int:
        return bp(v)


class PaidAsRule(Strict):
    """``[paid_as]``: how the paid-as rank follows the ranks qualified for over time.
    ``grace_periods``: a member who fails their rank keeps the highest rank held in this period
    or any of the ``grace_periods`` before it (while active); ``lower_of_last``: the rank held
    in a period counts only up to the rank held in the period before it."""

    grace_periods: int = Field(default=0, ge=0, le=12)
    lower_of_last: bool = False


class Plan(Strict):
    """A whole plan: ranks in ascending order, the active rule, the bonuses, the cap."""

    name: str
    version: str
    active_min_pv: int
    customer_orders_count_as_pv: bool = True
    ranks: list[Rank]
    bonuses: Bonuses
    cap: Cap | None = None
    compliance: ComplianceRule | None = None
    paid_as: PaidAsRule | None = None

    @field_validator("active_min_pv", mode="before")
    @classmethod
    def _volume(cls, v: Any) -> int:
        return hundredths(v)

    def rank_index(self, name: str) -> int:
        return [r.name for r in self.ranks].index(name)

    def ranks_over_time(self) -> bool:
        """Whether paid-as ranks read earlier periods' ranks (``min_periods``, ``[paid_as]``)."""
        rule = self.paid_as
        return any(r.min_periods > 1 for r in self.ranks) or (
            rule is not None and (rule.grace_periods > 0 or rule.lower_of_last))

    def weekly_bonuses(self) -> list[str]:
        """The bonus types the plan pays by the week (``period = "week"``), in registry order."""
        return [bonus.name for bonus, section in self.bonuses.present()
                if bonus.calendar(section) == "week"]

    def for_calendar(self, calendar: str) -> Plan:
        """This plan as a run of ``calendar`` (``"month"`` or ``"week"``) pays it: only the
        bonuses paid on that calendar (the ranks, the active rule and the cap unchanged). The
        two plans never share a bonus, so every order is paid once per bonus."""
        weekly = set(self.weekly_bonuses())
        if calendar == "month" and not weekly:
            return self
        drop = {bonus.name: None for bonus, _ in self.bonuses.present()
                if (bonus.name in weekly) != (calendar == "week")}
        return self.model_copy(update={"bonuses": self.bonuses.model_copy(update=drop)})

    def money_amounts(self) -> dict[str, int]:
        """Every money amount the plan's bonuses state (currency hundredths), by key path:
        what a plan paid in another currency converts (rates and volumes are not money)."""
        return {f"bonuses.{bonus.name}.{key}": value
                for bonus, section in self.bonuses.present()
                for key, value in bonus.money_amounts(section).items()}

    def convert_money(self, convert: Callable[[int], int]) -> Plan:
        """This plan with every money amount of its bonuses (:meth:`money_amounts`) replaced by
        ``convert(amount)``, e.g. into another currency's hundredths."""
        sections = {bonus.name: bonus.convert_money(section, convert)
                    for bonus, section in self.bonuses.present()}
        return self.model_copy(update={"bonuses": self.bonuses.model_copy(update=sections)})


def _check(plan: Plan) -> list[tuple[str, str]]:
    """Contradictions pydantic cannot see: order of ranks, depth beyond the levels given, ...
    (each bonus type checks its own section against the rest of the plan)."""
    problems = _rank_problems(plan)
    for bonus, section in plan.bonuses.present():
        problems += bonus.check(plan, section)
    if plan.compliance is not None and plan.compliance.bonuses is not None:
        lines = plan.bonuses.registry.lines
        for j, name in enumerate(plan.compliance.bonuses):
            if name not in lines:
                problems.append((f"compliance.bonuses[{j}]", f"unknown payout line {name!r} "
                                 f"(known: {', '.join(lines)})"))
    weekly = plan.weekly_bonuses()
    matching = plan.bonuses.section("matching")
    for j, name in enumerate(getattr(matching, "bonuses", None) or []):
        if name in weekly:
            problems.append((f"bonuses.matching.bonuses[{j}]",
                             f"{name!r} is paid by the week and matching by the month: "
                             "matching can only match bonuses of its own calendar"))
    if plan.cap is not None:
        for j, b in enumerate(plan.cap.bonuses):
            if b not in plan.bonuses.registry.plan_names:
                problems.append((f"cap.bonuses[{j}]", f"unknown bonus type {b!r}"))
    return problems


def _rank_problems(plan: Plan) -> list[tuple[str, str]]:
    """Ranks out of order, named twice, asking for unknown ranks or below the active PV."""
    problems: list[tuple[str, str]] = []
    names = [r.name for r in plan.ranks]
    if not plan.ranks:
        problems.append(("ranks", "a plan needs at least one rank"))
    for i, rank in enumerate(plan.ranks):
        if names.count(rank.name) > 1 and names.index(rank.name) != i:
            problems.append((f"ranks[{i}].name", f"{rank.name!r} is named twice"))
        if i:
            prev = plan.ranks[i - 1]
            for key in ("min_pv", "min_gv", "min_active_legs", "min_active_customers",
                        "min_customer_volume"):
                if getattr(rank, key) < getattr(prev, key):
                    problems.append((f"ranks[{i}].{key}",
                                     f"{rank.name!r} asks less than the rank below it "
                                     f"({prev.name!r}): ranks must be in ascending order"))
        if rank.legs_with_rank is not None:
            target = rank.legs_with_rank.rank
            if target not in names:
                problems.append((f"ranks[{i}].legs_with_rank.rank", f"unknown rank {target!r}"))
            elif names.index(target) >= i:
                problems.append((f"ranks[{i}].legs_with_rank.rank",
                                 f"{target!r} is not below {rank.name!r}"))
        for key in ("unilevel_rates", "unilevel_infinity"):
            if getattr(rank, key) and plan.bonuses.section("unilevel") is None:
                problems.append((f"ranks[{i}].{key}", "the plan pays no unilevel bonus "
                                 "(add [bonuses.unilevel])"))
        if rank.min_pv < plan.active_min_pv:
            problems.append((f"ranks[{i}].min_pv", "below the active minimum PV: a paid-as "
                             "rank is only held by active members"))
    return problems


@cache
def _plan_model(bonus_types: Registry) -> type[Plan]:
    """The plan model whose ``[bonuses]`` table has the sections of ``bonus_types``."""
    if bonus_types is BONUS_TYPES:
        return Plan
    return create_model("Plan", __base__=Plan, bonuses=(bonus_types.sections, ...))


def parse_plan(data: dict[str, Any], source: str = "plan",
               bonus_types: Registry = BONUS_TYPES) -> Plan:
    """Validate plan data (as read from TOML); raises :class:`Problems` listing everything.
    ``bonus_types`` are the bonus types the plan may use (the plan keeps them: the engines
    run those)."""
    problems: list[Problem] = []
    data = dict(data)
    raw_bonuses = data.get("bonuses", {})
    known = bonus_types.plan_names
    if isinstance(raw_bonuses, dict):
        for key in raw_bonuses:
            if key not in known:
                problems.append(Problem(f"{source}: bonuses.{key}",
                                        f"unknown bonus type (known: {', '.join(known)})"))
        data["bonuses"] = {k: v for k, v in raw_bonuses.items() if k in known}
        problems += _monthly_only(data["bonuses"], bonus_types, source)
    active = data.pop("active", None)
    if isinstance(active, dict):
        data["active_min_pv"] = active.get("min_pv")
        data["customer_orders_count_as_pv"] = active.get("customer_orders_count_as_pv", True)
    meta = data.pop("plan", None)
    if isinstance(meta, dict):
        data.update({k: v for k, v in meta.items() if k in ("name", "version")})
    try:
        plan = _plan_model(bonus_types).model_validate(data)
    except ValidationError as exc:
        renamed = {"active_min_pv": "active.min_pv", "name": "plan.name",
                   "version": "plan.version"}
        problems += validation_problems(exc.errors(), source,
                                        place=lambda loc: renamed.get(loc, loc))
        raise Problems(f"{source}: the plan is not valid", problems) from None
    problems += [Problem(f"{source}: {p}", r) for p, r in _check(plan)]
    if problems:
        raise Problems(f"{source}: the plan is not valid", problems)
    return plan


def _monthly_only(sections: dict[str, Any], bonus_types: Registry,
                  source: str) -> list[Problem]:
    """``period`` on the sections of bonus types paid only by the month: ``"month"`` is
    accepted (and dropped), anything else refused naming the place. Rewrites ``sections``."""
    problems: list[Problem] = []
    for name, section in list(sections.items()):
        if bonus_types.by_name[name].weekly or not isinstance(section, dict) \
                or "period" not in section:
            continue
        value = section["period"]
        if value != "month":
            weekly = " and ".join(t.name for t in bonus_types.types if t.weekly)
            problems.append(Problem(
                f"{source}: bonuses.{name}.period",
                f"{value!r}: {name} is paid by the month only (it needs the month's whole "
                f"volume); only {weekly} can be paid by the week"))
        sections[name] = {k: v for k, v in section.items() if k != "period"}
    return problems


def load_plan(path: Path) -> Plan:
    """Read and validate a plan file."""
    return parse_plan(read_toml(path, "plan file"), str(path))


def default_plan_path() -> Path:
    return Path(__file__).parent.parent / "plans" / "example.toml"
