"""What the API reads and writes. Money is integer minor units; volumes (QV, CV) integer
hundredths of a point; times ISO 8601 with a zone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

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


class MemberIn(BaseModel):
    """Enrol a member: ``sponsor_id`` for a distributor, ``owner_id`` for a customer."""

    kind: Literal["retail", "preferred", "distributor"]
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(default="", max_length=100)
    joined_at: AwareDatetime | None = None
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    sponsor_id: int | None = None
    owner_id: int | None = None
    referrer_id: int | None = None
    timezone: str = "UTC"
    locale: str = "en-US"
    birth_month: int | None = None
    birth_day: int | None = None
    birth_year: int | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    channel: str | None = None
    ref: str | None = Field(default=None, max_length=64)
    consents: dict[Literal["email", "post", "phone", "sms"], bool] = Field(default_factory=dict)

    @field_validator("email")
    @classmethod
    def _one_valid_address(cls, value: str | None) -> str | None:
        try:
            return normalise_email(value)
        except PatronageError as exc:
            raise ValueError(str(exc).removeprefix("email: ")) from exc


class MoveIn(BaseModel):
    to: int = Field(description="The new sponsor (for a distributor) or owner (for a customer).")
    reason: str = Field(min_length=1)
    effective_at: AwareDatetime | None = None


class UpgradeIn(BaseModel):
    reason: str = Field(min_length=1)
    sponsor_id: int | None = None
    effective_at: AwareDatetime | None = None


class ConsentIn(BaseModel):
    channel: Literal["email", "post", "phone", "sms"]
    granted: bool
    method: str = Field(default="api", min_length=1, max_length=64)


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


class ProductIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    retail_price: int = Field(ge=0, le=MAX_PRICE)
    wholesale_price: int = Field(ge=0, le=MAX_PRICE)
    qv: int = Field(ge=0, le=MAX_POINTS)
    cv: int = Field(ge=0, le=MAX_POINTS)
    is_enrollment_pack: bool = False
    product_line: str | None = None
    volume_when_free: bool = Field(default=False, description=(
        "Whether a line at a zero price (a sample, a gift) still carries the volume."))
    max_quantity: int = Field(default=DEFAULT_MAX_QUANTITY, ge=1, le=MAX_LINE_QUANTITY,
                              description="The most units one order line may have.")


class OrderLineIn(BaseModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(default=1, ge=1, le=MAX_LINE_QUANTITY, description=(
        "At most the product's max_quantity."))
    unit_price: int | None = Field(default=None, ge=0, le=MAX_PRICE, description=(
        "Minor units; 0 for a sample or gift (no volume unless the product says so)."))


class OrderIn(BaseModel):
    buyer_id: int
    lines: list[OrderLineIn] = Field(min_length=1)
    placed_at: AwareDatetime | None = None
    source: Literal["enrollment", "autoship", "one_time", "retail"] = "one_time"
    currency: str = Field(default="USD", min_length=3, max_length=3)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)


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


class RefundIn(BaseModel):
    reason: str = Field(min_length=1)
    refunded_at: AwareDatetime | None = None
    quantities: dict[int, int] | None = Field(
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


class ItemIn(BaseModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(default=1, ge=1)


class SubscriptionIn(BaseModel):
    member_id: int
    items: list[ItemIn] = Field(min_length=1)
    frequency: Literal["monthly", "weeks"] = "monthly"
    day_of_month: int = 1
    every_weeks: int = 4
    start: date | None = None


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


class PauseIn(BaseModel):
    until: date


class ChangeDateIn(BaseModel):
    day_of_month: int


class ItemsIn(BaseModel):
    items: list[ItemIn] = Field(min_length=1)


class SwapIn(BaseModel):
    """Replace the product ``sku`` by ``new_sku`` (keeping its quantity unless one is given)."""

    sku: str = Field(min_length=1)
    new_sku: str = Field(min_length=1)
    quantity: int | None = Field(default=None, ge=1)


class CancelIn(BaseModel):
    reason: str = ""


class NextRunOut(BaseModel):
    subscription_id: int
    next_run: date | None
    status: str


class Message(BaseModel):
    detail: str
    data: dict[str, Any] = Field(default_factory=dict)
