"""The daily credit expiry: product credit unspent after the company's number of days
(``credit_expiry_days``) expires. Run by ``patronage credit expire`` and by the daily jobs;
running it again the same day expires nothing twice (one entry per member, currency and
day)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from patronage.credit.ledger import expire


def expire_credit(engine: Engine, now: datetime, days: int) -> int:
    """Expire unspent credit older than ``days`` (the company's ``credit_expiry_days``
    setting, passed by the caller) as of ``now``. Returns the total expired (minor units, all
    currencies)."""
    return expire(engine, now, days)
