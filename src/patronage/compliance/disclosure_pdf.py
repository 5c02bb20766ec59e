"""The income disclosure statement as a PDF (fpdf2, the library the greeting cards are printed
with; DejaVu Sans, so every letter of a name or a currency prints): the same figures as the web
page and the CSV, in the reader's language, landscape A4. The document's date is the end of the
year it discloses, so a year regenerated gives the same bytes."""

from __future__ import annotations

from datetime import UTC, datetime

from fpdf import FPDF, FontFace

from patronage.care.channels.cards import PLAIN
from patronage.compliance.core.disclosure import EarningsRow
from patronage.compliance.disclosure import Disclosure
from patronage.languages import _
from patronage.languages.formatting import format_money, format_number, format_percent

PERCENTILE_COLUMNS = (10, 25, 75, 90, 99)


def _rank(d: Disclosure, row: EarningsRow) -> str:
    if row.rank is None:
        return _("All participants")
    return d.rank_name(row.rank) or _("No rank")


def _table(pdf: FPDF, d: Disclosure, rows: list[EarningsRow], caption: str) -> None:
    pdf.set_font("Plain", size=10)
    pdf.multi_cell(0, 6, caption, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Plain", size=7)
    head = [_("Paid-as rank"), _("Participants"), _("Share"), _("Earned nothing"), _("Median"),
            _("Mean"), *(f"{p}%" for p in PERCENTILE_COLUMNS), _("Range"),
            _("Months at rank (mean)")]

    def money(amount: int) -> str:
        return format_money(amount, d.currency)

    with pdf.table(col_widths=(30, 17, 13, 15, 19, 19, 17, 17, 17, 19, 21, 36, 17),
                   text_align="RIGHT", first_row_as_headings=True,
                   headings_style=FontFace(emphasis=None, fill_color=(235, 235, 235))) as table:
        table.row(head)
        for r in rows:
            table.row([
                _rank(d, r), format_number(r.headcount), format_percent(r.share),
                format_percent(r.share_earning_nothing), money(r.median), money(r.mean),
                *(money(r.percentiles[p]) for p in PERCENTILE_COLUMNS),
                f"{money(r.lowest)} – {money(r.highest)}",
                "" if r.mean_months_at_rank is None else format_number(r.mean_months_at_rank,
                                                                       decimals=1)])
    pdf.ln(4)


def disclosure_pdf(d: Disclosure, expenses: str = "") -> bytes:
    """The statement of ``d`` as PDF bytes."""
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_creation_date(datetime(d.year, 12, 31, 23, 59, 59, tzinfo=UTC))
    pdf.set_title(_("Income disclosure %(year)s") % {"year": d.year})
    pdf.add_font("Plain", fname=str(PLAIN))
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("Plain", size=16)
    pdf.cell(0, 10, _("Income disclosure %(year)s") % {"year": d.year}, new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("Plain", size=10)
    pdf.multi_cell(0, 5, _("These are gross earnings: what the company paid, before any expense "
                           "a participant had."), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, (_("Typical expenses, as the company states them:") + " " + expenses)
                   if expenses else
                   _("Participants pay their own costs (products bought for their business, "
                     "samples, events, travel, fees); none is deducted here."),
                   new_x="LMARGIN", new_y="NEXT")
    everyone = d.everyone[-1]
    pdf.ln(2)
    pdf.multi_cell(0, 5, _("%(n)s people were distributors during the year. %(z)s of them "
                           "earned nothing. Half earned %(m)s or less.") % {
        "n": format_number(d.participants), "z": format_percent(everyone.share_earning_nothing),
        "m": format_money(everyone.median, d.currency)}, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _table(pdf, d, d.everyone,
           _("Everyone who was a distributor during the year, by highest paid-as rank"))
    pdf.set_font("Plain", size=10)
    pdf.multi_cell(0, 5, _("%(n)s joined before the year began and stayed all year.")
                   % {"n": format_number(d.full_year_participants)},
                   new_x="LMARGIN", new_y="NEXT")
    if d.full_year:
        _table(pdf, d, d.full_year,
               _("Distributors for the whole year, by highest paid-as rank"))
    pdf.set_font("Plain", size=8)
    pdf.multi_cell(0, 4, _("From the committed months %(months)s. Percentiles interpolate "
                           "between the two nearest participants; amounts are rounded to the "
                           "cent.") % {"months": ", ".join(d.periods)},
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
