"""Email delivery through the outbox, against a real SMTP server on localhost (aiosmtpd)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select

from patronage.care.channels.email import SendFailed, SmtpSender
from patronage.care.deliver import deliver_due, requeue
from patronage.care.links import read_token, unsubscribe
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Consent
from patronage.errors import Conflict
from patronage.network.members import (
    consents_in_force,
    is_suppressed,
    record_consent,
    suppress,
)
from tests.fixtures.care_data import customer, distributor, touch

NOW = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
pytestmark = pytest.mark.storage


class Recorder:
    """An SMTP handler that keeps every message; refuses recipients starting with 'bounce'."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # each message's bytes as they came over the wire
        self.recipients: list[list[str]] = []  # each message's envelope recipients

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.raw.append(bytes(envelope.original_content or envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Smtp:
    """A real SMTP server that can be started and stopped on one port."""

    def __init__(self, *, smtputf8: bool = False) -> None:
        self.port = free_port()
        self.recorder = Recorder()
        self.smtputf8 = smtputf8
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                      enable_SMTPUTF8=self.smtputf8)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.recorder.messages


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def settings_for(server: Smtp) -> Settings:
    return Settings(smtp_host="127.0.0.1", smtp_port=server.port, mail_from="care@acme.example",
                    base_url="https://care.acme.example", secret_key="test-secret-key",
                    company_name="Acme Wellness")


def _sender(settings: Settings) -> SmtpSender:
    return SmtpSender(settings, timeout=5)


def _members(engine: Engine, **kw: Any) -> tuple[int, int]:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana, **kw)
    return dana, sally


def _email_touch(engine: Engine, member: int, owner: int, template: str = "birthday",
                 key: str = "2026", due: datetime = NOW) -> int:
    with transaction(engine) as s:
        return touch(s, member, owner, channel="email", template=template, due_at=due,
                     occasion_key=key)


def _row(engine: Engine, touch_id: int) -> Touch:
    with transaction(engine) as s:
        row = s.get(Touch, touch_id)
        assert row is not None
        s.expunge(row)
        return row


def test_email_has_one_click_unsubscribe_headers_stable_id_and_preferences_link(
        engine: Engine, smtp: Smtp) -> None:
    cfg = settings_for(smtp)
    dana, sally = _members(engine)
    tid = _email_touch(engine, sally, dana)
    later = _email_touch(engine, sally, dana, template="check_in", key="later",
                         due=NOW + timedelta(days=1))

    report = deliver_due(engine, NOW, settings=cfg, sender_factory=_sender)

    assert report.sent == [tid] and not report.deferred and not report.dropped
    [msg] = smtp.messages
    assert msg["To"] == "Sally Smith <sally@example.com>"
    assert msg["From"] == "Acme Wellness <care@acme.example>"
    assert msg["Subject"] == "Happy birthday, Sally!"
    assert msg["Message-ID"] == f"<care-touch-{tid}@acme.example>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = [part.strip(" <>") for part in msg["List-Unsubscribe"].split(",")]
    assert https.startswith("https://care.acme.example/u/")
    assert mailto == "mailto:care@acme.example?subject=unsubscribe"
    body = msg.get_content().replace("\r\n", "\n")
    assert "Dear Sally," in body and "\nDana\n" in body
    found = re.search(r"https://care\.acme\.example/p/(\S+)", body)
    assert found is not None
    link = read_token(found.group(1), "preferences", NOW, secret=cfg.secret_key)
    assert (link.member_id, link.touch_id) == (sally, tid)
    row = _row(engine, tid)
    assert (row.status, row.sent_at, row.attempts) == ("sent", NOW, 1)
    assert _row(engine, later).status == "planned"

    again = deliver_due(engine, NOW + timedelta(minutes=1), settings=cfg, sender_factory=_sender)
    assert again.sent == [] and len(smtp.messages) == 1


def test_unsubscribe_headers_go_over_the_wire_literally(engine: Engine, smtp: Smtp) -> None:
    cfg = settings_for(smtp)
    dana, sally = _members(engine)
    _email_touch(engine, sally, dana)
    deliver_due(engine, NOW, settings=cfg, sender_factory=_sender)
    [raw] = smtp.recorder.raw
    head = raw.split(b"\r\n\r\n", 1)[0]
    unfolded = head.replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    lines = unfolded.split(b"\r\n")
    [unsub] = [line for line in lines if line.startswith(b"List-Unsubscribe:")]
    assert re.fullmatch(rb"List-Unsubscribe: <https://care\.acme\.example/u/[A-Za-z0-9._~-]+>,"
                        rb" <mailto:care@acme\.example\?subject=unsubscribe>", unsub), unsub
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines
    assert b"=?" not in unsub


