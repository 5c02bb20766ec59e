"""Ledger movements, adjustment reasons and holds in words, in the reader's language (the
earnings page, statements on the web and in PDF)."""

from __future__ import annotations

from functools import lru_cache

from patronage.compensation.reports import bonus_label
from patronage.languages import N_, _
from patronage.payouts.ledger import Movement

#: Adjustment reasons in words (translated when shown).
REASON_WORDS = {"missed_bonus": N_("missed bonus"), "promotion": N_("promotion or prize"),
                "correction": N_("correction"), "fee": N_("fee"),
                "debt_recovery": N_("money owed to the company"), "other": N_("other")}
#: Why a staff or returned-payment hold was placed, in words.
HOLD_KIND_WORDS = {"manual": N_("Payments held by the company"),
                   "returned": N_("Payments held: a payment came back from the bank")}


def source_words(m: Movement) -> str:
    """Where a movement came from, in words."""
    if m.kind == "earned":
        return _("Commissions for {period}").format(period=m.period)
    if m.kind == "clawed_back":
        return _("Commissions taken back for refunded orders, run of {period}").format(
            period=m.period)
    if m.kind == "adjusted":
        reason = _(REASON_WORDS.get(m.reason or "", "other"))
        return _("Adjustment ({reason}): {note}").format(reason=reason, note=m.note or "")
    if m.kind == "paid":
        return _("Payment {ref}, pay date {day}").format(
            ref=m.payment_ref, day=m.pay_date.isoformat() if m.pay_date else "")
    return _("Payment {ref} came back from the bank").format(ref=m.payment_ref)


def hold_event_words(reason: str, released: bool, note: str) -> str:
    """A hold placed or released, in words."""
    what = _(HOLD_KIND_WORDS.get(reason, HOLD_KIND_WORDS["manual"]))
    text = _("{hold} ended").format(hold=what) if released else what
    return f"{text}: {note}" if note else text


@lru_cache(maxsize=16)
def _rank_names(plan_text: str) -> tuple[str, ...]:
    from patronage.compensation.runs import PlanSource

    return tuple(r.name for r in PlanSource.from_text(plan_text).plan.ranks)


def rank_name(plan_text: str, index: int) -> str:
    """A rank index of a run's plan by name (or "no rank")."""
    names = _rank_names(plan_text)
    return names[index] if 0 <= index < len(names) else _("no rank")


def bonus_words(bonus: str) -> str:
    return bonus_label(bonus)
