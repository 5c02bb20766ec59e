"""Texts through Twilio's Messages API and cards through Lob's print-and-mail API, against a
local fake of both (tests/provider_fake.py), and the signed status callbacks and STOP replies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage.care.channels.email import SendFailed
from patronage.care.channels.post import LobSender, MailedCard
from patronage.care.channels.sms import Accepted, twilio_signature
from patronage.care.deliver import deliver_due, requeue
from patronage.care.dispatch import (
    deliver_mailed_cards,
    deliver_texts,
    post_sender,
    text_sender,
)
from patronage.config import Settings
from patronage.db.care import CareDelivery, Touch
from patronage.db.engine import transaction
from patronage.errors import PatronageError
from patronage.network.members import is_suppressed, record_consent
from patronage.server import create_app
from tests.fixtures.care_data import customer, distributor, touch
from tests.provider_fake import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    LOB_KEY,
    NOT_MOBILE,
    Fake,
    serve,
)

NOW = datetime(2026, 10, 20, 15, 0, tzinfo=UTC)
PHONE = "+13125550142"
BASE = "https://care.acme.example"
pytestmark = pytest.mark.storage


@pytest.fixture
def provider() -> Iterator[tuple[Fake, str]]:
    fake = Fake()
    server, base = serve(fake)
    try:
        yield fake, base
    finally:
        server.shutdown()
        server.server_close()


def settings_for(base: str, **kw: object) -> Settings:
    values: dict[str, object] = {
        "sms_provider": "twilio", "twilio_base_url": base, "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN, "twilio_from": "+13125550100", "cards_via": "lob",
        "lob_base_url": base, "lob_api_key": LOB_KEY, "base_url": BASE,
        "secret_key": "test-secret-key-0123", "company_name": "Acme Wellness"}
    values.update(kw)
    return Settings(**values)  # type: ignore[arg-type]


def _member(engine: Engine, *, phone: str = PHONE, sms: bool | None = True) -> tuple[int, int]:
    consents = {"email": True, "post": True}
    if sms is not None:
        consents["sms"] = sms
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana, phone=phone, consents=consents)
    return dana, sally


def _touch(engine: Engine, member: int, owner: int, channel: str, *, template: str = "birthday",
           due: datetime = NOW - timedelta(hours=1), key: str = "2026") -> int:
    with transaction(engine) as s:
        return touch(s, member, owner, channel=channel, template=template, due_at=due,
                     occasion_key=key)


def _row(engine: Engine, touch_id: int) -> Touch:
    with transaction(engine) as s:
        row = s.get(Touch, touch_id)
        assert row is not None
        s.expunge(row)
        return row


def _delivery(engine: Engine, touch_id: int) -> CareDelivery | None:
    with transaction(engine) as s:
        row = s.scalar(select(CareDelivery).where(CareDelivery.touch_id == touch_id))
        if row is not None:
            s.expunge(row)
        return row


def _texts(engine: Engine, cfg: Settings, now: datetime = NOW) -> object:
    sender = text_sender(cfg, now)
    assert sender is not None
    return deliver_texts(engine, now, settings=cfg, sender=sender)


def test_text_is_sent_through_twilio_with_opt_out_words_and_recorded(
        engine: Engine, provider: tuple[Fake, str]) -> None:
    fake, base = provider
    cfg = settings_for(base)
    dana, sally = _member(engine)
    tid = _touch(engine, sally, dana, "sms")
    report = deliver_due(engine, NOW, settings=cfg)
    assert report.texts is not None and report.texts.sent == [tid]
    [sent] = fake.texts
    assert sent["To"] == PHONE and sent["From"] == "+13125550100"
    assert sent["Body"].startswith("Happy birthday, Sally!")
    assert "Reply STOP" in sent["Body"] and len(sent["Body"]) <= 306
    assert sent["StatusCallback"] == f"{BASE}/webhooks/sms/status"
    assert _row(engine, tid).status == "sent"
    delivery = _delivery(engine, tid)
    assert delivery is not None
    assert (delivery.provider, delivery.provider_ref, delivery.status) == (
        "twilio", sent["sid"], "sent")
    # running again sends nothing twice
    again = deliver_due(engine, NOW + timedelta(minutes=10), settings=cfg)
    assert again.texts is not None and again.texts.sent == []
    assert len(fake.texts) == 1


def test_provider_error_is_retried_then_fails_with_the_reason(
        engine: Engine, provider: tuple[Fake, str]) -> None:
    fake, base = provider
    cfg = settings_for(base)
    dana, sally = _member(engine)
    tid = _touch(engine, sally, dana, "sms")
    fake.fail_next = [503, 500, 503]
    now = NOW
    for attempt in (1, 2):
        report = deliver_texts(engine, now, settings=cfg, sender=text_sender(cfg, now),  # type: ignore[arg-type]
                               max_attempts=3)
        assert report.deferred[tid].startswith("SMS provider refused (5")
        row = _row(engine, tid)
        assert (row.status, row.attempts) == ("planned", attempt)
        assert row.next_attempt_at is not None and row.next_attempt_at > now
        # not due again before its wait
        early = deliver_texts(engine, now + timedelta(minutes=1), settings=cfg,
                              sender=text_sender(cfg, now),  # type: ignore[arg-type]
                              max_attempts=3)
        assert early.sent == [] and early.deferred == {}
        now = row.next_attempt_at
    report = deliver_texts(engine, now, settings=cfg, sender=text_sender(cfg, now),  # type: ignore[arg-type]
                           max_attempts=3)
    row = _row(engine, tid)
    assert row.status == "failed" and row.attempts == 3
    assert row.last_error is not None and "SMS provider refused (503" in row.last_error
    assert report.failed == {tid: row.last_error}
    assert fake.texts == []
    assert AUTH_TOKEN not in row.last_error
    # requeued, it goes out on the next run
    with transaction(engine) as s:
        requeue(s, tid, now=now)
    report = deliver_texts(engine, now, settings=cfg, sender=text_sender(cfg, now))  # type: ignore[arg-type]
    assert report.sent == [tid] and len(fake.texts) == 1


def test_number_that_is_not_a_mobile_fails_at_once_and_is_suppressed(
        engine: Engine, provider: tuple[Fake, str]) -> None:
    fake, base = provider
    cfg = settings_for(base)
    dana, sally = _member(engine, phone=NOT_MOBILE)
    tid = _touch(engine, sally, dana, "sms")
    later = _touch(engine, sally, dana, "sms", template="check_in", key="later",
                   due=NOW + timedelta(days=1))
    report = _texts(engine, cfg)
    row = _row(engine, tid)
    assert row.status == "failed" and row.attempts == 1
    assert row.last_error is not None and "21614" in row.last_error
    assert report.suppressed == [tid]  # type: ignore[attr-defined]
    with transaction(engine) as s:
        assert is_suppressed(s, "sms", NOT_MOBILE)
    _texts(engine, cfg, NOW + timedelta(days=1, hours=1))
    assert _row(engine, later).drop_reason == "phone number suppressed"
    assert fake.texts == []


def test_texts_need_consent_a_number_and_are_dropped_late(
        engine: Engine, provider: tuple[Fake, str]) -> None:
    fake, base = provider
    cfg = settings_for(base)
    dana, no_consent = _member(engine, sms=None)
    with transaction(engine) as s:
        withdrawn = customer(s, dana, "Will", phone="+13125550177",
                             consents={"email": True, "sms": True})
        record_consent(s, withdrawn, "sms", False, at=NOW - timedelta(days=1), method="test")
        no_phone = customer(s, dana, "Nora", consents={"sms": True})
        late_one = customer(s, dana, "Lara", phone="+13125550188", consents={"sms": True})
    a = _touch(engine, no_consent, dana, "sms")
    b = _touch(engine, withdrawn, dana, "sms")
    c = _touch(engine, no_phone, dana, "sms")
    d = _touch(engine, late_one, dana, "sms", due=NOW - timedelta(days=5))
    _texts(engine, cfg)
    reasons = {t: _row(engine, t).drop_reason for t in (a, b, c)}
    assert reasons == {a: "no text consent", b: "text consent withdrawn",
                       c: "no phone number"}
    assert (_row(engine, d).drop_reason or "").startswith("late")
    assert fake.texts == []


def test_a_template_without_the_opt_out_word_fails_its_touch(
        engine: Engine, provider: tuple[Fake, str], tmp_path: Path) -> None:
    from patronage.care.content import TemplateSet

    fake, base = provider
    cfg = settings_for(base)
    (tmp_path / "birthday.sms.j2").write_text("Happy birthday, {{ member.first_name }}!")
    dana, sally = _member(engine)
    tid = _touch(engine, sally, dana, "sms")
    report = deliver_texts(engine, NOW, settings=cfg, sender=text_sender(cfg, NOW),  # type: ignore[arg-type]
                           templates=TemplateSet(tmp_path))
    row = _row(engine, tid)
    assert row.status == "failed"
    assert report.failed[tid] == row.last_error
    assert "birthday.sms.j2: the text does not say how to stop texts" in (row.last_error or "")
    assert fake.texts == []


def _signed(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(url, form, token),
            "Content-Type": "application/x-www-form-urlencoded"}


def test_status_callback_marks_delivered_or_failed_and_refuses_a_bad_signature(
        engine: Engine, provider: tuple[Fake, str]) -> None:
    fake, base = provider
    cfg = settings_for(base)
    dana, sally = _member(engine)
    with transaction(engine) as s:
        sam = customer(s, dana, "Sam", phone="+13125550199",
                       consents={"email": True, "sms": True})
    one = _touch(engine, sally, dana, "sms")
    two = _touch(engine, sam, dana, "sms")
    _texts(engine, cfg)
    sid = {t["To"]: t["sid"] for t in fake.texts}
    client = TestClient(create_app(settings=cfg, engine=engine))
    url = f"{BASE}/webhooks/sms/status"

    delivered = {"MessageSid": sid[PHONE], "MessageStatus": "delivered", "To": PHONE,
                 "AccountSid": ACCOUNT_SID}
    forged = _signed(url, delivered, token="not-the-token")
    refused = client.post("/webhooks/sms/status", content=urlencode(delivered), headers=forged)
    assert refused.status_code == 400
    assert "X-Twilio-Signature" in refused.json()["error"]
    unsigned = client.post("/webhooks/sms/status", content=urlencode(delivered),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 400
    delivery = _delivery(engine, one)
    assert delivery is not None and delivery.status == "sent"

    ok = client.post("/webhooks/sms/status", content=urlencode(delivered),
                     headers=_signed(url, delivered))
    assert ok.status_code == 200 and ok.json() == {"outcome": "delivered", "suppressed": False}
    delivery = _delivery(engine, one)
    assert delivery is not None and delivery.status == "delivered"
    # a late "sent" callback does not undo it
    sent = {**delivered, "MessageStatus": "sent"}
    assert client.post("/webhooks/sms/status", content=urlencode(sent),
                       headers=_signed(url, sent)).json()["outcome"] == "unchanged"

    failed = {"MessageSid": sid["+13125550199"], "MessageStatus": "undelivered",
              "ErrorCode": "30006", "To": "+13125550199", "AccountSid": ACCOUNT_SID}
    answer = client.post("/webhooks/sms/status", content=urlencode(failed),
                         headers=_signed(url, failed))
    assert answer.json() == {"outcome": "failed", "suppressed": True}
    row = _row(engine, two)
    assert row.status == "failed" and row.last_error == "not delivered: undelivered (error 30006)"
    with transaction(engine) as s:
        assert is_suppressed(s, "sms", "+13125550199")
    # replaying it changes nothing more
    assert client.post("/webhooks/sms/status", content=urlencode(failed),
                       headers=_signed(url, failed)).json()["outcome"] == "unchanged"


def test_stop_reply_suppresses_the_number(engine: Engine, provider: tuple[Fake, str]) -> None:
    fake, base = provider
    cfg = settings_for(base)
    dana, sally = _member(engine)
    first = _touch(engine, sally, dana, "sms")
    later = _touch(engine, sally, dana, "sms", template="check_in", key="later",
                   due=NOW + timedelta(days=2))
    _texts(engine, cfg)
    assert _row(engine, first).status == "sent"
    client = TestClient(create_app(settings=cfg, engine=engine))
    url = f"{BASE}/webhooks/sms/inbound"
    hello = {"From": PHONE, "To": "+13125550100", "Body": "thank you!",
             "MessageSid": "SM1", "AccountSid": ACCOUNT_SID}
    assert client.post("/webhooks/sms/inbound", content=urlencode(hello),
                       headers=_signed(url, hello)).status_code == 200
    with transaction(engine) as s:
        assert not is_suppressed(s, "sms", PHONE)
    stop = {**hello, "Body": " Stop "}
    bad = client.post("/webhooks/sms/inbound", content=urlencode(stop),
                      headers=_signed(url, hello))  # signed for another body
    assert bad.status_code == 400
    with transaction(engine) as s:
        assert not is_suppressed(s, "sms", PHONE)
    answer = client.post("/webhooks/sms/inbound", content=urlencode(stop),
                         headers=_signed(url, stop))
    assert answer.status_code == 200 and "<Response>" in answer.text
    with transaction(engine) as s:
        assert is_suppressed(s, "sms", PHONE)
    _texts(engine, cfg, NOW + timedelta(days=2, hours=1))
    assert _row(engine, later).drop_reason == "phone number suppressed"
    assert len(fake.texts) == 1


def test_card_is_mailed_through_lob_once_even_when_the_answer_is_lost(
        engine: Engine, provider: tuple[Fake, str]) -> None:
    fake, base = provider
    cfg = settings_for(base)
    dana, sally = _member(engine)
    tid = _touch(engine, sally, dana, "card")
    lob = post_sender(cfg, NOW)
    assert isinstance(lob, LobSender)

    class LostAnswer:
        """The service mails the card, then the connection drops before its answer."""
        name = "lob"

        def send(self, card: MailedCard) -> Accepted:
            assert lob is not None
            lob.send(card)
            raise SendFailed("print-and-mail service unavailable: ReadTimeout", lasting=False)

    first = deliver_mailed_cards(engine, NOW, settings=cfg, sender=LostAnswer())
    assert tid in first.deferred and len(fake.mailed) == 1
    row = _row(engine, tid)
    assert row.status == "planned" and row.next_attempt_at is not None
    second = deliver_due(engine, row.next_attempt_at, settings=cfg)
    assert second.mailed is not None and second.mailed.sent == [tid]
    assert second.cards is None  # cards go to the service, not to a batch
    assert len(fake.mailed) == 1  # the retry did not mail a second card
    keys = [r["headers"]["Idempotency-Key"] for r in fake.requests]
    assert keys == [f"care-touch-{tid}", f"care-touch-{tid}"]
    [card] = fake.mailed
    assert card["path"] == "/v1/postcards"
    assert card["to"] == {"name": "Sally Smith", "address_line1": "12 Elm Street",
                          "address_city": "Springfield", "address_state": "IL",
                          "address_zip": "62701", "address_country": "US"}
    assert "Sally" in card["back"]
    delivery = _delivery(engine, tid)
    assert delivery is not None and (delivery.provider_ref, delivery.channel) == (
        card["id"], "card")
    assert _row(engine, tid).status == "sent"


def test_lob_refusal_fails_the_card_with_the_reason(engine: Engine,
                                                    provider: tuple[Fake, str]) -> None:
    fake, base = provider
    cfg = settings_for(base, lob_mail_type="letter")
    dana, sally = _member(engine)
    with transaction(engine) as s:
        from patronage.db.tables import Member

        member = s.get(Member, sally)
        assert member is not None
        member.address_line1 = ""  # a record stored before addresses were checked
    tid = _touch(engine, sally, dana, "card")
    other = _touch(engine, dana, None, "card", key="dana")  # Dana has no address: dropped
    report = deliver_mailed_cards(engine, NOW, settings=cfg,
                                  sender=post_sender(cfg, NOW))  # type: ignore[arg-type]
    assert report.dropped == {tid: "no postal address", other: "no postal address"}
    with transaction(engine) as s:
        member = s.get(Member, sally)
        assert member is not None
        member.address_line1 = "12 Elm Street"
        sam = customer(s, dana, "Sam", city="Springfield", address_line1="9 Oak Road")
    mailed = _touch(engine, sam, dana, "card")
    fake.fail_next = [422]
    report = deliver_mailed_cards(engine, NOW, settings=cfg,
                                  sender=post_sender(cfg, NOW))  # type: ignore[arg-type]
    row = _row(engine, mailed)
    assert row.status == "failed" and "refused (422)" in (row.last_error or "")
    assert report.failed == {mailed: row.last_error}
    assert fake.mailed == []
    # the address corrected at Lob's end, the card is requeued and mailed as a letter
    with transaction(engine) as s:
        requeue(s, mailed, now=NOW)
    report = deliver_mailed_cards(engine, NOW, settings=cfg,
                                  sender=post_sender(cfg, NOW))  # type: ignore[arg-type]
    assert report.sent == [mailed]
    [letter] = fake.mailed
    assert letter["path"] == "/v1/letters" and letter["color"] is False
    assert "Happy birthday" in letter["file"] and "Dear Sam," in letter["file"]


def test_adapters_need_their_settings(tmp_path: Path) -> None:
    with pytest.raises(PatronageError, match="PATRONAGE_TWILIO_AUTH_TOKEN: required"):
        text_sender(Settings(sms_provider="twilio", twilio_account_sid="AC1",
                             twilio_from="+13125550100"), NOW)
    with pytest.raises(PatronageError, match="PATRONAGE_LOB_API_KEY: required"):
        post_sender(Settings(cards_via="lob"), NOW)
    with pytest.raises(PatronageError, match="PATRONAGE_CARE_OUTBOX_DIR: required"):
        text_sender(Settings(sms_provider="file"), NOW)
    assert text_sender(Settings(), NOW) is None and post_sender(Settings(), NOW) is None
    sender = text_sender(Settings(sms_provider="twilio", twilio_account_sid="AC1",
                                  twilio_auth_token=AUTH_TOKEN, twilio_from="+1312555010"),
                         NOW)
    assert AUTH_TOKEN not in repr(sender)
    assert AUTH_TOKEN not in repr(Settings(twilio_auth_token=AUTH_TOKEN))


def test_file_adapters_write_what_would_be_sent(engine: Engine, tmp_path: Path) -> None:
    cfg = Settings(sms_provider="file", cards_via="file", care_outbox_dir=str(tmp_path),
                   base_url=BASE, secret_key="test-secret-key-0123", company_name="Acme Wellness")
    dana, sally = _member(engine)
    text = _touch(engine, sally, dana, "sms")
    card = _touch(engine, sally, dana, "card")
    report = deliver_due(engine, NOW, settings=cfg)
    assert report.texts is not None and report.texts.sent == [text]
    assert report.mailed is not None and report.mailed.sent == [card]
    [line] = (tmp_path / "texts.jsonl").read_text().splitlines()
    assert json.loads(line)["to"] == PHONE and "STOP" in json.loads(line)["body"]
    [mailed] = [json.loads(x) for x in (tmp_path / "cards.jsonl").read_text().splitlines()]
    assert mailed["touch"] == card and mailed["to"][0] == "Sally Smith"
    delivery = _delivery(engine, text)
    assert delivery is not None and delivery.status == "delivered"


def test_staff_care_page_lists_texts_and_mailed_cards(engine: Engine, tmp_path: Path) -> None:
    from patronage.care.channels import post, sms
    from tests.e2e.world import EMAILS, app_for, seed, sign_in

    seed(engine)
    cfg = Settings(base_url=BASE, secret_key="test-secret-key-0123",
                   company_name="Acme Wellness")
    dana, sally = _member(engine)
    text = _touch(engine, sally, dana, "sms")
    card = _touch(engine, sally, dana, "card")
    deliver_texts(engine, NOW, settings=cfg, sender=sms.FileSender(tmp_path, now=NOW))
    deliver_mailed_cards(engine, NOW, settings=cfg, sender=post.FileSender(tmp_path, now=NOW))
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    page = client.get("/company/care").text
    section = page[page.index('id="deliveries"'):page.index("Holdout report")]
    assert section.count("Sally Smith") == 2
    assert f"text-{text}" in section and f"card-{card}" in section
    assert "delivered" in section and "sent" in section
