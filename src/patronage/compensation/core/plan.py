"""A compensation plan written as data (TOML), validated into typed objects.

Every problem in a plan file is reported at once, each naming the file, the key path and what is
wrong. Rates are written as fractions (``0.05`` for 5%) and kept as exact basis points; volumes
and amounts are written in points and currency units and kept as integer hundredths.

The bonus types (each optional, each with its own validation):
``retail_profit``, ``fast_start``, ``unilevel``, ``stair_step`` (differential with breakaway
generations), ``customer_acquisition``, ``customer_referral``;
and a global ``cap`` on payout as a share of CV.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from patronage.errors import Problem, Problems, key_path, read_toml

BP = 10_000
KNOWN_BONUSES = ("retail_profit", "fast_start", "unilevel", "stair_step", "customer_acquisition",
                 "customer_referral")


def _bp(value: Any) -> int:
    """A rate written as a fraction (0.05) in exact basis points (500)."""
    d = Decimal(str(value))
    scaled = d * BP
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} is finer than a basis point (0.0001)")
    if d < 0 or d > 1:
        raise ValueError(f"{value} is not between 0 and 1 (0% to 100%)")
    return int(scaled)


def _hundredths(value: Any) -> int:
    d = Decimal(str(value))
    scaled = d * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than 2 decimal places")
    if d < 0:
        raise ValueError(f"{value} is negative")
    return int(scaled)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegRank(_Strict):
    rank: str
    count: int = Field(ge=1)


class Rank(_Strict):
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

    @field_validator("min_pv", "min_gv", "min_customer_volume", mode="before")
    @classmethod
    def _volume(cls, v: Any) -> int:
        return _hundredths(v)

    @field_validator("leg_cap", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> int:
        return _bp(v)


class RetailProfit(_Strict):
    """Retail price paid by a retail customer above the wholesale price, to the owner."""

    enabled: bool = True


class FastStart(_Strict):
    """% of a new distributor's orders in their first ``window_days``, to the enrollers above."""

    rates: list[int]
    window_days: int = Field(default=60, ge=1)
    volume: Literal["qv", "cv"] = "qv"
    promotional_only: bool = True
    roll_up: bool = False

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, v: Any) -> list[int]:
        return [_bp(x) for x in v]


class Unilevel(_Strict):
    """rate[level] × consumption CV of the member at that level below the earner."""

    rates: list[int]
    compression: Literal["none", "static", "dynamic"] = "dynamic"
    include_promotional: bool = False

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, v: Any) -> list[int]:
        return [_bp(x) for x in v]


class StairStep(_Strict):
    """Differential on group CV by paid-as rank, with breakaway generation overrides.

    ``rates`` maps rank names to rates (ranks not named earn 0). A member paid as
    ``breakaway_rank`` or higher breaks away: their group leaves their upline's stair-step group,
    and pays ``generation_rates[g-1]`` of it to the g-th breakaway upline above.
    """

    rates: dict[str, int]
    breakaway_rank: str | None = None
    generation_rates: list[int] = []
    generational_compression: bool = True
    include_promotional: bool = False

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, v: Any) -> dict[str, int]:
        if not isinstance(v, dict):
            raise ValueError("give a table of rank name = rate")
        return {str(k): _bp(x) for k, x in v.items()}

    @field_validator("generation_rates", mode="before")
    @classmethod
    def _gen(cls, v: Any) -> list[int]:
        return [_bp(x) for x in v]


class CustomerAcquisition(_Strict):
    """A fixed amount to the owner for each new customer whose first order is in the period."""

    amount: int
    requires_active: bool = True

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> int:
        return _hundredths(v)


