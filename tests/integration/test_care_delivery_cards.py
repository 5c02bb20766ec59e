"""Printed cards: one PDF batch, one card per page plus address sheets; touches marked sent."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from patronage.care.channels.cards import export_cards
from patronage.care.deliver import deliver_due
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.network.members import record_consent
from tests.fixtures.care_data import customer, distributor, touch

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
CFG = Settings(company_name="Acme Wellness", base_url="https://care.acme.example",
               secret_key="test-secret-key", smtp_port=1)
pytestmark = pytest.mark.storage


def page_formats(pdf: bytes) -> list[tuple[float, float]]:
    """The (width, height) in points of every page, in order, read back from the file."""
    boxes = re.findall(rb"/Contents \d+ 0 R\s*/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]",
                       pdf)
    count = re.search(rb"/Count (\d+)", pdf)
    assert count is not None and int(count.group(1)) == len(boxes)
    return [(round(float(w)), round(float(h))) for w, h in boxes]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "cards"
    folder.mkdir()
    return folder


def _setup(engine: Engine, customers: int) -> tuple[list[int], dict[str, int]]:
    ids: list[int] = []
    extra: dict[str, int] = {}
    with transaction(engine) as s:
        dana = distributor(s)
        member = dana
        for n in range(customers):
            member = customer(s, dana, f"Zoë{n}", address_line2=f"Apt {n}")
            ids.append(touch(s, member, dana, channel="card", template="holiday",
                             due_at=NOW - timedelta(hours=n), summary="Happy holidays"))
        objector = customer(s, dana, "Olga")
        record_consent(s, objector, "post", False, at=NOW - timedelta(days=1), method="letter")
        extra["objector"] = touch(s, objector, dana, channel="card", template="holiday",
                                  due_at=NOW)
        homeless = customer(s, dana, "Hal", address_line1=None)
        extra["no_address"] = touch(s, homeless, dana, channel="card", template="birthday",
                                    due_at=NOW)
        extra["future"] = touch(s, member, dana, channel="card",
                                template="birthday", occasion_key="next",
                                due_at=NOW + timedelta(days=2))
    return ids, extra


def test_batch_has_one_card_per_page_then_address_sheets_and_marks_sent(
        engine: Engine, out: Path) -> None:
    ids, extra = _setup(engine, customers=15)
    batch = export_cards(engine, NOW, out, settings=CFG)

    assert batch.path is not None and batch.path.parent == out
    assert batch.path.name == "cards-20261210T090000Z.pdf"
    assert batch.touch_ids == sorted(ids, key=lambda t: -t)  # oldest due first
    assert batch.dropped == {extra["objector"]: "objected to post",
                             extra["no_address"]: "no postal address"}
    data = batch.path.read_bytes()
    formats = page_formats(data)
    a5_landscape, a4 = (595, 420), (595, 842)
    assert formats == [a5_landscape] * 15 + [a4] * 2  # 14 labels a page: 15 need two sheets
    assert batch.pages == 17
    assert b"Kristi" in data and b"DejaVuSans" in data  # fonts embedded
    assert list(out.iterdir()) == [batch.path]  # no partial file left behind
    with transaction(engine) as s:
        for tid in ids:
            row = s.get(Touch, tid)
            assert row is not None and (row.status, row.sent_at) == ("sent", NOW)
        future = s.get(Touch, extra["future"])
        assert future is not None and future.status == "planned"

    again = export_cards(engine, NOW + timedelta(minutes=1), out, settings=CFG)
    assert again.path is None and again.touch_ids == []
    assert len(list(out.iterdir())) == 1


def test_deliver_due_exports_cards_when_given_a_folder(engine: Engine, out: Path) -> None:
    ids, _ = _setup(engine, customers=2)
    waiting = deliver_due(engine, NOW, settings=CFG)
    assert waiting.cards is None and waiting.cards_waiting == 4  # two will be dropped
    report = deliver_due(engine, NOW, cards_dir=out, settings=CFG)
    assert report.cards is not None and sorted(report.cards.touch_ids) == sorted(ids)
    assert report.cards_waiting == 0
    assert page_formats(report.cards.path.read_bytes() if report.cards.path else b"") == [
        (595, 420), (595, 420), (595, 842)]


def test_a_failed_commit_leaves_no_batch_file(engine: Engine, out: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ids, _ = _setup(engine, customers=1)
    import patronage.care.channels.cards as cards

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(cards.os, "replace", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        export_cards(engine, NOW, out, settings=CFG)
    assert list(out.iterdir()) == []
    with transaction(engine) as s:
        row = s.get(Touch, ids[0])
        assert row is not None and row.status == "planned"
    monkeypatch.undo()
    rerun = export_cards(engine, NOW + timedelta(hours=1), out, settings=CFG)
    assert rerun.resumed and rerun.touch_ids == ids
    assert rerun.path is not None and rerun.path.name == "cards-20261210T090000Z.pdf"
    assert list(out.iterdir()) == [rerun.path]


def test_the_out_folder_must_exist(engine: Engine, out: Path) -> None:
    from patronage.errors import PatronageError

    with pytest.raises(PatronageError, match="is not a folder"):
        export_cards(engine, NOW, out / "missing", settings=CFG)


def test_an_export_killed_after_writing_is_finished_by_the_next_never_printed_twice(
        engine: Engine, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import patronage.care.channels.cards as cards

    ids, extra = _setup(engine, customers=3)
    real = cards._mark_sent

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies after the file is in place

    monkeypatch.setattr(cards, "_mark_sent", killed)
    with pytest.raises(KeyboardInterrupt):
        export_cards(engine, NOW, out, settings=CFG)
    [left] = list(out.iterdir())
    assert left.name == "cards-20261210T090000Z.pdf"
    first = left.read_bytes()
    with transaction(engine) as s:
        assert {s.get(Touch, t).status for t in ids} == {"planned"}  # type: ignore[union-attr]

    monkeypatch.setattr(cards, "_mark_sent", real)
    with transaction(engine) as s:  # a new card falls due before the re-run
        sally = customer(s, distributor(s, "Dee"), "Newt")
        newer = touch(s, sally, None, channel="card", template="holiday",
                      due_at=NOW + timedelta(hours=1))
    rerun = export_cards(engine, NOW + timedelta(hours=2), out, settings=CFG)
    assert rerun.resumed and rerun.path == left
    assert sorted(rerun.touch_ids) == sorted(ids)
    assert list(out.iterdir()) == [left] and left.read_bytes() == first  # the same file
    with transaction(engine) as s:
        rows = [s.get(Touch, t) for t in ids]
        assert {(r.status, r.attempts) for r in rows if r} == {("sent", 1)}
        assert {r.card_batch_id for r in rows if r} == {rerun.batch_id}

    nxt = export_cards(engine, NOW + timedelta(hours=3), out, settings=CFG)
    assert not nxt.resumed and nxt.touch_ids == [newer] and nxt.batch_id != rerun.batch_id
    assert nxt.path is not None and nxt.path.name == "cards-20261210T120000Z.pdf"
    assert export_cards(engine, NOW + timedelta(hours=4), out, settings=CFG).path is None
    assert len(list(out.iterdir())) == 2
    assert extra  # the objector and the homeless were dropped in the first run


def test_a_card_past_the_lookback_window_is_dropped_as_late(engine: Engine, out: Path) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        stale = touch(s, sally, dana, channel="card", template="holiday", occasion_key="nov",
                      due_at=datetime(2026, 11, 19, 9, 0, tzinfo=UTC))
        fresh = touch(s, sally, dana, channel="card", template="holiday", occasion_key="dec",
                      due_at=NOW - timedelta(days=2))
    batch = export_cards(engine, NOW, out, settings=CFG)
    assert batch.touch_ids == [fresh]
    assert batch.dropped == {
        stale: "late: due 2026-11-19T09:00:00+00:00, more than 3 days before this run"}
    with transaction(engine) as s:
        row = s.get(Touch, stale)
        assert row is not None and (row.status, row.drop_reason) == ("dropped",
                                                                     batch.dropped[stale])


def test_a_card_that_fails_on_its_own_leaves_the_batch_to_the_others(
        engine: Engine, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import patronage.care.channels.cards as cards

    ids, _ = _setup(engine, customers=3)
    real = cards.build_context

    def broken(session: object, row: Touch, *args: object, **kw: object) -> object:
        if row.id == ids[1]:
            raise ZeroDivisionError("a bug met by one record")
        return real(session, row, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cards, "build_context", broken)
    batch = export_cards(engine, NOW, out, settings=CFG)
    assert sorted(batch.touch_ids) == sorted([ids[0], ids[2]])
    with transaction(engine) as s:
        bad = s.get(Touch, ids[1])
        assert bad is not None and bad.status == "failed"
        assert bad.last_error == f"member {bad.member_id}: ZeroDivisionError: a bug met by one " \
            "record" == batch.failed[ids[1]]


def _names_batch(engine: Engine, names: list[tuple[str, str]]) -> list[int]:
    with transaction(engine) as s:
        dana = distributor(s)
        return [touch(s, customer(s, dana, first, last_name=last), dana, channel="card",
                      template="holiday", due_at=NOW - timedelta(minutes=n))
                for n, (first, last) in enumerate(names)]


def test_a_card_the_fonts_cannot_print_fails_with_the_reason_and_the_others_print(
        engine: Engine, out: Path, caplog: pytest.LogCaptureFixture) -> None:
    renee, aki, inigo = _names_batch(engine, [("Renée", "Weiß"), ("あき🎉", "Smith"),
                                              ("Íñigo", "Muñoz")])
    with caplog.at_level("WARNING"):
        batch = export_cards(engine, NOW, out, settings=CFG)

    assert sorted(batch.touch_ids) == sorted([renee, inigo])
    assert list(batch.failed) == [aki]
    assert batch.failed[aki].endswith(
        "the card's text uses characters the card font cannot print: 'あ', 'き', '🎉'")
    assert batch.path is not None
    assert page_formats(batch.path.read_bytes()) == [(595, 420), (595, 420), (595, 842)]
    assert not [r for r in caplog.records if "missing the following glyphs" in r.getMessage()]
    with transaction(engine) as s:
        failed = s.get(Touch, aki)
        assert failed is not None and (failed.status, failed.sent_at) == ("failed", None)
        assert failed.last_error == batch.failed[aki]
        for tid in (renee, inigo):
            row = s.get(Touch, tid)
            assert row is not None and row.status == "sent"


def test_letters_the_handwriting_lacks_print_in_the_plain_font(
        engine: Engine, out: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The handwriting font has no 'œ' or Cyrillic; the plain font prints them on the inside.
    [chloe, olga] = _names_batch(engine, [("Lœtitia", "Dubœuf"), ("Ольга", "Петрова")])
    with caplog.at_level("WARNING"):
        batch = export_cards(engine, NOW, out, settings=CFG)
    assert batch.failed == {}
    assert sorted(batch.touch_ids) == sorted([chloe, olga])
    assert not [r for r in caplog.records if "missing the following glyphs" in r.getMessage()]
