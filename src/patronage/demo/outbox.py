"""The demo's text and print-and-mail services: the demo texts and mails nothing.

The demo delivers its texts, and in its last week its cards, through the same outbox as a
company with an SMS provider and a print-and-mail service (:mod:`patronage.care.dispatch`:
consent, suppression, lateness and templates checked and rendered as for real), with the
``file`` adapters writing what would be sent to a folder (``texts.jsonl``, ``cards.jsonl``);
without a folder, the adapters below keep it in memory. Either way each text and card is
recorded with the provider's reference, as the staff Care page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from patronage.care.channels import post, sms
from patronage.care.channels.sms import Accepted


@dataclass
class KeptTexts:
    """Texts kept in memory (``provider`` ``demo``), delivered at once."""

    name: str = "demo"
    texts: list[sms.Text] = field(default_factory=list)

    def send(self, text: sms.Text) -> Accepted:
        self.texts.append(text)
        return Accepted(self.name, f"text-{text.touch_id}", "delivered")


@dataclass
class KeptCards:
    """Cards kept in memory (``provider`` ``demo``)."""

    name: str = "demo"
    cards: list[post.MailedCard] = field(default_factory=list)

    def send(self, card: post.MailedCard) -> Accepted:
        self.cards.append(card)
        return Accepted(self.name, f"card-{card.touch_id}", "sent")


def demo_senders(folder: Path | None, now: datetime
                 ) -> tuple[sms.TextSender, post.PostSender]:
    """The ``file`` adapters writing to ``folder``, else adapters that keep what they get."""
    if folder is None:
        return KeptTexts(), KeptCards()
    return sms.FileSender(folder, now=now), post.FileSender(folder, now=now)
