"""Codes written into payout and skip lines: what a line's source is, and why a payment was
not made. Stored as numbers; never renumbered."""

from __future__ import annotations

from patronage.languages import N_

#: What a payout line's ``source`` is: an order id, or a member index.
SOURCE_ORDER, SOURCE_MEMBER = 0, 1
SOURCE_KINDS = ("order", "member")  # by those numbers

#: Why a payment was not made to the member who would have had it.
REASON_NOT_IN_STANDING = 1  # status is not active (inactive, terminated, erased)
REASON_INACTIVE = 2  # PV below the active minimum
REASON_RANK_DEPTH = 3  # paid-as rank does not pay this deep
REASON_NO_UPLINE = 4  # nobody above qualifies
REASON_NOT_DISTRIBUTOR = 5
REASON_NOT_BROKEN_AWAY = 6  # holds the breakaway title but is not paid as that rank now
REASON_CUSTOMER_SHARE = 7  # withheld: the team's customers bought too little of its volume
REASON_RANK_NOT_HELD = 8  # the rank an instalment is for is not held this period: forfeited
REASON_NO_RATE = 9  # paid-as rank has no rate for this generation
REASONS = {
    REASON_NO_RATE: N_("paid-as rank earns nothing at this generation"),
    REASON_RANK_NOT_HELD: N_("not paid as the rank this period: the remaining instalments "
                             "are forfeited"),
    REASON_CUSTOMER_SHARE: N_("withheld: the team's customers bought less than the plan's "
                              "minimum share of its volume"),
    REASON_NOT_BROKEN_AWAY: N_("not paid as the breakaway rank this period"),
    REASON_NOT_IN_STANDING: N_("not in good standing"),
    REASON_INACTIVE: N_("inactive"),
    REASON_RANK_DEPTH: N_("paid-as rank does not pay this level"),
    REASON_NO_UPLINE: N_("no qualified upline"),
    REASON_NOT_DISTRIBUTOR: N_("not a distributor"),
}
