"""Bounces and complaints read from a mailbox (a Maildir folder) suppress the address.

The bounce address of care emails can be delivered to a Maildir folder; ``patronage care
bounces --maildir PATH`` (and the worker, given ``PATRONAGE_BOUNCES_MAILDIR``) reads the new
messages in it (``new/``):

- a delivery status notification (RFC 3464: ``multipart/report; report-type=delivery-status``)
  whose recipient has ``Action: failed`` and a permanent status (``5.x.x``) is a *hard bounce*:
  the recipient's address (``Final-Recipient``, else ``Original-Recipient``) is suppressed for
  email; a delayed or temporary failure (``4.x.x``) is a soft bounce and changes nothing;
- a complaint (an abuse report in the Abuse Reporting Format, RFC 5965:
  ``multipart/report; report-type=feedback-report`` with ``Feedback-Type: abuse``) suppresses
  the address it is about (``Original-Rcpt-To``, else the ``To`` of the returned message);
- anything else (an out-of-office reply, a person writing back) is left as it is, counted.

Each message is recorded in its own transaction, then moved to ``cur/`` and marked seen
(``:2,S``), the Maildir way of saying it was read: reading the folder again reads only what
came since. A message whose move was interrupted is read again, and suppressing a suppressed
address changes nothing, so nothing happens twice.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_binary_file
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses
from pathlib import Path

from sqlalchemy import Engine

from patronage.db.engine import transaction
from patronage.errors import PatronageError
from patronage.network.intake import email_problem
from patronage.network.members import is_suppressed, suppress

PERMANENT = re.compile(r"5\.\d{1,3}\.\d{1,3}")


@dataclass(frozen=True)
class Finding:
    """What one message says: ``hard bounce``, ``soft bounce``, ``complaint`` or ``other``,
    and the addresses it is about."""

    kind: str
    addresses: tuple[str, ...] = ()


@dataclass
class MailboxReport:
    suppressed: list[str] = field(default_factory=list)
    already: int = 0
    soft: int = 0
    other: list[str] = field(default_factory=list)
    #: messages read (moved to ``cur/``)
    read: int = 0


def _address(value: str | None) -> str | None:
    """``rfc822; sally@example.com`` (or a plain address) as the address, or None."""
    if not value:
        return None
    text = str(value).strip()
    if ";" in text:
        kind, _, text = text.partition(";")
        if kind.strip().lower() not in ("rfc822", ""):
            return None
    found = [addr for _, addr in getaddresses([text.strip()]) if addr]
    if not found or email_problem(found[0]) is not None:
        return None
    return found[0].strip()


def _report_parts(msg: Message, content_type: str) -> list[Message]:
    return [part for part in msg.walk() if part.get_content_type() == content_type]


def _fields(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` or ``message/feedback-report`` part
    (the email package reads each block as a message)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    if isinstance(payload, str):  # a part the parser left as text
        from email import message_from_string

        return [message_from_string(block + "\n", policy=compat32)
                for block in re.split(r"\r?\n\r?\n", payload.strip()) if block.strip()]
    return []


def read_message(msg: Message) -> Finding:
    """What a bounce or complaint message says (see the module's description)."""
    report_type = (msg.get_param("report-type") or "") if msg.get_content_type() == \
        "multipart/report" else ""
    report_type = str(report_type).lower()
    if report_type == "delivery-status":
        hard: list[str] = []
        soft = False
        for part in _report_parts(msg, "message/delivery-status"):
            for block in _fields(part)[1:] or _fields(part):
                action = str(block.get("Action", "")).strip().lower()
                status = str(block.get("Status", "")).strip()
                address = _address(block.get("Final-Recipient")) or \
                    _address(block.get("Original-Recipient"))
                if address is None or not action:
                    continue
                if action == "failed" and PERMANENT.match(status):
                    hard.append(address)
                elif action in ("failed", "delayed"):
                    soft = True
        if hard:
            return Finding("hard bounce", tuple(dict.fromkeys(hard)))
        return Finding("soft bounce" if soft else "other")
    if report_type == "feedback-report":
        for part in _report_parts(msg, "message/feedback-report"):
            blocks = _fields(part)
            if not blocks:
                continue
            report = blocks[0]
            if str(report.get("Feedback-Type", "")).strip().lower() != "abuse":
                return Finding("other")
            address = _address(report.get("Original-Rcpt-To"))
            if address is None:
                address = _returned_to(msg)
            if address is not None:
                return Finding("complaint", (address,))
        return Finding("other")
    return Finding("other")


def _returned_to(msg: Message) -> str | None:
    """The ``To`` of the message a report returns (``message/rfc822`` or its headers)."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return _address(inner.get("To"))
        if kind == "text/rfc822-headers":
            from email import message_from_string

            text = part.get_payload(decode=True)
            headers = message_from_string(
                text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text))
            return _address(headers.get("To"))
    return None


def _seen_name(name: str) -> str:
    """The name of a read message in ``cur/``: its unique part with the seen flag."""
    return name.split(":", 1)[0] + ":2,S"


def read_maildir(engine: Engine, folder: Path, *, now: datetime,
                 suppression_key: bytes | None = None) -> MailboxReport:
    """Read the new messages of the Maildir ``folder`` (see the module's description)."""
    folder = Path(folder)
    new, cur = folder / "new", folder / "cur"
    if not new.is_dir() or not cur.is_dir():
        raise PatronageError(f"--maildir: {folder} is not a Maildir folder (it needs new/ "
                             "and cur/)")
    report = MailboxReport()
    for name in sorted(os.listdir(new)):
        path = new / name
        if name.startswith(".") or not path.is_file():
            continue
        with open(path, "rb") as handle:
            msg = message_from_binary_file(handle, policy=compat32)
        finding = read_message(msg)
        if finding.kind in ("hard bounce", "complaint"):
            with transaction(engine) as session:
                for address in finding.addresses:
                    if is_suppressed(session, "email", address, key=suppression_key):
                        report.already += 1
                        continue
                    suppress(session, "email", address, reason=finding.kind, at=now,
                             key=suppression_key)
                    session.flush()
                    report.suppressed.append(address)
        elif finding.kind == "soft bounce":
            report.soft += 1
        else:
            report.other.append(name)
        os.replace(path, cur / _seen_name(name))
        report.read += 1
    return report
