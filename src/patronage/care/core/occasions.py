"""The occasions a care rule can answer, and how each one's occasion key is written.

Three sorts of occasion:

- *calendar* occasions come back every year on a local date: ``birthday``, ``anniversary`` (of
  joining), ``holiday``. A rule may plan them ``lead_days`` ahead; a printed card is planned the
  company's postal lead days ahead so that it arrives on the day.
- *event* occasions follow something that happened at an instant: ``first_order``, ``order``
  (every order, or every Nth), ``referral`` (a referred friend's first order),
  ``testimonial`` (given), ``survey_answered``, ``new_contact`` (the member joined: nice to meet
  you; and, for task rules, someone a distributor met, from the ``contacts`` table: the owner
  distributor gets "Send Sam a nice-to-meet-you note", once per contact), ``payment_failed``
  (an autoship charge declined), ``autoship_cancelled``. A rule may wait ``delay_days`` after
  it.
- *state* occasions hold for a while: ``no_touch`` (no personal touch in N days) and
  ``value_at_risk`` (the latest customer value run puts at least an amount at risk). They fire
  once per window: ``no_touch`` N days after the last personal touch, or, when that moment is
  already past, at the member's own stable place in every N-day window (a hash of the member
  id, so a new company's overdue check-ins spread over N days); ``value_at_risk`` once a
  month. A state touch dropped by a frequency cap comes back in its next window.

The occasion key tells one rule's occasions for one member apart; it is what makes a touch happen
at most once. Its number form (``key_num``) is what the planner computes with.
"""

from __future__ import annotations

from typing import Literal

Occasion = Literal["birthday", "anniversary", "holiday", "first_order", "order", "referral",
                   "testimonial", "survey_answered", "new_contact", "no_touch", "payment_failed",
                   "autoship_cancelled", "value_at_risk"]

CALENDAR: tuple[str, ...] = ("birthday", "anniversary", "holiday")
EVENTS: tuple[str, ...] = ("first_order", "order", "referral", "testimonial", "survey_answered",
                           "new_contact", "payment_failed", "autoship_cancelled")
STATES: tuple[str, ...] = ("no_touch", "value_at_risk")
OCCASIONS: tuple[str, ...] = CALENDAR + EVENTS + STATES

#: Occasions muted while an autoship payment is being recovered (dunning): win-back, "we miss
#: you" and check-in messages would be tone-deaf then.
MUTED_IN_RECOVERY: tuple[str, ...] = ("no_touch", "value_at_risk", "autoship_cancelled")

#: Words for a task's summary ("Call Sally today: her birthday").
WORDS: dict[str, str] = {
    "birthday": "birthday", "anniversary": "customer anniversary", "holiday": "holiday",
    "first_order": "first order", "order": "order", "referral": "referred someone",
    "testimonial": "gave a testimonial", "survey_answered": "answered a survey",
    "new_contact": "new, nice to meet", "no_touch": "no personal touch lately",
    "payment_failed": "autoship payment failed", "autoship_cancelled": "cancelled autoship",
    "value_at_risk": "value at risk",
}


def _date_text(num: int) -> str:
    return f"{num // 10000:04d}-{num // 100 % 100:02d}-{num % 100:02d}"


def key_text(occasion: str, num: int) -> str:
    """The stored occasion key: ``2026`` (birthday, anniversary), ``2026-12-25`` (holiday, no
    touch since...), ``2026-11`` (value at risk), ``joined`` (new contact: the member joined) or
    ``contact:<id>`` (a contact met; its number form is ``-id``), else the record id
    (order, referred member, testimonial, survey answer, declined charge, subscription)."""
    if occasion in ("birthday", "anniversary"):
        return f"{num:04d}"
    if occasion in ("holiday", "no_touch"):
        return _date_text(num)
    if occasion == "value_at_risk":
        return f"{num // 100:04d}-{num % 100:02d}"
    if occasion == "new_contact":
        return "joined" if num >= 0 else f"contact:{-num}"
    return str(num)


def key_num(occasion: str, text: str) -> int | None:
    """The number form of a stored occasion key (None if it is not one this code writes)."""
    try:
        if occasion in ("holiday", "no_touch", "value_at_risk"):
            return int(text.replace("-", ""))
        if occasion == "new_contact":
            if text.startswith("contact:") and text[8:].isdigit():
                return -int(text[8:])
            return 0 if text == "joined" else None
        return int(text)
    except ValueError:
        return None
