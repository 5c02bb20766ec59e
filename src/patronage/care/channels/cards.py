"""Printed cards: the due card touches as one print-ready PDF batch.

One card per page (A5 landscape, folded in the middle: the front greeting on the left half,
the inside message on the right half in a handwriting font), then an address sheet (A4, 14
labels a page, in the same order as the cards, each label with its card number).

A batch is never printed twice, and a card is never in two batches. An export first *chooses*
its cards, in one transaction: it records an ``open`` batch (``care_card_batches``) with its
file name and assigns each card to it. Then it writes the file (to a temporary name, renamed
into place) and, in one more transaction, marks the batch's cards sent and the batch ``done``.
If the export is killed anywhere in between, the batch stays open and its cards planned; the
next export finishes that batch first: it writes the same file, under the same name, for the
same cards, and marks them, instead of choosing the cards again for a second batch. (Print a
batch once its export has reported it; a file left by a killed export is rewritten.)

When choosing, a member who objected to post, has no postal address or is no longer active is
dropped with the reason, and so is a card due more than the rules' ``lookback_days`` before the
run (late: a holiday card two weeks after the holiday). A card is written with the template of
the playbook the member's owner adopted, if it has one that fits, else the company's; a card
whose text makes a claim the company forbids is dropped with the phrase and the reason. A card
that meets an error of its own
(a template that cannot render, a bad record) is failed with the reason; the others go on.

A card is never printed with letters missing. The handwriting font covers Latin letters only;
a letter it lacks (œ, €, Cyrillic, Greek) is printed from the plain font, which covers most
alphabets and some symbols. A card whose text (greeting, message, name or address) has a
character neither font can print (Chinese, Japanese or Korean script, most emoji) is failed
with the reason naming the characters, and the others in the batch print.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from patronage.care.content import CardContent, TemplateSet, build_context, default_templates
from patronage.care.core.rules import Rules
from patronage.care.outcomes import failure_text, late_window, lateness
from patronage.care.playbook_templates import ForbiddenPhrase, Wording
from patronage.clock import require_aware
from patronage.compliance.claims import company_claims
from patronage.config import Settings
from patronage.db.care import CardBatchRecord, Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import Conflict, NotFound, PatronageError
from patronage.network.members import consents_in_force

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
HANDWRITING = FONT_DIR / "Kristi.ttf"
PLAIN = FONT_DIR / "DejaVuSans.ttf"
LABELS_PER_PAGE = 14
A5 = (148.0, 210.0)  # millimetres, portrait; a card page is A5 turned to landscape
A4 = (210.0, 297.0)


@dataclass
class CardBatch:
    """An exported batch: the file (``None`` when nothing was due), the cards in page order."""

    path: Path | None
    touch_ids: list[int] = field(default_factory=list)
    pages: int = 0
    dropped: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    #: the batch's id in ``care_card_batches`` (``None`` when nothing was due)
    batch_id: int | None = None
    #: True when this export finished a batch a killed export had left open
    resumed: bool = False


@dataclass(frozen=True)
class _Card:
    touch_id: int
    content: CardContent
    name: str
    address: list[str]


def postal_address(member: Member) -> list[str]:
    """The lines of a member's postal address (empty if it is not complete enough to post)."""
    if not (member.address_line1 and member.city):
        return []
    city = " ".join(p for p in (member.city, member.region, member.postal_code) if p)
    return [line for line in (member.address_line1, member.address_line2, city,
                              member.country) if line]


def _refusal(member: Member, consent: bool | None) -> str | None:
    if member.status != "active":
        return f"member is {member.status}"
    if consent is False:
        return "objected to post"
    if not postal_address(member):
        return "no postal address"
    return None


@cache
def _covered(font: Path) -> frozenset[int]:
    """The code points a font has a glyph for (read from its character map)."""
    with TTFont(str(font), lazy=True) as ttf:
        return frozenset(ttf.getBestCmap())


def _needs_no_glyph(char: str) -> bool:
    """Line breaks, tabs and invisible format marks (joiners, variation selectors)."""
    return unicodedata.category(char) in ("Cc", "Cf") or "\ufe00" <= char <= "\ufe0f"


