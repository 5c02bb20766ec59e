"""The payment gateway interface, and a deterministic simulated gateway.

A real payment service's adapter implements :class:`PaymentGateway`. The contract that keeps
autoship from ever charging twice: ``charge`` is idempotent by ``key`` — asked again with a key it
has seen, it must return the first answer and move no money. Every autoship charge key is
``autoship:<subscription>:<cycle date>:<attempt>``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from patronage.db.autoship import SimulatedCharge
from patronage.db.engine import transaction

DECLINE_KINDS = ("insufficient_funds", "expired_card", "do_not_honor")


@dataclass(frozen=True)
class ChargeResult:
    approved: bool
    decline: str | None = None


class PaymentGateway(Protocol):
    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        """Charge the member's card on file; idempotent by ``key``."""
        ...


def _fraction(*parts: object) -> float:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class SimulatedGateway:
    """Approves or declines by a seeded hash of the key (so the same run gives the same answers),
    at ``decline_rate``; keeps its own ledger in the store, so a repeated key never charges twice,
    even across processes."""

    def __init__(self, engine: Engine, decline_rate: float = 0.05, seed: int = 0,
                 decline_kinds: tuple[str, ...] = DECLINE_KINDS) -> None:
        self.engine, self.decline_rate, self.seed = engine, decline_rate, seed
        self.decline_kinds = decline_kinds

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        with transaction(self.engine) as s:
            seen = s.scalar(select(SimulatedCharge).where(SimulatedCharge.key == key))
            if seen is not None:
                return ChargeResult(seen.approved, seen.decline)
        declined = _fraction(self.seed, key) < self.decline_rate
        decline = (self.decline_kinds[int(_fraction("kind", self.seed, key)
                                          * len(self.decline_kinds))] if declined else None)
        try:
            with transaction(self.engine) as s:
                s.add(SimulatedCharge(key=key, amount=amount, approved=not declined,
                                      decline=decline))
        except IntegrityError:
            with transaction(self.engine) as s:
                seen = s.scalar(select(SimulatedCharge).where(SimulatedCharge.key == key))
                assert seen is not None
                return ChargeResult(seen.approved, seen.decline)
        return ChargeResult(not declined, decline)
