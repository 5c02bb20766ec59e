"""Who a sign-up through a share link is credited to.

- The link of a distributor: the distributor is the owner (a customer) or sponsor (a new
  distributor); nobody is the referrer.
- The link of a customer: the customer's owner is the owner or sponsor, the customer the
  referrer.
- A link whose distributor is unknown or terminated, or no link at all: the company's house
  account, with a notice (no referrer).
- A returning, signed-in customer keeps the owner they have.

Several links opened in turn: the company setting says whether the first link wins (the cookie
is kept until it expires) or the last one (each link opened replaces it).
"""

from __future__ import annotations

from dataclasses import dataclass

LINK_POLICIES = ("first", "last")


@dataclass(frozen=True)
class LinkHolder:
    """The member a share code belongs to, as far as attribution needs: their kind and status,
    and for a customer their owner's status."""

    member_id: int
    kind: str
    status: str
    owner_id: int | None = None
    owner_status: str | None = None


@dataclass(frozen=True)
class Credit:
    owner_id: int
    referrer_id: int | None
    house_fallback: bool
    notice: str | None = None


UNUSABLE = ("terminated", "erased")


def credit_for(holder: LinkHolder | None, house_id: int) -> Credit:
    """The owner (or sponsor) and referrer of someone joining through ``holder``'s link
    (``None``: no link, or a code nobody has)."""
    if holder is None:
        return Credit(house_id, None, True, "no_link")
    if holder.status in UNUSABLE:
        return Credit(house_id, None, True, "link_inactive")
    if holder.kind == "distributor":
        return Credit(holder.member_id, None, False)
    if holder.owner_id is None or holder.owner_status in UNUSABLE:
        return Credit(house_id, holder.member_id, True, "link_inactive")
    return Credit(holder.owner_id, holder.member_id, False)


def keep_link(current: str | None, opened: str, policy: str) -> str:
    """The code the visitor's cookie keeps after opening ``opened``'s link."""
    if policy not in LINK_POLICIES:
        raise ValueError(f"shop link policy {policy!r} is not first or last")
    if current and policy == "first":
        return current
    return opened
