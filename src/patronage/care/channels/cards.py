"""Printed cards: the due card touches as one print-ready PDF batch.

One card per page (A5 landscape, folded in the middle: the front greeting on the left half,
the inside message on the right half in a handwriting font), then an address sheet (A4, 14
labels a page, in the same order as the cards, each label with its card number).

The batch is written to a temporary file, renamed into place, and only then are its touches
marked sent, in the same transaction that read them; if that commit fails, the file is removed,
so a batch on disk always matches touches marked sent and a card is never printed twice.
A member who objected to post, has no postal address or is no longer active is dropped with
the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from sqlalchemy import Engine, select

from patronage.care.content import CardContent, TemplateSet, build_context, default_templates
from patronage.clock import require_aware
from patronage.config import Settings, get_settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError
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


def _pdf(cards: list[_Card], settings: Settings, now: datetime) -> FPDF:
    pdf = FPDF(unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(now)
    pdf.set_title(f"{settings.company_name}: cards of {now.date().isoformat()}")
    pdf.add_font("Hand", fname=str(HANDWRITING))
    pdf.add_font("Plain", fname=str(PLAIN))
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


def _file_name(out_dir: Path, now: datetime) -> Path:
    stem = f"cards-{now.strftime('%Y%m%dT%H%M%SZ')}"
    path, n = out_dir / f"{stem}.pdf", 1
    while path.exists():
        n += 1
        path = out_dir / f"{stem}-{n}.pdf"
    return path


def export_cards(engine: Engine, now: datetime, out_dir: Path, *,
                 settings: Settings | None = None,
                 templates: TemplateSet | None = None) -> CardBatch:
    """Export every card touch due at ``now`` into one PDF in ``out_dir`` and mark them sent."""
    require_aware(now, place="now")
    cfg = settings or get_settings()
    tset = templates or default_templates()
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise PatronageError(f"--out: {out_dir} is not a folder")
    batch = CardBatch(path=None)
    final: Path | None = None
    partial: Path | None = None
    try:
        with transaction(engine) as session:
            touches = session.scalars(
                select(Touch).where(Touch.status == "planned", Touch.channel == "card",
                                    Touch.due_at <= now)
                .order_by(Touch.due_at, Touch.id).with_for_update()
            ).all()
            cards: list[_Card] = []
            for touch in touches:
                member = session.get(Member, touch.member_id)
                assert member is not None
                reason = _refusal(member, consents_in_force(session, member.id).get("post"))
                if reason is not None:
                    touch.status, touch.drop_reason = "dropped", reason
                    batch.dropped[touch.id] = reason
                    continue
                try:
                    content = tset.card(touch.template, build_context(session, touch, now,
                                                                      settings=cfg))
                except PatronageError as exc:
                    touch.status, touch.last_error = "failed", str(exc)[:500]
                    batch.failed[touch.id] = str(exc)
                    continue
                cards.append(_Card(touch.id, content, member.name, postal_address(member)))
            if cards:
                pdf = _pdf(cards, cfg, now)
                final = _file_name(out_dir, now)
                partial = out_dir / f".{final.name}.part"
                pdf.output(str(partial))
                with open(partial, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(partial, final)
                for touch in touches:
                    if touch.id in {c.touch_id for c in cards}:
                        touch.status, touch.sent_at = "sent", now
                        touch.attempts += 1
                batch.path, batch.pages = final, pdf.pages_count
                batch.touch_ids = [c.touch_id for c in cards]
    except BaseException:
        for leftover in (partial, final):
            if leftover is not None and leftover.exists():
                leftover.unlink()
        raise
    return batch
