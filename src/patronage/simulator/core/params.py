"""The simulator's assumptions, each a parameter with a stated default and its source.

Money is in minor units of the plan currency, volumes in hundredths of a point, rates per
month. docs/simulator.md explains every default and where it comes from; the company's own
fitted customer models replace the priors when it has history (:class:`Models`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from patronage.errors import Problem, Problems

#: sBG prior for monthly autoship (θ ~ Beta(1, 3)), the value module's own prior.
SBG_PRIOR = {"alpha": 1.0, "beta": 3.0}
#: BG/NBD prior: the published CDNOW fit (Fader, Hardie & Lee 2005), time in weeks.
BGNBD_PRIOR = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
#: Gamma-Gamma prior: CDNOW shapes, γ set for a mean order of 45.00 (p·γ/(q−1)).
GAMMA_GAMMA_PRIOR = {"p": 6.25, "q": 3.74, "gamma": 4500 * (3.74 - 1) / 6.25}
WEEKS_PER_MONTH = 365.25 / 12 / 7


@dataclass(frozen=True)
class Models:
    """The customer models: sBG for autoship survival (months), BG/NBD for occasional buyers
    (weeks, as the value module fits it), Gamma-Gamma for their order sizes (minor units).
    ``source`` says where each came from ("prior" or "fitted run N")."""

    sbg: dict[str, float]
    bgnbd: dict[str, float]
    gamma_gamma: dict[str, float]
    source: dict[str, str]

    @classmethod
    def priors(cls) -> Models:
        return cls(dict(SBG_PRIOR), dict(BGNBD_PRIOR), dict(GAMMA_GAMMA_PRIOR),
                   {"sbg": "prior", "bgnbd": "prior", "gamma_gamma": "prior"})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self) -> list[Problem]:
        out = []
        for name, keys in (("sbg", ("alpha", "beta")), ("bgnbd", ("r", "alpha", "a", "b")),
                           ("gamma_gamma", ("p", "q", "gamma"))):
            values = getattr(self, name)
            for k in keys:
                v = values.get(k)
                if not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                    out.append(Problem(f"models.{name}.{k}", f"must be a positive number, "
                                                             f"got {v!r}"))
        return out


@dataclass(frozen=True)
class Params:
    """Every assumption of the simulation (see docs/simulator.md for each source)."""

    #: People who could ever join (distributors or customers); 0 means no limit.
    market: int = 5_000_000
    #: Distributors at month 0 (the founders, roots of the tree).
    founders: int = 100
    #: New distributors an active distributor brings a month in an untouched market.
    recruits_per_distributor: float = 0.15
    #: New customers a distributor brings a month in an untouched market.
    customers_per_distributor: float = 0.35
    #: New customers an existing customer refers a month in an untouched market.
    referrals_per_customer: float = 0.02
    #: Preferential attachment: a distributor's pull grows by this much per recruit so far.
    attachment: float = 1.0
    #: Share of new customers who subscribe to autoship (the rest buy now and then).
    autoship_share: float = 0.45
    #: Scales the customers' fitted churn (1: as the models say; 0: no customer leaves).
    churn_scale: float = 1.0
    #: Customers who become distributors, a month.
    upgrade_rate: float = 0.008
    #: Monthly drop-out of distributors in their first year (half leave within it: a round
    #: assumption, see docs/simulator.md for the source) and afterwards (a quarter a year).
    first_year_dropout: float = 0.056
    later_dropout: float = 0.024
    #: Share of new distributors who buy an enrollment pack, its price and QV (no CV).
    pack_share: float = 0.6
    pack_price: int = 14_900
    pack_qv: int = 10_000
    #: Share of distributors who order for themselves in a month, and that order's amount.
    own_order_share: float = 0.65
    own_order: int = 6_000
    #: An autoship customer's monthly order.
    autoship_order: int = 6_500
    #: QV and CV per minor unit paid (the example catalog: a 65.00 shake carries 45 QV, 40 CV).
    qv_per_unit: float = 0.69
    cv_per_unit: float = 0.62
    #: Wholesale price as a share of the retail price (retail customers pay retail).
    wholesale_ratio: float = 0.75
    #: Share of orders refunded (in the month they were placed).
    refund_rate: float = 0.03
    #: What a distributor spends a month to run the business, besides their own orders.
    monthly_expenses: int = 5_000
    #: The compliance threshold: least share of a team's volume bought by customers.
    min_customer_share: float = 0.5

    def check(self) -> list[Problem]:
        """Every value out of its range, each named."""
        out: list[Problem] = []
        rates = ("recruits_per_distributor", "customers_per_distributor",
                 "referrals_per_customer", "attachment")
        shares = ("autoship_share", "upgrade_rate", "first_year_dropout", "later_dropout",
                  "pack_share", "own_order_share", "wholesale_ratio", "refund_rate",
                  "min_customer_share", "churn_scale")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "int" and (isinstance(v, bool) or not isinstance(v, int)):
                out.append(Problem(f"params.{f.name}", f"must be a whole number, got {v!r}"))
            elif not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
                out.append(Problem(f"params.{f.name}", f"must be a number, got {v!r}"))
            elif f.name in shares and not 0 <= v <= 1:
                out.append(Problem(f"params.{f.name}", f"must be between 0 and 1, got {v}"))
            elif f.name in rates and not 0 <= v <= 50:
                out.append(Problem(f"params.{f.name}", f"must be between 0 and 50, got {v}"))
            elif v < 0:
                out.append(Problem(f"params.{f.name}", f"must not be negative, got {v}"))
        if not out and self.founders < 1:
            out.append(Problem("params.founders", "at least one founder is needed"))
        if not out and self.market and self.founders > self.market:
            out.append(Problem("params.founders", f"{self.founders} founders do not fit in a "
                                                  f"market of {self.market}"))
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_values(self, values: dict[str, Any]) -> Params:
        """These parameters with ``values`` replacing some; unknown names are refused."""
        known = {f.name for f in fields(self)}
        bad = [Problem(f"params.{k}", f"unknown parameter (known: {', '.join(sorted(known))})")
               for k in values if k not in known]
        if bad:
            raise Problems("the simulation parameters are not valid", bad)
        return replace(self, **values)


def checked(params: Params, models: Models, months: int) -> None:
    """Refuse parameters, models or a horizon out of range, naming every problem."""
    problems = params.check() + models.check()
    if not 1 <= months <= 240:
        problems.append(Problem("months", f"must be between 1 and 240, got {months}"))
    if problems:
        raise Problems("the simulation cannot run", problems)
