"""The company's records: members, consents, genealogy moves, catalog, orders and refunds.

Facts are appended, never rewritten: a refund is its own record against order lines; a sponsor or
owner move is a dated :class:`GenealogyChange`. Money is integer minor units; volumes (QV, CV) are
integer hundredths of a point (see :mod:`patronage.money`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from patronage.db.base import Base, UTCDateTime

MEMBER_KINDS = ("retail", "preferred", "distributor")
MEMBER_STATUSES = ("active", "inactive", "terminated", "erased")
CONSENT_CHANNELS = ("email", "post", "phone", "sms")
ORDER_SOURCES = ("enrollment", "autoship", "one_time", "retail")
ORDER_STATUSES = ("paid", "cancelled")
VOLUME_KINDS = ("promotional", "consumption")
BUYER_CLASSES = ("customer", "distributor")
GENEALOGY_FIELDS = ("sponsor", "owner", "kind")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Member(Base):
    """A retail customer, preferred customer or distributor.

    A distributor has a ``sponsor`` (a distributor); a customer has an ``owner`` (the distributor
    who serves them); anyone may have a ``referrer``. ``ref`` is the company's own key for the
    person (from an import or a shop), unique when given.
    """

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(_in("kind", MEMBER_KINDS), name="kind"),
        CheckConstraint(_in("status", MEMBER_STATUSES), name="status"),
        CheckConstraint(
            "birth_month IS NULL OR (birth_month BETWEEN 1 AND 12)", name="birth_month"
        ),
        CheckConstraint("birth_day IS NULL OR (birth_day BETWEEN 1 AND 31)", name="birth_day"),
        CheckConstraint("sponsor_id IS NULL OR sponsor_id <> id", name="not_own_sponsor"),
        # Walking a downline down (active distributors, with when they joined) reads this
        # index alone, not every member's row.
        Index("ix_members_downline", "sponsor_id", "kind", "status", "joined_at"),
        # A distributor's customers counted, filtered and found by birthday from the index alone.
        Index("ix_members_owner", "owner_id", "kind", "status", "birth_month"),
        Index("ix_members_referrer", "referrer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(16), default="en-US")
    birth_month: Mapped[int | None] = mapped_column(SmallInteger)
    birth_day: Mapped[int | None] = mapped_column(SmallInteger)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(32))
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The market the member buys in (:class:`patronage.db.markets.Market`); ``None``: the
    #: company's default market. Not a checked key, as orders' members (the column was added
    #: without copying the members table, which keeps its delete guard).
    market_id: Mapped[int | None] = mapped_column(Integer)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_customer(self) -> bool:
        return self.kind != "distributor"


class Consent(Base):
    """A consent given or withdrawn for one channel; the latest record per channel is in force."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(_in("channel", CONSENT_CHANNELS), name="channel"),
        Index("ix_consents_member_channel", "member_id", "channel", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    channel: Mapped[str] = mapped_column(String(8))
    granted: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(64))


class Suppression(Base):
    """An address that must never be contacted on a channel; survives erasure (hash only)."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address_hash", name="uq_suppressions_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    address_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class GenealogyChange(Base):
    """A dated move: sponsor or owner changed, or a customer upgraded to distributor.

    ``old_value``/``new_value`` hold a member id (sponsor, owner) or a kind name, as text.
    Reading the tree as of a past date undoes the changes effective after it.
    """

    __tablename__ = "genealogy_changes"
    __table_args__ = (
        CheckConstraint(_in("field", GENEALOGY_FIELDS), name="field"),
        Index("ix_genealogy_changes_effective", "effective_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    field: Mapped[str] = mapped_column(String(16))
    old_value: Mapped[str | None] = mapped_column(String(32))
    new_value: Mapped[str | None] = mapped_column(String(32))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)


class Product(Base):
    """A catalog item: prices in minor units, QV and CV in hundredths of a point."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("retail_price >= 0 AND wholesale_price >= 0", name="prices"),
        CheckConstraint("qv >= 0 AND cv >= 0", name="volumes"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    retail_price: Mapped[int] = mapped_column(BigInteger)
    wholesale_price: Mapped[int] = mapped_column(BigInteger)
    qv: Mapped[int] = mapped_column(BigInteger)
    cv: Mapped[int] = mapped_column(BigInteger)
    is_enrollment_pack: Mapped[bool] = mapped_column(Boolean, default=False)
    product_line: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Whether a line at a zero price (a sample, a gift) still carries the product's volume.
    volume_when_free: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())
    #: The most units of the product one order line may have.
    max_quantity: Mapped[int] = mapped_column(Integer, default=1000, server_default="1000")


class Order(Base):
    """An order as placed and paid. ``credited_to_id`` is the distributor whose personal volume
    the order counts toward (the buyer if a distributor, else the customer's owner at order time).
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_in("source", ORDER_SOURCES), name="source"),
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        CheckConstraint("total >= 0", name="total"),
        Index("ix_orders_placed_at", "placed_at"),
        # "Ordered in the last 90 days" answered from the index alone.
        Index("ix_orders_buyer", "buyer_id", "placed_at", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Members, but not checked keys (migration 0006_autoship_order_member_keys): every writer
    # takes them from a member row it has read, members are never deleted, and the check's
    # lock wrote both member rows for every order of the daily run.
    buyer_id: Mapped[int] = mapped_column(Integer)
    credited_to_id: Mapped[int | None] = mapped_column(Integer)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="paid")
    total: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    subscription_id: Mapped[int | None] = mapped_column(Integer)


class OrderLine(Base):
    """One product on an order, classified by volume kind and buyer class.

    ``amount`` = quantity × unit price; ``qv``/``cv`` are line totals; ``retail_total`` and
    ``wholesale_total`` (catalog prices × quantity) give the retail profit on a customer's order.
    """

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("amount >= 0 AND unit_price >= 0", name="amount"),
        CheckConstraint("qv >= 0 AND cv >= 0", name="volumes"),
        CheckConstraint(_in("volume_kind", VOLUME_KINDS), name="volume_kind"),
        CheckConstraint(_in("buyer_class", BUYER_CLASSES), name="buyer_class"),
        Index("ix_order_lines_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    qv: Mapped[int] = mapped_column(BigInteger)
    cv: Mapped[int] = mapped_column(BigInteger)
    retail_total: Mapped[int] = mapped_column(BigInteger)
    wholesale_total: Mapped[int] = mapped_column(BigInteger)
    volume_kind: Mapped[str] = mapped_column(String(16))
    buyer_class: Mapped[str] = mapped_column(String(16))


class Refund(Base):
    """A refund against an order; its lines say which order lines and how much."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("total >= 0", name="total"),
        Index("ix_refunds_refunded_at", "refunded_at"),
        Index("ix_refunds_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    total: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)


class RefundLine(Base):
    """The part of one order line refunded: quantity, amount and the volume that leaves."""

    __tablename__ = "refund_lines"
    __table_args__ = (
        CheckConstraint("quantity >= 0 AND amount >= 0", name="amounts"),
        CheckConstraint("qv >= 0 AND cv >= 0", name="volumes"),
        Index("ix_refund_lines_line", "order_line_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    qv: Mapped[int] = mapped_column(BigInteger)
    cv: Mapped[int] = mapped_column(BigInteger)