def unprintable(text: str, *fonts: Path) -> list[str]:
    """The characters of ``text`` (once each, in order) that none of ``fonts`` can print."""
    covered = [_covered(font) for font in fonts]
    missing: dict[str, None] = {}
    for char in text:
        if not _needs_no_glyph(char) and not any(ord(char) in c for c in covered):
            missing[char] = None
    return list(missing)


def check_printable(content: CardContent, name: str, address: list[str]) -> None:
    """Refuse a card whose text has characters the card fonts cannot print (they would be
    left out of the printed card without a trace)."""
    missing = list(dict.fromkeys(
        unprintable(content.inside, HANDWRITING, PLAIN)
        + unprintable("\n".join([content.front, name, *address]), PLAIN)))
    if missing:
        raise PatronageError("the card's text uses characters the card font cannot print: "
                             + ", ".join(f"'{char}'" for char in missing))


def _pdf(cards: list[_Card], settings: Settings, now: datetime) -> FPDF:
    pdf = FPDF(unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(now)
    pdf.set_title(f"{settings.company_name}: cards of {now.date().isoformat()}")
    pdf.add_font("Hand", fname=str(HANDWRITING))
    pdf.add_font("Plain", fname=str(PLAIN))
    pdf.set_fallback_fonts(["Plain"], exact_match=False)  # a letter the handwriting lacks
    for number, card in enumerate(cards, start=1):
        pdf.add_page(format=A5, orientation="L")
        pdf.set_draw_color(200, 200, 200)
        pdf.set_dash_pattern(dash=1, gap=2)
        pdf.line(105, 5, 105, 143)
        pdf.set_dash_pattern()
        pdf.set_font("Plain", size=26)
        pdf.set_xy(10, 55)
        pdf.multi_cell(85, 12, card.content.front, align="C")
        pdf.set_font("Plain", size=8)
        pdf.set_xy(10, 135)
        pdf.cell(85, 5, f"{settings.company_name} · card {number}", align="C")
        size = 22.0
        while size > 10:
            pdf.set_font("Hand", size=size)
            lines = pdf.multi_cell(85, size * 0.45, card.content.inside, align="L",
                                   dry_run=True, output="LINES")
            if isinstance(lines, list) and len(lines) * size * 0.45 <= 120:
                break
            size -= 2
        pdf.set_xy(115, 14)
        pdf.multi_cell(85, size * 0.45, card.content.inside, align="L")
    pdf.set_font("Plain", size=10)
    for index, card in enumerate(cards):
        slot = index % LABELS_PER_PAGE
        if slot == 0:
            pdf.add_page(format=A4, orientation="P")
            pdf.set_font("Plain", size=8)
            pdf.set_xy(10, 6)
            pdf.cell(190, 4, f"Addresses, in card order ({len(cards)} cards)")
            pdf.set_font("Plain", size=10)
        x, y = 10 + (slot % 2) * 97, 13 + (slot // 2) * 39
        pdf.set_xy(x + 4, y + 4)
        pdf.multi_cell(88, 5, "\n".join([card.name, *card.address]), align="L")
        pdf.set_font("Plain", size=6)
        pdf.set_xy(x + 70, y + 32)
        pdf.cell(22, 3, f"card {index + 1}", align="R")
        pdf.set_font("Plain", size=10)
    return pdf


def _file_name(session: Session, out_dir: Path, now: datetime) -> str:
    """A name no file in ``out_dir`` and no other batch has: ``cards-<now>[-n].pdf``."""
    stem = f"cards-{now.strftime('%Y%m%dT%H%M%SZ')}"
    taken = set(session.scalars(select(CardBatchRecord.file_name).where(
        CardBatchRecord.file_name.like(f"{stem}%"))))
    name, n = f"{stem}.pdf", 1
    while name in taken or (out_dir / name).exists():
        n += 1
        name = f"{stem}-{n}.pdf"
    return name


def _choose(engine: Engine, now: datetime, out_dir: Path, late_after: timedelta,
            batch: CardBatch) -> CardBatchRecord | None:
    """The open batch left by a killed export, or a new one with the cards due at ``now``
    assigned to it (dropped and failed cards recorded in ``batch``); ``None`` if none is due."""
    with transaction(engine) as session:
        record = session.scalars(select(CardBatchRecord).where(CardBatchRecord.status == "open")
                                 .order_by(CardBatchRecord.id).limit(1)
                                 .with_for_update()).first()
        if record is not None:
            batch.resumed = True
            session.expunge(record)
            return record
        touches = session.scalars(
            select(Touch).where(Touch.status == "planned", Touch.channel == "card",
                                Touch.due_at <= now, Touch.card_batch_id.is_(None))
            .order_by(Touch.due_at, Touch.id).with_for_update()
        ).all()
        chosen: list[Touch] = []
        for touch in touches:
            try:
                member = session.get(Member, touch.member_id)
                assert member is not None
                reason = _refusal(member, consents_in_force(session, member.id).get("post")) \
                    or lateness(touch.due_at, now, late_after)
            except Exception as exc:  # one bad record: fail this card, go on with the others
                touch.status = "failed"
                touch.last_error = batch.failed[touch.id] = failure_text(touch.member_id, exc)
                continue
            if reason is not None:
                touch.status, touch.drop_reason = "dropped", reason
                batch.dropped[touch.id] = reason
                continue
            chosen.append(touch)
        if not chosen:
            return None
        record = CardBatchRecord(created_at=now, file_name=_file_name(session, out_dir, now),
                                 status="open", cards=len(chosen))
        session.add(record)
        session.flush()
        for touch in chosen:
            touch.card_batch_id = record.id
        session.flush()
        session.expunge(record)
        return record


def _mark_sent(session: Session, record: CardBatchRecord, now: datetime, cards: int) -> None:
    """Mark the batch's cards sent and the batch done (one statement for all its cards)."""
    session.execute(
        update(Touch).where(Touch.card_batch_id == record.id, Touch.status == "planned")
        .values(status="sent", sent_at=now, attempts=Touch.attempts + 1)
        .execution_options(synchronize_session=False))
    session.execute(
        update(CardBatchRecord).where(CardBatchRecord.id == record.id,
                                      CardBatchRecord.status == "open")
        .values(status="done", finished_at=now, cards=cards))


def export_cards(engine: Engine, now: datetime, out_dir: Path, *,
                 settings: Settings, templates: TemplateSet | None = None,
                 rules: Rules | None = None) -> CardBatch:
    """Export the card touches due at ``now`` into one PDF in ``out_dir`` and mark them sent;
    or first finish the batch a killed export left open (see the module's description)."""
    require_aware(now, place="now")
    cfg = settings
    tset = templates or default_templates()
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise PatronageError(f"--out: {out_dir} is not a folder")
    batch = CardBatch(path=None)
    record = _choose(engine, now, out_dir, late_window(rules), batch)
    if record is None:
        return batch
    made = record.created_at  # the batch is rendered as of its making, so a rewrite is the same
    final = out_dir / record.file_name
    partial = out_dir / f".{record.file_name}.part"
    try:
        with transaction(engine) as session:
            touches = session.scalars(
                select(Touch).where(Touch.card_batch_id == record.id, Touch.status == "planned")
                .order_by(Touch.due_at, Touch.id)).all()
            cards: list[_Card] = []
            wording = Wording(tset, company_claims(session))
            wording.preload(session)
            for touch in touches:
                try:
                    member = session.get(Member, touch.member_id)
                    assert member is not None
                    content = wording.card(session, touch, build_context(session, touch, made,
                                                                         settings=cfg))
                    address = postal_address(member)
                    check_printable(content, member.name, address)
                    cards.append(_Card(touch.id, content, member.name, address))
                except ForbiddenPhrase as exc:  # the company forbids what it would say
                    touch.status = "dropped"
                    touch.drop_reason = batch.dropped[touch.id] = str(exc)[:500]
                except Exception as exc:  # one bad record: fail this card, print the others
                    touch.status = "failed"
                    touch.last_error = batch.failed[touch.id] = failure_text(touch.member_id,
                                                                             exc)
            session.flush()
            pdf = _pdf(cards, cfg, made) if cards else None
            if pdf is not None:
                pdf.output(str(partial))
                with open(partial, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(partial, final)
                batch.path, batch.pages = final, pdf.pages_count
            _mark_sent(session, record, now, len(cards))
            batch.batch_id = record.id
            batch.touch_ids = [c.touch_id for c in cards]
    finally:
        if partial.exists():
            partial.unlink()
    return batch


def batch_prefix(owner_id: int) -> str:
    """How the file names of the batches a distributor printed from the web begin."""
    return f"web-{owner_id}-"


@dataclass(frozen=True)
class HandPrinted:
    """Cards a distributor printed from the web: the PDF, and the cards in page order."""

    pdf: bytes
    touch_ids: list[int]
    batch_id: int
    #: cards printed before (a repeated request): printed again, nothing changed
    reprinted: list[int] = field(default_factory=list)


def print_own_cards(session: Session, owner_id: int, touch_ids: list[int], now: datetime, *,
                    settings: Settings, templates: TemplateSet | None = None) -> HandPrinted:
    """The distributor's chosen cards as one print-ready PDF (cards, then address labels); the
    cards then count as made (``sent``), in one batch of their own.

    Only the owner's open cards (or ones they printed before, printed again unchanged, so a
    repeated request never makes a second batch of the same cards) may be chosen; anything
    else is refused naming the card, and nothing is marked. A card without a postal address
    prints with its name alone (the distributor hands it over)."""
    require_aware(now, place="now")
    ids = list(dict.fromkeys(touch_ids))
    if not ids:
        raise PatronageError("cards: choose at least one card to print")
    if len(ids) > 200:
        raise PatronageError(f"cards: at most 200 cards at a time ({len(ids)} chosen)")
    tset = templates or default_templates()
    touches = {t.id: t for t in session.scalars(select(Touch).where(Touch.id.in_(ids))
                                               .with_for_update())}
    for touch_id in ids:
        touch = touches.get(touch_id)
        if touch is None or touch.owner_id != owner_id or touch.channel != "card":
            raise NotFound(f"card {touch_id} does not exist")
        if touch.status not in ("planned", "sent"):
            raise Conflict(f"card {touch_id} is {touch.status}; it cannot be printed")
    order = sorted(ids, key=lambda i: (touches[i].due_at, i))
    cards: list[_Card] = []
    wording = Wording(tset, company_claims(session))
    for touch_id in order:
        touch = touches[touch_id]
        member = session.get(Member, touch.member_id)
        assert member is not None
        made = touch.sent_at if touch.status == "sent" and touch.sent_at else now
        try:
            content = wording.card(session, touch, build_context(session, touch, made,
                                                                 settings=settings))
            address = postal_address(member)
            check_printable(content, member.name, address)
        except PatronageError as exc:
            raise Conflict(f"card {touch_id} for {member.name}: {exc}") from exc
        cards.append(_Card(touch.id, content, member.name, address))
    fresh = [i for i in order if touches[i].status == "planned"]
    reprinted = [i for i in order if touches[i].status == "sent"]
    earlier = {touches[i].card_batch_id for i in reprinted} - {None}
    if fresh or not earlier:
        record = CardBatchRecord(created_at=now, file_name=f"{batch_prefix(owner_id)}"
                                 f"{now.strftime('%Y%m%dT%H%M%SZ')}.pdf", status="done",
                                 cards=len(fresh), finished_at=now)
        session.add(record)
        session.flush()
        batch_id = record.id
        for i in fresh:
            touch = touches[i]
            touch.card_batch_id, touch.status, touch.sent_at = batch_id, "sent", now
            touch.attempts = (touch.attempts or 0) + 1
        session.flush()
    else:
        batch_id = min(b for b in earlier if b is not None)
    pdf = _pdf(cards, settings, now)
    return HandPrinted(bytes(pdf.output()), order, batch_id, reprinted)