def test_one_click_unsubscribe_token_records_withdrawal_and_suppression(
        engine: Engine, smtp: Smtp) -> None:
    cfg = settings_for(smtp)
    dana, sally = _members(engine)
    _email_touch(engine, sally, dana)
    deliver_due(engine, NOW, settings=cfg, sender_factory=_sender)
    token = smtp.messages[0]["List-Unsubscribe"].split(",")[0].strip(" <>").rsplit("/", 1)[1]
    next_one = _email_touch(engine, sally, dana, template="check_in", key="next",
                            due=NOW + timedelta(hours=2))

    at = NOW + timedelta(hours=1)
    with transaction(engine) as s:
        link = read_token(token, "unsubscribe", at, secret=cfg.secret_key)
        assert unsubscribe(s, link.member_id, at, via="one-click link") is True
    with transaction(engine) as s:
        assert unsubscribe(s, sally, at, via="one-click link") is False
        assert consents_in_force(s, sally)["email"] is False
        assert is_suppressed(s, "email", "Sally@Example.com")
        withdrawals = s.scalars(select(Consent).where(Consent.member_id == sally,
                                                      Consent.granted.is_(False))).all()
        assert [c.method for c in withdrawals] == ["unsubscribe: one-click link"]

    report = deliver_due(engine, NOW + timedelta(hours=3), settings=cfg, sender_factory=_sender)
    assert report.dropped == {next_one: "email consent withdrawn"}
    assert len(smtp.messages) == 1


def test_server_down_defers_with_backoff_then_delivers_exactly_once(engine: Engine) -> None:
    server = Smtp()  # not started: the port refuses connections
    cfg = settings_for(server)
    dana, sally = _members(engine)
    first = _email_touch(engine, sally, dana)
    second = _email_touch(engine, sally, dana, template="check_in", key="k")
    try:
        report = deliver_due(engine, NOW, settings=cfg, sender_factory=_sender)
        assert set(report.deferred) == {first, second} and report.sent == []
        row = _row(engine, first)
        assert (row.status, row.attempts) == ("planned", 1)
        assert row.next_attempt_at == NOW + timedelta(minutes=5)
        assert row.last_error is not None and "unavailable" in row.last_error

        # Before the backoff has passed nothing is tried again.
        early = deliver_due(engine, NOW + timedelta(minutes=2), settings=cfg,
                            sender_factory=_sender)
        assert not early.deferred and _row(engine, first).attempts == 1

        server.start()
        back = NOW + timedelta(minutes=6)
        report = deliver_due(engine, back, settings=cfg, sender_factory=_sender)
        assert sorted(report.sent) == sorted([first, second])
        deliver_due(engine, back + timedelta(hours=1), settings=cfg, sender_factory=_sender)
        ids = sorted(m["Message-ID"] for m in server.messages)
        assert ids == sorted(f"<care-touch-{t}@acme.example>" for t in (first, second))
        row = _row(engine, first)
        assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 2, back, None)
    finally:
        server.stop()


def test_gives_up_after_the_last_attempt(engine: Engine) -> None:
    cfg = settings_for(Smtp())
    dana, sally = _members(engine)
    tid = _email_touch(engine, sally, dana)
    deliver_due(engine, NOW, settings=cfg, sender_factory=_sender, max_attempts=2)
    report = deliver_due(engine, NOW + timedelta(minutes=5), settings=cfg,
                         sender_factory=_sender, max_attempts=2)
    assert tid in report.failed
    row = _row(engine, tid)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, None)

    with transaction(engine) as s:
        requeue(s, tid, now=NOW + timedelta(days=1))
        with pytest.raises(Conflict, match="is planned; only a failed touch is requeued"):
            requeue(s, tid, now=NOW + timedelta(days=1))
    row = _row(engine, tid)
    assert (row.status, row.attempts, row.due_at) == ("planned", 0, NOW + timedelta(days=1))


def test_refused_recipient_fails_at_once(engine: Engine, smtp: Smtp) -> None:
    cfg = settings_for(smtp)
    dana, sally = _members(engine, email="bounce@example.com")
    tid = _email_touch(engine, sally, dana)
    report = deliver_due(engine, NOW, settings=cfg, sender_factory=_sender)
    assert tid in report.failed and "550" in report.failed[tid]
    assert _row(engine, tid).status == "failed" and smtp.messages == []


def test_an_international_address_fails_at_once_where_the_server_cannot_take_it(
        engine: Engine, smtp: Smtp) -> None:
    cfg = settings_for(smtp)  # this server does not offer SMTPUTF8
    dana, sally = _members(engine, email="lucía@example.com")
    tid = _email_touch(engine, sally, dana)
    report = deliver_due(engine, NOW, settings=cfg, sender_factory=_sender)
    assert tid in report.failed and "SMTPUTF8" in report.failed[tid]
    assert _row(engine, tid).status == "failed" and smtp.messages == []


