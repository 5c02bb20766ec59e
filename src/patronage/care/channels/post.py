"""Cards mailed by a print-and-mail service, instead of batched for printing.

:class:`PostSender` is what the outbox needs of the service: mail one card, get its reference.
Two adapters:

- :class:`LobSender`, Lob's API: ``POST /v1/postcards`` (the greeting on the front, the message
  on the back) or ``POST /v1/letters`` (one page), JSON, HTTP basic auth with the API key. Each
  request carries ``Idempotency-Key: care-touch-<id>``: a retry of a card whose answer was lost
  gets the first card's answer back, so a card is never mailed twice. A 4xx answer (an address
  Lob cannot mail to) is lasting, but 429; a 5xx or a failed connection is tried again later.
- :class:`FileSender` writes each card as one JSON line to ``cards.jsonl`` in a folder: for a
  trial run and the demo, which mail nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, Protocol

import httpx

from patronage.care.channels.email import SendFailed
from patronage.care.channels.sms import Accepted
from patronage.care.content import CardContent


@dataclass(frozen=True)
class Recipient:
    name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str | None
    country: str


@dataclass(frozen=True)
class MailedCard:
    touch_id: int
    to: Recipient
    content: CardContent

    @property
    def idempotency_key(self) -> str:
        return f"care-touch-{self.touch_id}"


class PostSender(Protocol):
    name: str

    def send(self, card: MailedCard) -> Accepted: ...


def _html(text: str, size: int) -> str:
    lines = "<br>".join(escape(line) for line in text.splitlines())
    return (f'<html><body style="font-family: serif; font-size: {size}pt; padding: 0.4in">'
            f"{lines}</body></html>")


def card_html(content: CardContent) -> tuple[str, str]:
    """The card's front and back as HTML, every text escaped."""
    return _html(content.front, 28), _html(content.inside, 14)


def letter_html(content: CardContent) -> str:
    """The card as a one-page letter: the greeting, then the message, every text escaped."""
    inside = "<br>".join(escape(line) for line in content.inside.splitlines())
    return ('<html><body style="font-family: serif; padding: 1in">'
            f'<p style="font-size: 24pt">{escape(content.front)}</p>'
            f'<p style="font-size: 13pt">{inside}</p></body></html>')


class LobSender:
    """Cards through Lob's print-and-mail API (see the module's description)."""

    name = "lob"

    def __init__(self, *, api_key: str, base_url: str = "https://api.lob.com",
                 kind: str = "postcard", from_address: str = "", timeout: float = 20.0,
                 client: httpx.Client | None = None) -> None:
        if kind not in ("postcard", "letter"):
            raise ValueError(f"kind: {kind!r} is not postcard or letter")
        self._auth = (api_key, "")
        self.base_url = base_url.rstrip("/")
        self.kind = kind
        self.from_address = from_address
        self._client = client or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"LobSender(kind={self.kind!r})"

    def close(self) -> None:
        self._client.close()

    def _body(self, card: MailedCard) -> dict[str, Any]:
        to = card.to
        address = {"name": to.name, "address_line1": to.line1, "address_city": to.city,
                   "address_country": to.country}
        for key, value in (("address_line2", to.line2), ("address_state", to.region),
                           ("address_zip", to.postal_code)):
            if value:
                address[key] = value
        body: dict[str, Any] = {"description": f"care touch {card.touch_id}", "to": address,
                                "use_type": "marketing",
                                "metadata": {"touch": str(card.touch_id)}}
        if self.from_address:
            body["from"] = self.from_address
        if self.kind == "postcard":
            front, back = card_html(card.content)
            body.update(front=front, back=back)
        else:
            body.update(file=letter_html(card.content), color=False)
        return body

    def send(self, card: MailedCard) -> Accepted:
        url = f"{self.base_url}/v1/{self.kind}s"
        try:
            answer = self._client.post(url, json=self._body(card), auth=self._auth,
                                       headers={"Idempotency-Key": card.idempotency_key})
        except httpx.HTTPError as exc:
            raise SendFailed(f"print-and-mail service unavailable: {type(exc).__name__}",
                             lasting=False) from None
        try:
            data = answer.json()
        except ValueError:
            data = {}
        if answer.status_code >= 400:
            error = data.get("error") if isinstance(data, dict) else None
            message = str(error.get("message", "")) if isinstance(error, dict) else \
                answer.text[:200]
            lasting = 400 <= answer.status_code < 500 and answer.status_code != 429
            raise SendFailed(f"print-and-mail service refused ({answer.status_code}): "
                             f"{message}"[:500], lasting=lasting)
        if not isinstance(data, dict) or not data.get("id"):
            raise SendFailed(f"print-and-mail service answered {answer.status_code} without "
                             "an id", lasting=False)
        return Accepted(self.name, str(data["id"]), "sent")


class FileSender:
    """Cards written to ``cards.jsonl`` in a folder instead of being mailed."""

    name = "file"

    def __init__(self, folder: Path, *, now: datetime) -> None:
        self.folder = Path(folder)
        self.now = now

    def send(self, card: MailedCard) -> Accepted:
        to = card.to
        city = " ".join(p for p in (to.city, to.region, to.postal_code) if p)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.folder / "cards.jsonl", "a", encoding="utf-8") as out:
                out.write(json.dumps({
                    "touch": card.touch_id, "at": self.now.isoformat(),
                    "to": [line for line in (to.name, to.line1, to.line2, city, to.country)
                           if line],
                    "front": card.content.front, "inside": card.content.inside,
                }, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise SendFailed(f"cards file: {exc}", lasting=False) from None
        return Accepted(self.name, f"card-{card.touch_id}", "sent")
