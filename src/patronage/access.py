"""Who may see what: one set of rules for the REST API and the web pages.

A :class:`Principal` is whoever is asking: a staff member, a distributor, a customer (from a web
session) or an integration token (acting for the company within its scopes).

Visibility of members:
- staff and tokens see every member;
- a distributor sees themselves, the customers they own (``owner``), and their downline in the
  sponsor tree (every distributor below them, at any depth). The customers of downline
  distributors belong to those distributors and are not visible to the upline;
- a customer sees only themselves.

Customers' data (values, the overview of a customer base, the people named in a commission
explanation) follows the same rule: a distributor's customer list and overview are for the
company and for that distributor only (:func:`require_customers_of`); where a text names members
(:func:`member_labels`, :func:`order_labels`), a member the viewer may not see is worded
"a customer of your team" or "a distributor of your team" instead of by name and id.

A member that is not visible is reported as *not found*, never as *forbidden*, so that ids cannot
be probed. The single-member check walks *up* the sponsor chain from the member asked for (as deep
as the tree, not as wide as the downline); lists use a recursive query down the sponsor tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

from sqlalchemy import Select, false, literal, or_, select, union
from sqlalchemy.orm import Session

from patronage.db.tables import Member, Order
from patronage.errors import NotFound, PatronageError
from patronage.languages import N_
from patronage.scopes import SCOPES as SCOPES  # the scopes are listed there

PrincipalKind = Literal["staff", "distributor", "customer", "token"]

#: What each signed-in role may do; rows are still limited to what the role can see.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "staff": frozenset(SCOPES),
    "distributor": frozenset({
        "members:read", "products:read", "orders:read", "autoship:read", "commissions:read",
        "values:read", "care:read", "care:write",
    }),
    "customer": frozenset({
        "members:read", "products:read", "orders:read", "autoship:read", "autoship:write",
        "care:read", "care:write",
    }),
}


class Forbidden(PatronageError):
    """The principal is known but may not do this."""

    code = "forbidden"


@dataclass(frozen=True)
class Principal:
    """Whoever is asking. ``member_id`` is set for distributors and customers."""

    kind: PrincipalKind
    member_id: int | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    name: str = ""

    @classmethod
    def for_role(cls, kind: PrincipalKind, member_id: int | None, name: str) -> Principal:
        """A signed-in account: the scopes of its role."""
        if kind in ("distributor", "customer") and member_id is None:
            raise PatronageError(f"a {kind} sign-in needs the member it belongs to")
        return cls(kind, member_id, ROLE_SCOPES.get(kind, frozenset()), name)

    @property
    def is_company(self) -> bool:
        """Staff and integration tokens act for the company and see every member."""
        return self.kind in ("staff", "token")

    @property
    def actor(self) -> str:
        """How this principal is named in records it causes (events, audit log)."""
        suffix = f" {self.member_id}" if self.member_id is not None else ""
        return f"{self.kind}{suffix}:{self.name}" if self.name else f"{self.kind}{suffix}"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def require_scope(principal: Principal, scope: str) -> None:
    """Refuse (forbidden) unless the principal holds ``scope``."""
    if not principal.has_scope(scope):
        raise Forbidden(f"this needs the {scope!r} scope, which {principal.kind} "
                        f"{principal.name or principal.member_id or ''} does not have".rstrip())


def require_company(principal: Principal, what: str) -> None:
    """Refuse (forbidden) unless staff or a token: company-wide views and actions."""
    if not principal.is_company:
        raise Forbidden(f"{what} is for the company's staff only")


#: Deeper than any sponsor tree: an upline walk stops there (a loop in the tree cannot hang it).
MAX_DEPTH = 10_000


def _downline_ids(root_id: int) -> Select[int]:
    """The ids of ``root_id`` and every distributor below them in the sponsor tree."""
    tree = select(Member.id.label("id")).where(Member.id == root_id).cte(
        recursive=True)
    tree = tree.union_all(select(Member.id).where(Member.sponsor_id == tree.c.id))
    return select(tree.c.id)


def _distributor_ids(me: int) -> Select[int]:
    """A distributor's own id, their downline's and their customers', as one id list (a union,
    so that the database can join on the primary key instead of scanning every member)."""
    ids = union(_downline_ids(me), select(Member.id).where(Member.owner_id == me)).subquery()
    return select(ids.c.id)


def visible_member_ids(principal: Principal) -> Select[int] | None:
    """A query of the member ids the principal may see, or ``None`` for *every member*.

    Use it to scope anything keyed by member (orders by buyer, subscriptions, values)."""
    if principal.is_company:
        return None
    me = principal.member_id
    if me is None:
        return select(Member.id).where(false())
    if principal.kind == "customer":
        return select(Member.id).where(Member.id == me)
    return _distributor_ids(me)


def visible_members_query(principal: Principal) -> Select[Member]:
    """``select(Member)`` limited to the members the principal may see (add filters, order,
    limit as needed)."""
    query = select(Member)
    if principal.is_company:
        return query
    me = principal.member_id
    if me is None:
        return query.where(false())
    if principal.kind == "customer":
        return query.where(Member.id == me)
    return query.where(Member.id.in_(_distributor_ids(me)))


def _upline(session: Session, member_id: int) -> set[int]:
    """The member and every sponsor above them (one recursive query, as deep as the tree)."""
    chain = select(Member.id.label("id"), Member.sponsor_id.label("sponsor_id")).where(
        Member.id == member_id).cte(recursive=True)
    chain = chain.union(
        select(Member.id, Member.sponsor_id).where(Member.id == chain.c.sponsor_id))
    return set(session.scalars(select(chain.c.id)))


def can_see_member(session: Session, principal: Principal, member_id: int) -> bool:
    """Whether the principal may see this member (``False`` also when it does not exist)."""
    row = session.execute(
        select(Member.id, Member.kind, Member.owner_id).where(Member.id == member_id)
    ).first()
    if row is None:
        return False
    if principal.is_company:
        return True
    me = principal.member_id
    if me is None:
        return False
    if member_id == me:
        return True
    if principal.kind != "distributor":
        return False
    if row.kind != "distributor":
        return bool(row.owner_id == me)
    return me in _upline(session, member_id)


class _MembersRecord(Protocol):
    @property
    def member_id(self) -> int: ...


Record = TypeVar("Record", bound=_MembersRecord)


def require_record(session: Session, principal: Principal, model: type[Record], record_id: int,
                   what: str) -> Record:
    """A member's record (subscription, testimonial, ...) by id, if the principal may see that
    member; otherwise *not found*, worded the same whether it is missing or hidden."""
    row = session.get(model, record_id)
    if row is None or not can_see_member(session, principal, row.member_id):
        raise NotFound(f"{what} {record_id} does not exist")
    return row


def require_member(session: Session, principal: Principal, member_id: int) -> Member:
    """The member, if the principal may see them; otherwise *not found* (ids cannot be probed)."""
    if not can_see_member(session, principal, member_id):
        raise NotFound(f"member {member_id} does not exist")
    member = session.get(Member, member_id)
    if member is None:  # pragma: no cover - removed between the two reads
        raise NotFound(f"member {member_id} does not exist")
    return member


def require_customers_of(session: Session, principal: Principal, distributor_id: int) -> Member:
    """The distributor whose customers (the list, their values, the overview of the base) the
    principal asks for: any distributor for the company, only themselves for a distributor (the
    customers of a downline distributor are that distributor's), never for a customer.
    Otherwise *not found*."""
    member = require_member(session, principal, distributor_id)
    if member.kind != "distributor":
        raise NotFound(f"distributor {distributor_id} does not exist")
    if not principal.is_company and principal.member_id != distributor_id:
        raise NotFound(f"distributor {distributor_id} has no customers you may see")
    return member


#: How a member the viewer may not see is named in what is shown to them.
HIDDEN_CUSTOMER = "a customer of your team"
HIDDEN_DISTRIBUTOR = N_("a distributor of your team")


def visible_among(session: Session, principal: Principal | None,
                  ids: Iterable[int]) -> set[int]:
    """Which of these member ids exist and the principal may see (``None``: the company)."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    if principal is not None and not principal.is_company and principal.kind == "distributor" \
            and principal.member_id is not None:
        return _in_team(session, principal.member_id, wanted)
    query = select(Member.id).where(Member.id.in_(wanted))
    scope = None if principal is None else visible_member_ids(principal)
    if scope is not None:
        query = query.where(Member.id.in_(scope))
    return set(session.scalars(query))


def _in_team(session: Session, me: int, wanted: list[int]) -> set[int]:
    """Which of ``wanted`` are ``me``, below ``me`` in the sponsor tree or ``me``'s customers:
    each one's sponsor chain is walked up (as deep as the tree, whatever the size of the
    downline), instead of the whole downline down."""
    seen = set(session.scalars(select(Member.id).where(
        Member.id.in_(wanted), or_(Member.id == me, Member.owner_id == me))))
    rest = [i for i in wanted if i not in seen]
    if not rest:
        return seen
    chain = select(Member.id.label("start"), Member.sponsor_id.label("up"),
                   literal(0).label("depth")).where(Member.id.in_(rest)).cte(
        name="chain", recursive=True)
    chain = chain.union_all(
        select(chain.c.start, Member.sponsor_id, (chain.c.depth + 1).label("depth"))
        .where(Member.id == chain.c.up, chain.c.up != me, chain.c.depth < MAX_DEPTH))
    return seen | set(session.scalars(select(chain.c.start).where(chain.c.up == me)))


def _hidden_word(kind: str) -> str:
    return HIDDEN_DISTRIBUTOR if kind == "distributor" else HIDDEN_CUSTOMER


def member_labels(session: Session, principal: Principal | None,
                  ids: Iterable[int]) -> dict[int, str]:
    """How each member is named to the principal (``None``: the company): ``First Last (#id)``
    if they may see them, else "a customer of your team" / "a distributor of your team".
    Ids of no member are left out."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    seen = visible_among(session, principal, wanted)
    rows = session.execute(select(Member.id, Member.first_name, Member.last_name, Member.kind)
                           .where(Member.id.in_(wanted))).all()
    return {i: (f"{first} {last}".strip() + f" (#{i})") if i in seen else _hidden_word(kind)
            for i, first, last, kind in rows}


def order_labels(session: Session, principal: Principal | None,
                 ids: Iterable[int]) -> dict[int, str]:
    """How each order is named to the principal: ``order N`` if they may see its buyer, else
    "an order of a customer of your team" (or "... of a distributor of your team")."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(Order.id, Order.buyer_id, Member.kind)
                           .join(Member, Member.id == Order.buyer_id)
                           .where(Order.id.in_(wanted))).all()
    seen = visible_among(session, principal, {buyer for _, buyer, _ in rows})
    labels = {i: f"order {i}" if buyer in seen else f"an order of {_hidden_word(kind)}"
              for i, buyer, kind in rows}
    return {i: labels.get(i, f"order {i}") for i in wanted}
