"""Which payment gateway charges cards, and the keys it needs: passed in by the composition roots
(from :class:`patronage.config.Settings`), never read from the environment here.

Secrets stay out of logs and pages: :class:`StripeKeys` shows no key in its ``repr`` or ``str``,
and nothing here logs one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from patronage.errors import PatronageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from patronage.autoship.gateway import PaymentGateway

GATEWAYS = ("simulated", "stripe")


def _masked(value: str) -> str:
    return "''" if not value else "'…'"


@dataclass(frozen=True)
class StripeKeys:
    """Stripe's secret API key, the webhook endpoint's signing secret, the publishable key (for
    the page's Stripe Elements) and, for tests and proxies only, another API address."""

    secret_key: str = field(repr=False)
    webhook_secret: str = field(default="", repr=False)
    publishable_key: str = ""
    api_base: str = ""

    def __repr__(self) -> str:
        return (f"StripeKeys(secret_key={_masked(self.secret_key)}, "
                f"webhook_secret={_masked(self.webhook_secret)}, "
                f"publishable_key={self.publishable_key!r}, api_base={self.api_base!r})")

    __str__ = __repr__


@dataclass(frozen=True)
class PaymentSettings:
    """``gateway``: ``simulated`` (the default: the demo's deterministic stand-in) or
    ``stripe`` (then ``stripe`` holds its keys)."""

    gateway: str = "simulated"
    stripe: StripeKeys | None = None

    def __post_init__(self) -> None:
        if self.gateway not in GATEWAYS:
            raise PatronageError(f"PATRONAGE_PAYMENT_GATEWAY: {self.gateway!r} is not one of "
                                 f"{', '.join(GATEWAYS)}")
        if self.gateway == "stripe" and (self.stripe is None or not self.stripe.secret_key):
            raise PatronageError("PATRONAGE_STRIPE_SECRET_KEY: the stripe gateway needs "
                                 "Stripe's secret API key (sk_live_… or sk_test_…)")


def make_gateway(engine: Engine, settings: PaymentSettings, *, decline_rate: float = 0.05,
                 seed: int = 0) -> PaymentGateway:
    """The gateway the settings select (the simulated one takes ``decline_rate`` and
    ``seed``)."""
    if settings.gateway == "stripe":
        from patronage.payments.stripe_gateway import StripeGateway

        assert settings.stripe is not None
        return StripeGateway(engine, settings.stripe)
    from patronage.autoship.gateway import SimulatedGateway

    return SimulatedGateway(engine, decline_rate, seed)
