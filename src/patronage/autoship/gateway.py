"""The payment gateway interface, and a deterministic simulated gateway.

A real payment service's adapter implements :class:`PaymentGateway`. The contract that keeps
autoship from ever charging twice: ``charge`` is idempotent by ``key`` — asked again with a key it
has seen, it must return the first answer and move no money. Every autoship charge key is
``autoship:<subscription>:<cycle date>:<attempt>``.

The daily run asks for a whole batch at once through :func:`charge_all`: an adapter that also
implements ``charge_many`` (:class:`BatchPaymentGateway`) answers the batch in one call; any other
is asked one charge at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from patronage.db.autoship import SimulatedCharge
from patronage.db.bulk import insert_ignore, rows_matching

DECLINE_KINDS = ("insufficient_funds", "expired_card", "do_not_honor")


@dataclass(frozen=True)
class ChargeResult:
    approved: bool
    decline: str | None = None


@dataclass(frozen=True)
class ChargeRequest:
    key: str
    member_id: int
    amount: int
    currency: str


class PaymentGateway(Protocol):
    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        """Charge the member's card on file; idempotent by ``key``."""
        ...


@runtime_checkable
class BatchPaymentGateway(Protocol):
    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        """Charge every request, answers in the same order; idempotent by each ``key``."""
        ...


def charge_all(gateway: PaymentGateway, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
    """Ask ``gateway`` for a batch of charges, in one call where it can take a batch."""
    if isinstance(gateway, BatchPaymentGateway):
        return gateway.charge_many(requests)
    return [gateway.charge(r.key, r.member_id, r.amount, r.currency) for r in requests]


class SimulatedGateway:
    """Approves or declines by a seeded hash of the key (so the same run gives the same answers),
    at ``decline_rate``; keeps its own ledger in the store, so a repeated key never charges twice,
    even across processes."""

    def __init__(self, engine: Engine, decline_rate: float = 0.05, seed: int = 0,
                 decline_kinds: tuple[str, ...] = DECLINE_KINDS) -> None:
        self.engine, self.decline_rate, self.seed = engine, decline_rate, seed
        self.decline_kinds = decline_kinds

    def _decide(self, key: str) -> ChargeResult:
        """One digest of (seed, key): its first eight bytes decide approval, the next eight
        the kind of decline."""
        digest = hashlib.sha256(f"{self.seed}|{key}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.decline_rate:
            return ChargeResult(True)
        kind = int(int.from_bytes(digest[8:16], "big") / 2**64 * len(self.decline_kinds))
        return ChargeResult(False, self.decline_kinds[kind])

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        """The batch: new keys are written to the ledger, and every answer is read back from it,
        so a key seen before keeps its first answer."""
        if not requests:
            return []
        decided = [self._decide(r.key) for r in requests]
        with self.engine.begin() as conn:
            new = insert_ignore(conn, "simulated_charges", {
                "key": [r.key for r in requests],
                "amount": [r.amount for r in requests],
                "approved": [d.approved for d in decided],
                "decline": [d.decline for d in decided],
            })
            if new == len(requests):
                return decided  # every key is new: the ledger holds exactly these answers
            stored = {key: ChargeResult(bool(ok), decline) for key, ok, decline in rows_matching(
                conn, "simulated_charges", "key", [r.key for r in requests],
                ("key", "approved", "decline"))}
        return [stored[r.key] for r in requests]

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        """One charge: the answer is inserted unless the key is in the ledger already (one
        statement, on PostgreSQL outside a transaction; a concurrent twin waits for the first
        and keeps nothing), and only then the first answer is read back."""
        answer = self._decide(key)
        postgresql = self.engine.dialect.name == "postgresql"
        with (self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
              if postgresql else self.engine.begin()) as conn:
            insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
            new = conn.execute(insert(SimulatedCharge).values(
                key=key, amount=amount, approved=answer.approved, decline=answer.decline)
                .on_conflict_do_nothing(index_elements=[SimulatedCharge.key])
                .returning(SimulatedCharge.id)).first()
            if new is not None:
                return answer
            seen = conn.execute(select(SimulatedCharge.approved, SimulatedCharge.decline)
                                .where(SimulatedCharge.key == key)).one()
        return ChargeResult(bool(seen.approved), seen.decline)
