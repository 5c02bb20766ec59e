"""What the API reads and writes. Money is integer minor units; volumes (QV, CV) integer
hundredths of a point; times ISO 8601 with a zone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from patronage.api.types import (
    Count,
    Id,
    In,
    IsoAwareDatetime,
    IsoDate,
    StrictBool,
    length_of,
)
from patronage.bounds import REASON_LENGTH
from patronage.db.tables import Consent, Member, Order, Product
from patronage.errors import PatronageError
from patronage.network.intake import normalise_email
from patronage.orders.catalog import (
    DEFAULT_MAX_QUANTITY,
    MAX_LINE_QUANTITY,
    MAX_POINTS,
    MAX_PRICE,
)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MemberOut(Out):
    id: int
    ref: str | None
    kind: str
    status: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    sponsor_id: int | None
    owner_id: int | None
    referrer_id: int | None
    joined_at: datetime
    timezone: str
    locale: str
    birth_month: int | None
    birth_day: int | None
    birth_year: int | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    channel: str | None
    market: str = Field(description="The code of the market the member buys in (its currency, "
                                    "languages and prices); the company's default market when "
                                    "the member was placed in none.")


class MemberIn(In):
    """Enrol a member: ``sponsor_id`` for a distributor, ``owner_id`` for a customer."""

    kind: Literal["retail", "preferred", "distributor"]
    first_name: str = Field(min_length=1, max_length=length_of(Member.first_name))
    last_name: str = Field(default="", max_length=length_of(Member.last_name))
    joined_at: IsoAwareDatetime | None = None
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=length_of(Member.phone))
    sponsor_id: Id | None = None
    owner_id: Id | None = None
    referrer_id: Id | None = None
    timezone: str = Field(default="UTC", max_length=length_of(Member.timezone))
    locale: str = Field(default="en-US", max_length=length_of(Member.locale))
    birth_month: int | None = Field(default=None, ge=1, le=12)
    birth_day: int | None = Field(default=None, ge=1, le=31)
    birth_year: int | None = Field(default=None, ge=1, le=9999)
    address_line1: str | None = Field(default=None, max_length=length_of(Member.address_line1))
    address_line2: str | None = Field(default=None, max_length=length_of(Member.address_line2))
    city: str | None = Field(default=None, max_length=length_of(Member.city))
    region: str | None = Field(default=None, max_length=length_of(Member.region))
    postal_code: str | None = Field(default=None, max_length=length_of(Member.postal_code))
    country: str | None = Field(default=None, min_length=2, max_length=2)
    channel: str | None = Field(default=None, max_length=length_of(Member.channel))
    ref: str | None = Field(default=None, max_length=length_of(Member.ref))
    market: str | None = Field(
        default=None, min_length=2, max_length=2,
        description="The market's code (absent: the default market). The phone is read, and "
                    "the region and postal code checked, in `country`, else the market's "
                    "country; the phone is stored in E.164.")
    consents: dict[Literal["email", "post", "phone", "sms"], StrictBool] = Field(
        default_factory=dict)

    @field_validator("email")
    @classmethod
    def _one_valid_address(cls, value: str | None) -> str | None:
        try:
            return normalise_email(value)
        except PatronageError as exc:
            raise ValueError(str(exc).removeprefix("email: ")) from exc


class MoveIn(In):
    to: Id = Field(description="The new sponsor (for a distributor) or owner (for a customer).")
    reason: str = Field(min_length=1, max_length=REASON_LENGTH)
    effective_at: IsoAwareDatetime | None = None


class UpgradeIn(In):
    reason: str = Field(min_length=1, max_length=REASON_LENGTH)
    sponsor_id: Id | None = None
    effective_at: IsoAwareDatetime | None = None


class ConsentIn(In):
    channel: Literal["email", "post", "phone", "sms"]
    granted: StrictBool
    method: str = Field(default="api", min_length=1, max_length=length_of(Consent.method))


class TreeMemberOut(Out):
    id: int
    kind: str
    status: str
    first_name: str
    last_name: str
    sponsor_id: int | None
    owner_id: int | None
    level: int = Field(description="Levels above (upline) or below (downline) the member.")


class ProductOut(Out):
    id: int
    sku: str
    name: str
    retail_price: int
    wholesale_price: int
    qv: int
    cv: int
    is_enrollment_pack: bool
    product_line: str | None
    active: bool
    volume_when_free: bool
    max_quantity: int


class ProductIn(In):
    sku: str = Field(min_length=1, max_length=length_of(Product.sku))
    name: str = Field(min_length=1, max_length=length_of(Product.name))
    retail_price: int = Field(ge=0, le=MAX_PRICE)
    wholesale_price: int = Field(ge=0, le=MAX_PRICE)
    qv: int = Field(ge=0, le=MAX_POINTS)
    cv: int = Field(ge=0, le=MAX_POINTS)
    is_enrollment_pack: StrictBool = False
    product_line: str | None = Field(default=None, max_length=length_of(Product.product_line))
    volume_when_free: StrictBool = Field(default=False, description=(
        "Whether a line at a zero price (a sample, a gift) still carries the volume."))
    max_quantity: int = Field(default=DEFAULT_MAX_QUANTITY, ge=1, le=MAX_LINE_QUANTITY,
                              description="The most units one order line may have.")


class OrderLineIn(In):
    sku: str = Field(min_length=1, max_length=length_of(Product.sku))
    quantity: int = Field(default=1, ge=1, le=MAX_LINE_QUANTITY, description=(
        "At most the product's max_quantity."))
    unit_price: int | None = Field(default=None, ge=0, le=MAX_PRICE, description=(
        "Minor units; 0 for a sample or gift (no volume unless the product says so)."))


class OrderIn(In):
    buyer_id: Id
    lines: list[OrderLineIn] = Field(min_length=1, max_length=1000)
    placed_at: IsoAwareDatetime | None = None
    source: Literal["enrollment", "autoship", "one_time", "retail"] = "one_time"
    #: Absent: the buyer's market's currency (another currency is refused).
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    idempotency_key: str | None = Field(default=None, min_length=1,
                                        max_length=length_of(Order.idempotency_key))


class OrderLineOut(Out):
    id: int
    product_id: int
    quantity: int
    unit_price: int
    amount: int
    qv: int
    cv: int
    volume_kind: str
    buyer_class: str


class OrderOut(Out):
    id: int
    buyer_id: int
    credited_to_id: int | None
    placed_at: datetime
    currency: str
    source: str
    status: str
    total: int
    idempotency_key: str | None
    subscription_id: int | None
    lines: list[OrderLineOut] = Field(default_factory=list)


class RefundIn(In):
    reason: str = Field(min_length=1, max_length=REASON_LENGTH)
    refunded_at: IsoAwareDatetime | None = None
    quantities: dict[Id, Count] | None = Field(
        default=None, description="Order line id → quantity; omit to refund everything left.")
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)


class RefundLineOut(Out):
    id: int
    order_line_id: int
    quantity: int
    amount: int
    qv: int
    cv: int


class RefundOut(Out):
    id: int
    order_id: int
    refunded_at: datetime
    reason: str
    total: int
    idempotency_key: str | None
    lines: list[RefundLineOut] = Field(default_factory=list)


class ItemIn(In):
    sku: str = Field(min_length=1, max_length=length_of(Product.sku))
    quantity: int = Field(default=1, ge=1, le=MAX_LINE_QUANTITY)


class SubscriptionIn(In):
    member_id: Id
    items: list[ItemIn] = Field(min_length=1, max_length=100)
    frequency: Literal["monthly", "weeks"] = "monthly"
    day_of_month: int = Field(default=1, ge=1, le=31)
    every_weeks: int = Field(default=4, ge=1, le=52)
    start: IsoDate | None = None


class SubscriptionOut(Out):
    id: int
    member_id: int
    status: str
    frequency: str
    day_of_month: int
    every_weeks: int
    market: str | None
    next_run: date
    paused_until: date | None
    failures: int
    created_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None
    items: list[ItemIn] = Field(default_factory=list)


class PauseIn(In):
    until: IsoDate


class ChangeDateIn(In):
    day_of_month: int = Field(ge=1, le=31)


class ItemsIn(In):
    items: list[ItemIn] = Field(min_length=1, max_length=100)


class SwapIn(In):
    """Replace the product ``sku`` by ``new_sku`` (keeping its quantity unless one is given)."""

    sku: str = Field(min_length=1, max_length=length_of(Product.sku))
    new_sku: str = Field(min_length=1, max_length=length_of(Product.sku))
    quantity: int | None = Field(default=None, ge=1, le=MAX_LINE_QUANTITY)


class CancelIn(In):
    reason: str = Field(default="", max_length=REASON_LENGTH)


class NextRunOut(BaseModel):
    subscription_id: int
    next_run: date | None
    status: str


class Message(BaseModel):
    detail: str
    data: dict[str, Any] = Field(default_factory=dict)
