"""Suppressions keep a keyed hash (HMAC-SHA256) of the address, never a plain SHA-256 that a
list of emails or every phone number could reverse; older unkeyed rows are still honoured, by
the services and by the care tick's loader; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import numpy as np
from sqlalchemy import Engine, select

from patronage.care.core.rules import load_rules
from patronage.care.facts_loader import load_care_facts
from patronage.config import Settings, get_settings
from patronage.db.engine import transaction
from patronage.db.tables import Suppression
from patronage.network.members import erase_member, is_suppressed, suppress
from tests.factories import T0, customer, distributor

LATER = T0 + timedelta(days=30)


def test_the_stored_digest_is_keyed_not_plain_sha256(engine: Engine) -> None:
    with transaction(engine) as s:
        d = distributor(s)
        c = customer(s, d, email="Sally@Example.com", phone="+12125550001")
        erase_member(s, c, at=LATER, actor="privacy officer")
    key = get_settings().suppression_secret()
    with transaction(engine) as s:
        digests = set(s.scalars(select(Suppression.address_hash)))
        plain = hashlib.sha256(b"sally@example.com").hexdigest()
        keyed = hmac.new(key, b"sally@example.com", hashlib.sha256).hexdigest()
        assert plain not in digests and keyed in digests
        assert hashlib.sha256(b"+12125550001").hexdigest() not in digests
        assert is_suppressed(s, "email", " SALLY@example.com")
        assert not is_suppressed(s, "email", "sally@example.com", key=b"another key")


def test_an_old_unkeyed_suppression_is_still_honoured(engine: Engine) -> None:
    with transaction(engine) as s:
        s.add(Suppression(channel="email", reason="legacy", at=T0,
                          address_hash=hashlib.sha256(b"old@example.com").hexdigest()))
    with transaction(engine) as s:
        assert is_suppressed(s, "email", "Old@Example.com")
        suppress(s, "email", "old@example.com", reason="again", at=LATER)  # no duplicate
    with transaction(engine) as s:
        assert len(s.scalars(select(Suppression)).all()) == 1


def test_the_care_loader_honours_keyed_and_legacy_suppressions(engine: Engine) -> None:
    with transaction(engine) as s:
        d = distributor(s)
        legacy = customer(s, d, "Lea", email="lea@example.com")
        keyed = customer(s, d, "Kay", email="kay@example.com")
        free = customer(s, d, "Fay", email="fay@example.com")
        s.add(Suppression(channel="email", reason="legacy", at=T0,
                          address_hash=hashlib.sha256(b"lea@example.com").hexdigest()))
        suppress(s, "email", "kay@example.com", reason="unsubscribed", at=T0)
    with engine.connect() as conn:
        loaded = load_care_facts(conn, LATER, load_rules())
    f = loaded.facts
    ids = list(np.asarray(f.member_id))
    email = np.asarray(f.suppressed["email"])
    assert bool(email[ids.index(legacy)]) and bool(email[ids.index(keyed)])
    assert not bool(email[ids.index(free)])


def test_the_suppression_key_defaults_to_the_secret_key() -> None:
    assert Settings(secret_key="s" * 20).suppression_secret() == b"s" * 20
    assert Settings(secret_key="s" * 20, suppression_key="k" * 20).suppression_secret() == \
        b"k" * 20