class CustomerReferral(_Strict):
    """Refer ``referrals`` customers who order in the period; earn a credit computed from their
    orders (the average of the largest ``referrals`` orders), up to ``cap``."""

    referrals: int = Field(ge=1)
    credit: Literal["average_of_largest"] = "average_of_largest"
    cap: int

    @field_validator("cap", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> int:
        return _hundredths(v)


class Cap(_Strict):
    """Total of the capped bonuses ≤ ``max_share_of_cv`` × the period's CV."""

    max_share_of_cv: int
    bonuses: list[str] = ["fast_start", "unilevel", "stair_step", "customer_acquisition",
                          "customer_referral"]

    @field_validator("max_share_of_cv", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> int:
        return _bp(v)


class Bonuses(_Strict):
    retail_profit: RetailProfit | None = None
    fast_start: FastStart | None = None
    unilevel: Unilevel | None = None
    stair_step: StairStep | None = None
    customer_acquisition: CustomerAcquisition | None = None
    customer_referral: CustomerReferral | None = None


class Plan(_Strict):
    """A whole plan: ranks in ascending order, the active rule, the bonuses, the cap."""

    name: str
    version: str
    active_min_pv: int
    customer_orders_count_as_pv: bool = True
    ranks: list[Rank]
    bonuses: Bonuses
    cap: Cap | None = None

    @field_validator("active_min_pv", mode="before")
    @classmethod
    def _volume(cls, v: Any) -> int:
        return _hundredths(v)

    def rank_index(self, name: str) -> int:
        return [r.name for r in self.ranks].index(name)


def _check(plan: Plan) -> list[tuple[str, str]]:
    """Contradictions pydantic cannot see: order of ranks, depth beyond the levels given, ..."""
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
        if rank.min_pv < plan.active_min_pv:
            problems.append((f"ranks[{i}].min_pv", "below the active minimum PV: a paid-as "
                             "rank is only held by active members"))
        uni = plan.bonuses.unilevel
        if uni is not None and rank.unilevel_depth > len(uni.rates):
            problems.append((f"ranks[{i}].unilevel_depth",
                             f"{rank.unilevel_depth} levels but bonuses.unilevel.rates gives "
                             f"only {len(uni.rates)}"))
    fs = plan.bonuses.fast_start
    if fs is not None and sum(fs.rates) > BP:
        problems.append(("bonuses.fast_start.rates", "rates add up to more than 100%"))
    uni = plan.bonuses.unilevel
    if uni is not None:
        if not uni.rates:
            problems.append(("bonuses.unilevel.rates", "give at least one level"))
        if sum(uni.rates) > BP:
            problems.append(("bonuses.unilevel.rates", "rates add up to more than 100%"))
    ss = plan.bonuses.stair_step
    if ss is not None:
        for rank_name in ss.rates:
            if rank_name not in names:
                problems.append((f"bonuses.stair_step.rates.{rank_name}", "unknown rank"))
        by_rank = [ss.rates.get(r, 0) for r in names]
        if any(b < a for a, b in pairwise(by_rank)):
            problems.append(("bonuses.stair_step.rates",
                             "rates must not fall as ranks rise (a differential pays the "
                             "difference to higher ranks)"))
        if ss.breakaway_rank is not None and ss.breakaway_rank not in names:
            problems.append(("bonuses.stair_step.breakaway_rank",
                             f"unknown rank {ss.breakaway_rank!r}"))
        if ss.generation_rates and ss.breakaway_rank is None:
            problems.append(("bonuses.stair_step.generation_rates",
                             "generations need a breakaway_rank"))
        if sum(ss.generation_rates) + max(ss.rates.values(), default=0) > BP:
            problems.append(("bonuses.stair_step", "rates add up to more than 100%"))
    if plan.cap is not None:
        for j, b in enumerate(plan.cap.bonuses):
            if b not in KNOWN_BONUSES:
                problems.append((f"cap.bonuses[{j}]", f"unknown bonus type {b!r}"))
    return problems


def parse_plan(data: dict[str, Any], source: str = "plan") -> Plan:
    """Validate plan data (as read from TOML); raises :class:`Problems` listing everything."""
    problems: list[Problem] = []
    data = dict(data)
    raw_bonuses = data.get("bonuses", {})
    if isinstance(raw_bonuses, dict):
        for key in raw_bonuses:
            if key not in KNOWN_BONUSES:
                problems.append(Problem(f"{source}: bonuses.{key}",
                                        f"unknown bonus type (known: {', '.join(KNOWN_BONUSES)})"))
        data["bonuses"] = {k: v for k, v in raw_bonuses.items() if k in KNOWN_BONUSES}
    active = data.pop("active", None)
    if isinstance(active, dict):
        data["active_min_pv"] = active.get("min_pv")
        data["customer_orders_count_as_pv"] = active.get("customer_orders_count_as_pv", True)
    meta = data.pop("plan", None)
    if isinstance(meta, dict):
        data.update({k: v for k, v in meta.items() if k in ("name", "version")})
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = key_path(tuple(err["loc"]))
            loc = {"active_min_pv": "active.min_pv", "name": "plan.name",
                   "version": "plan.version"}.get(loc, loc)
            message = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(f"{source}: {loc}", message))
        raise Problems(f"{source}: the plan is not valid", problems) from None
    problems += [Problem(f"{source}: {p}", r) for p, r in _check(plan)]
    if problems:
        raise Problems(f"{source}: the plan is not valid", problems)
    return plan


def load_plan(path: Path) -> Plan:
    """Read and validate a plan file."""
    return parse_plan(read_toml(path, "plan file"), str(path))


def default_plan_path() -> Path:
    return Path(__file__).parent.parent / "plans" / "example.toml"
