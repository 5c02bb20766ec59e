"""A monthly statement in words (rows for the web page and the PDF) and as a PDF (A4), in the
reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.errors import FPDFUnicodeEncodingException

from patronage.languages import _
from patronage.languages.formatting import format_money, format_points
from patronage.payouts.statements import Statement
from patronage.payouts.words import bonus_words, hold_event_words, rank_name, source_words

PLAIN = Path(__file__).resolve().parent.parent / "care" / "fonts" / "DejaVuSans.ttf"


@dataclass(frozen=True)
class Row:
    """One line of a statement: date, words, amount (empty for a hold), the commissions by
    bonus under it."""

    day: str
    words: str
    amount: str
    details: tuple[tuple[str, str], ...] = ()


def statement_rows(st: Statement) -> list[Row]:
    """The month's movements and hold events in date order, in words."""
    timed: list[tuple[object, int, Row]] = []
    for line in st.lines:
        m = line.movement
        details = tuple((bonus_words(b), format_money(a, m.currency)) for b, a in line.bonuses)
        timed.append((m.posted_at, 0, Row(m.posted_at.strftime("%Y-%m-%d"), source_words(m),
                                          format_money(m.amount, m.currency), details)))
    for ev in st.holds:
        timed.append((ev.at, 1, Row(ev.at.strftime("%Y-%m-%d"),
                                    hold_event_words(ev.reason, ev.released, ev.note), "")))
    timed.sort(key=lambda t: (str(t[0]), t[1]))
    return [r for _at, _k, r in timed]


def rank_rows(st: Statement) -> list[tuple[str, str, str, str]]:
    """(period, paid-as rank, personal volume, group volume) of the runs posted in the
    month."""
    return [(r.period, rank_name(r.plan_text, r.paid_as), format_points(r.pv),
             format_points(r.gv)) for r in st.ranks]


def statement_pdf(st: Statement, *, company_name: str) -> bytes:
    """The statement as a one-or-more-page A4 PDF. Written in the PDF's built-in Helvetica
    when every letter is in its Western European set (a small file, made in milliseconds),
    else in the embedded plain font (most alphabets; a subset of it is embedded)."""
    try:
        return _pdf(st, company_name, embedded=False)
    except FPDFUnicodeEncodingException:
        return _pdf(st, company_name, embedded=True)


def _pdf(st: Statement, company_name: str, *, embedded: bool) -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_title(f"{company_name} {st.month}")
    pdf.set_auto_page_break(True, margin=15)
    if embedded:
        pdf.add_font("Plain", fname=str(PLAIN))
    else:
        pdf.core_fonts_encoding = "windows-1252"
    font = "Plain" if embedded else "Helvetica"
    pdf.add_page()
    pdf.set_font(font, size=16)
    pdf.cell(0, 9, _("Statement for {month}").format(month=st.month),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, size=10)
    pdf.cell(0, 6, f"{company_name} · {st.name} · {_('member')} {st.member_id}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    currencies = st.currencies
    for c in currencies:
        pdf.cell(95, 6, _("Opening balance") + f" ({c})")
        pdf.cell(0, 6, format_money(st.opening.get(c, 0), c), align="R",
                 new_x="LMARGIN", new_y="NEXT")
    if not currencies:
        pdf.cell(0, 6, _("Nothing on your balance yet."), new_x="LMARGIN", new_y="NEXT")
    ranks = rank_rows(st)
    if ranks:
        pdf.ln(2)
        pdf.set_font(font, size=12)
        pdf.cell(0, 7, _("Ranks and volumes"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(font, size=10)
        for period, rank, pv, gv in ranks:
            pdf.cell(0, 6, _("{period}: paid as {rank}, personal volume {pv}, group volume "
                             "{gv}").format(period=period, rank=rank, pv=pv, gv=gv),
                     new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(font, size=12)
    pdf.cell(0, 7, _("Every movement"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, size=10)
    rows = statement_rows(st)
    if not rows:
        pdf.cell(0, 6, _("No movements this month."), new_x="LMARGIN", new_y="NEXT")
    for row in rows:
        y = pdf.get_y()
        pdf.cell(24, 6, row.day)
        pdf.multi_cell(126, 6, row.words, new_x="RIGHT", new_y="TOP")
        pdf.cell(0, 6, row.amount, align="R")
        pdf.set_y(y + max(6.0, _height(pdf, row.words)))
        pdf.set_font(font, size=8)
        for bonus, amount in row.details:
            pdf.set_x(pdf.l_margin + 30)
            pdf.cell(110, 4.5, bonus)
            pdf.cell(0, 4.5, amount, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(font, size=10)
    pdf.ln(2)
    for c in currencies:
        pdf.cell(95, 6, _("Closing balance") + f" ({c})")
        pdf.cell(0, 6, format_money(st.closing.get(c, 0), c), align="R",
                 new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _height(pdf: FPDF, text: str) -> float:
    lines = pdf.multi_cell(126, 6, text, dry_run=True, output="LINES")
    return 6.0 * (len(lines) if isinstance(lines, list) else 1)