def test_an_international_address_is_delivered_where_the_server_takes_it(
        engine: Engine) -> None:
    server = Smtp(smtputf8=True)
    server.start()
    try:
        dana, sally = _members(engine, email="lucía@example.com")
        tid = _email_touch(engine, sally, dana)
        report = deliver_due(engine, NOW, settings=settings_for(server), sender_factory=_sender)
        assert report.failed == {} and _row(engine, tid).status == "sent"
        assert len(server.messages) == 1
        assert "lucía@example.com" in str(server.messages[0]["To"])
    finally:
        server.stop()


def test_consent_withdrawn_between_planning_and_delivery_drops_the_touch(
        engine: Engine, smtp: Smtp) -> None:
    cfg = settings_for(smtp)
    dana, sally = _members(engine)
    _, never_asked = _members(engine, email="nora@example.com", consents={})
    tid = _email_touch(engine, sally, dana)
    other = _email_touch(engine, never_asked, dana)
    service = _email_touch(engine, never_asked, dana, template="payment_help", key="pay")
    _, zed = _members(engine, email="zed@example.com")
    blocked = _email_touch(engine, zed, dana)
    with transaction(engine) as s:
        record_consent(s, sally, "email", False, at=NOW - timedelta(minutes=1), method="phone")
        suppress(s, "email", "ZED@example.com", reason="complaint", at=NOW)
    report = deliver_due(engine, NOW, settings=cfg, sender_factory=_sender)
    assert report.dropped == {tid: "email consent withdrawn", other: "no email consent",
                              blocked: "email address suppressed"}
    assert report.sent == [service]
    assert [m["To"] for m in smtp.messages] == ["Sally Smith <nora@example.com>"]
    row = _row(engine, tid)
    assert (row.status, row.drop_reason, row.attempts) == ("dropped", "email consent withdrawn", 0)


class _LostAcknowledgement(SmtpSender):
    """The server accepts the message but the answer never arrives (an uncertain failure)."""

    lost = 0

    def send(self, msg: EmailMessage) -> None:
        super().send(msg)
        if _LostAcknowledgement.lost == 0:
            _LostAcknowledgement.lost += 1
            raise SendFailed("connection lost after DATA", lasting=False)


def test_uncertain_failure_is_resent_with_the_same_message_id(engine: Engine,
                                                              smtp: Smtp) -> None:
    cfg = settings_for(smtp)
    dana, sally = _members(engine)
    tid = _email_touch(engine, sally, dana)
    _LostAcknowledgement.lost = 0
    first = deliver_due(engine, NOW, settings=cfg, sender_factory=_LostAcknowledgement)
    assert tid in first.deferred
    second = deliver_due(engine, NOW + timedelta(minutes=5), settings=cfg,
                         sender_factory=_LostAcknowledgement)
    assert second.sent == [tid]
    assert [m["Message-ID"] for m in smtp.messages] == [f"<care-touch-{tid}@acme.example>"] * 2


def test_two_deliverers_at_once_never_send_a_touch_twice(engine: Engine, smtp: Smtp) -> None:
    cfg = settings_for(smtp)
    dana, sally = _members(engine)
    ids = [_email_touch(engine, sally, dana, template="check_in", key=f"k{n}") for n in range(3)]
    other_runs: list[list[int]] = []

    class Racing(SmtpSender):
        """While the first message is on the wire, another deliverer runs over the outbox."""

        def send(self, msg: EmailMessage) -> None:
            if not other_runs:
                other_runs.append([])
                other_runs[0] = deliver_due(engine, NOW, settings=cfg,
                                            sender_factory=_sender).sent
            super().send(msg)

    mine = deliver_due(engine, NOW, settings=cfg, sender_factory=Racing).sent
    assert sorted(mine + other_runs[0]) == sorted(ids)
    assert mine == [ids[0]] and sorted(other_runs[0]) == ids[1:]
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(
        f"<care-touch-{t}@acme.example>" for t in ids)


def test_a_template_that_cannot_render_fails_the_touch_without_sending(
        engine: Engine, smtp: Smtp) -> None:
    cfg = settings_for(smtp)
    dana, sally = _members(engine)
    tid = _email_touch(engine, sally, dana, template="no_such_template")
    report = deliver_due(engine, NOW, settings=cfg, sender_factory=_sender)
    assert "no_such_template.email.j2: not found" in report.failed[tid]
    assert _row(engine, tid).status == "failed" and smtp.messages == []
