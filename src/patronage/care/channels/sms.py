"""Texts: the adapters that hand a care text to an SMS provider, and its status callbacks.

:class:`TextSender` is what the outbox needs of a provider: send one text, get the provider's
reference for it, or a :class:`~patronage.care.channels.email.SendFailed` that says whether
trying again can help. Two adapters:

- :class:`TwilioSender`, Twilio's Messages API: ``POST /2010-04-01/Accounts/{sid}/Messages.json``
  with the form fields ``To``, ``From`` (or ``MessagingServiceSid`` for a messaging service,
  ``MG...``), ``Body`` and ``StatusCallback``, HTTP basic auth with
  the account sid and auth token. A 4xx answer is lasting (the number is not valid, not a
  mobile, or opted out: Twilio's error codes 21211, 21614, 21610), except 429 (too many
  requests); a 5xx or a connection that fails is tried again later.
- :class:`FileSender` writes each text as one JSON line to ``texts.jsonl`` in a folder: for a
  trial run and the demo, which send nothing.

Twilio signs its callbacks (``X-Twilio-Signature``): base64 of HMAC-SHA1, keyed with the auth
token, of the full callback address followed by each form field's name and value, sorted by
name (:func:`twilio_signature`). The secrets are never written into an error or a log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import httpx

from patronage.care.channels.email import SendFailed

#: A phone number in E.164: ``+``, a country code, at most 15 digits in all.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
#: Twilio's error codes that say the number will never take a text from us: not a valid
#: number (21211), not a mobile (21614), the recipient replied STOP (21610); and, in a status
#: callback, unknown destination (30005) and landline or unreachable carrier (30006).
NUMBER_GONE = frozenset({"21211", "21614", "21610", "30005", "30006"})


class TextFailed(SendFailed):
    """A text the provider refused; ``number_gone`` when the number must not be texted again
    (it is suppressed)."""

    def __init__(self, reason: str, *, lasting: bool, number_gone: bool = False,
                 code: str = "") -> None:
        super().__init__(reason, lasting=lasting)
        self.number_gone = number_gone
        self.code = code


@dataclass(frozen=True)
class Text:
    """One text for one touch."""

    touch_id: int
    to: str
    body: str


@dataclass(frozen=True)
class Accepted:
    """The provider took a message: its name, its reference for it, the status it reported."""

    provider: str
    ref: str
    status: str = "sent"


class TextSender(Protocol):
    name: str

    def send(self, text: Text) -> Accepted: ...


def is_e164(number: str) -> bool:
    return E164.fullmatch(number) is not None


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """Twilio's signature of a callback: base64(HMAC-SHA1(token, url + sorted name+value))."""
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_signature_valid(url: str, params: Mapping[str, str], signature: str | None,
                           auth_token: str) -> bool:
    if not auth_token or not signature:
        return False
    return hmac.compare_digest(twilio_signature(url, params, auth_token), signature.strip())


def _reason(answer: httpx.Response) -> tuple[str, str]:
    """The provider's error code and message from an error answer (never the request)."""
    try:
        data = answer.json()
    except ValueError:
        return "", answer.text[:200]
    if not isinstance(data, dict):
        return "", str(data)[:200]
    error = data.get("error")
    found: dict[str, object] = error if isinstance(error, dict) else data
    return str(found.get("code") or ""), str(found.get("message") or "")[:300]


class TwilioSender:
    """Texts through Twilio's Messages API (see the module's description)."""

    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str,
                 base_url: str = "https://api.twilio.com", status_callback: str | None = None,
                 timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        self.account_sid = account_sid
        self._auth = (account_sid, auth_token)
        self.from_number = from_number
        self.base_url = base_url.rstrip("/")
        self.status_callback = status_callback
        self._client = client or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"TwilioSender(account_sid={self.account_sid!r}, from={self.from_number!r})"

    def close(self) -> None:
        self._client.close()

    def send(self, text: Text) -> Accepted:
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        sender = "MessagingServiceSid" if self.from_number.startswith("MG") else "From"
        form = {"To": text.to, sender: self.from_number, "Body": text.body}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        try:
            answer = self._client.post(url, data=form, auth=self._auth)
        except httpx.HTTPError as exc:
            raise TextFailed(f"SMS provider unavailable: {type(exc).__name__}",
                             lasting=False) from None
        if answer.status_code >= 400:
            code, message = _reason(answer)
            lasting = 400 <= answer.status_code < 500 and answer.status_code != 429
            label = f" {code}" if code else ""
            raise TextFailed(f"SMS provider refused ({answer.status_code}{label}): {message}",
                             lasting=lasting, number_gone=code in NUMBER_GONE, code=code)
        try:
            data = answer.json()
            return Accepted(self.name, str(data["sid"]), str(data.get("status") or "queued"))
        except (ValueError, KeyError, TypeError):
            raise TextFailed(f"SMS provider answered {answer.status_code} without a message "
                             "sid", lasting=False) from None


class FileSender:
    """Texts written to ``texts.jsonl`` in a folder instead of being sent."""

    name = "file"

    def __init__(self, folder: Path, *, now: datetime) -> None:
        self.folder = Path(folder)
        self.now = now

    def send(self, text: Text) -> Accepted:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.folder / "texts.jsonl", "a", encoding="utf-8") as out:
                out.write(json.dumps({"touch": text.touch_id, "to": text.to, "body": text.body,
                                      "at": self.now.isoformat()}, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise TextFailed(f"texts file: {exc}", lasting=False) from None
        return Accepted(self.name, f"text-{text.touch_id}", "delivered")
