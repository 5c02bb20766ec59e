"""Encryption at rest of payout methods and tax ids (Fernet: AES-128-CBC with HMAC-SHA256).

A :class:`Vault` is made from the keys in the setting ``PATRONAGE_PAYOUT_KEYS`` (passed in):
the first key encrypts, every key decrypts (``MultiFernet``). To rotate, put a new key first,
keep the old one after it, run ``patronage payout-methods rotate-key`` (which re-encrypts every
record with the new key), then remove the old key. Without keys, one is derived from the secret
key with HKDF-SHA256: fine for the demo, but then changing the secret key makes the records
unreadable, so a company sets its own keys before storing real accounts.

Each record's plain text names the member it belongs to, and decrypting checks it, so a token
copied onto another member's row is refused rather than paying the wrong person.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from patronage.errors import PatronageError


class SecretError(PatronageError):
    """A record cannot be decrypted (wrong keys) or is not the member's."""

    code = "secret"


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from the secret key (HKDF-SHA256, fixed context)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"patronage",
               info=b"patronage payout secrets v1").derive(secret_key.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


def generate_key() -> str:
    """A new random key for ``PATRONAGE_PAYOUT_KEYS``."""
    return Fernet.generate_key().decode("ascii")


class Vault:
    """Encrypts and decrypts member records with the company's payout keys."""

    def __init__(self, keys: str, *, secret_key: str = "") -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        fernets: list[Fernet] = []
        for n, key in enumerate(parts, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError) as exc:
                raise SecretError(f"PATRONAGE_PAYOUT_KEYS: key {n} is not a Fernet key (32 "
                                  "url-safe base64 bytes; make one with `patronage "
                                  "payout-methods new-key`)") from exc
        if not fernets:
            if not secret_key:
                raise SecretError("PATRONAGE_PAYOUT_KEYS: no key to encrypt payout records with")
            fernets.append(Fernet(derived_key(secret_key)))
        self._fernet = MultiFernet(fernets)

    def seal(self, member_id: int, fields: Mapping[str, Any]) -> str:
        """The encrypted token of ``fields`` for ``member_id``."""
        plain = json.dumps({"member_id": member_id, **fields}, sort_keys=True)
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, member_id: int, token: str) -> dict[str, Any]:
        """The fields sealed for ``member_id`` (refused when the keys do not open it or it was
        sealed for someone else)."""
        try:
            data = json.loads(self._fernet.decrypt(token.encode("ascii")))
        except InvalidToken as exc:
            raise SecretError(f"member {member_id}: the payout record cannot be decrypted with "
                              "the keys in PATRONAGE_PAYOUT_KEYS") from exc
        if not isinstance(data, dict) or data.pop("member_id", None) != member_id:
            raise SecretError(f"member {member_id}: the payout record belongs to another member")
        return data

    def rotate(self, token: str) -> str:
        """The token re-encrypted with the first key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise SecretError("a payout record cannot be decrypted with the keys in "
                              "PATRONAGE_PAYOUT_KEYS") from exc
