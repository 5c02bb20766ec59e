"""Email: the message of a touch, and an SMTP connection that tells lasting failures apart.

Every message carries one-click unsubscribe headers (RFC 8058: ``List-Unsubscribe`` with an
HTTPS link and a mailto address, and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``)
and a ``Message-ID`` derived from the touch id, so that a message sent again after an uncertain
failure is recognisable as the same message. ``List-Unsubscribe`` goes on the wire literally
(``<https://...>, <mailto:...>``, folded only between the two): mail providers do not read an
RFC 2047-encoded one, which Python's default folding would make of a long link.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, formataddr, quote
from types import TracebackType

from patronage.care.content import EmailContent
from patronage.config import Settings


def message_id(touch_id: int, settings: Settings) -> str:
    """``<care-touch-<id>@<domain of mail_from>>``: the same for every attempt of a touch."""
    domain = settings.mail_from.rpartition("@")[2] or "patronage.invalid"
    return f"<care-touch-{touch_id}@{domain}>"


#: The messages' policy: headers set as raw text (``set_raw``) go out exactly as written.
POLICY = default.clone(refold_source="none")


def unsubscribe_header(unsubscribe_url: str, settings: Settings) -> str:
    """The ``List-Unsubscribe`` value as raw header text: the HTTPS link and the mailto address,
    each in angle brackets, folded between the two."""
    for value in (unsubscribe_url, settings.mail_from):
        if any(c.isspace() or c in "<>,\"" for c in value):
            raise ValueError(f"List-Unsubscribe: {value!r} cannot go in the header")
    return f"<{unsubscribe_url}>,\n <mailto:{settings.mail_from}?subject=unsubscribe>"


@dataclass(frozen=True)
class Recipient:
    name: str
    address: str


def _address(name: str, address: str) -> str:
    """``Name <address>``. An address with letters beyond ASCII (``lucía@…``) is written as it
    is: ``send_message`` then sends it with SMTPUTF8 to a server that offers it, and a server
    that does not refuses it (:class:`SendFailed`, lasting)."""
    try:
        return formataddr((name, address))
    except UnicodeEncodeError:
        return f'"{quote(name)}" <{address}>'


def build_message(touch_id: int, to: Recipient, content: EmailContent, *, unsubscribe_url: str,
                  settings: Settings, now: datetime) -> EmailMessage:
    """The message for one touch, with the unsubscribe headers and a stable Message-ID."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = formataddr((settings.company_name, settings.mail_from))
    msg["To"] = _address(to.name, to.address)
    msg["Subject"] = content.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(touch_id, settings)
    msg.set_raw("List-Unsubscribe", unsubscribe_header(unsubscribe_url, settings))
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Patronage-Touch"] = str(touch_id)
    msg.set_content(content.text)
    if content.html:
        msg.add_alternative(content.html, subtype="html")
    return msg


class SendFailed(Exception):
    """Sending did not succeed. ``lasting`` when trying again cannot help (address refused)."""

    def __init__(self, reason: str, *, lasting: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.lasting = lasting


class SmtpSender:
    """One SMTP connection for a delivery run, opened on first use.

    If the server cannot be reached, every later send in the same run fails at once with the
    same reason instead of waiting for the server again.
    """

    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self._down: str | None = None

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        if self._down is not None:
            raise SendFailed(self._down, lasting=False)
        if self._smtp is None:
            cfg = self.settings
            try:
                smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=self.timeout)
                if cfg.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.smtp_username:
                    smtp.login(cfg.smtp_username, cfg.smtp_password or "")
            except (OSError, smtplib.SMTPException) as exc:
                self._down = (f"SMTP server {cfg.smtp_host}:{cfg.smtp_port} unavailable: "
                              f"{type(exc).__name__}: {exc}")[:500]
                raise SendFailed(self._down, lasting=False) from exc
            self._smtp = smtp
        return self._smtp

    def send(self, msg: EmailMessage) -> None:
        smtp = self._connect()
        try:
            refused = smtp.send_message(msg)
        except smtplib.SMTPNotSupportedError as exc:
            # An international address needs the server's SMTPUTF8; a server without it will
            # never take this message, so trying again cannot help.
            raise SendFailed("the mail server does not accept international addresses "
                             f"(SMTPUTF8): {exc}"[:500], lasting=True) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendFailed(f"recipient refused: {exc.recipients}"[:500],
                             lasting=all(c >= 500 for c in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            raise SendFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:500],
                             lasting=exc.smtp_code >= 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._smtp = None
            raise SendFailed(f"{type(exc).__name__}: {exc}"[:500], lasting=False) from exc
        if refused:
            raise SendFailed(f"recipient refused: {refused}"[:500], lasting=True)

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None
