"""Redeeming coupons and promotion codes: whether one may be redeemed, and the Discount a
redemption makes.

A coupon is `valid` until it is deleted, its `redeem_by` passes or it has been redeemed
`max_redemptions` times. A promotion code is `active` until it is deactivated, its coupon stops
being valid, its `expires_at` passes or it has been redeemed `max_redemptions` times; the last
three deactivate it for good. Its restrictions are checked as it is redeemed: the customer it
is for, `first_time_transaction` (a customer who has paid an invoice has had a transaction) and
`minimum_amount` (what the purchase comes to before discounts, in `minimum_amount_currency`).

Redeeming makes a Discount (`di_...`) for a customer's subscription and counts the redemption on
the coupon and the promotion code. Stripe's Discount cannot be retrieved by its id, but it is
kept here so `expand[]=discounts` and invoices that name it find it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.lifecycle.periods import months_after
from stripe_server.versions import BASIL

COUPON = "coupon"
# A deleted coupon is kept under this kind (retrieve and list no longer find it) because the
# discounts made from it go on applying, as at Stripe.
DELETED_COUPON = "coupon:deleted"
PROMOTION_CODE = "promotion_code"
DISCOUNT = "discount"


class Refusal(enum.Enum):
    """Why a coupon or promotion code cannot be redeemed, with Stripe's API message."""

    COUPON_INVALID = "coupon_invalid"
    INACTIVE = "inactive"
    EXPIRED = "expired"
    USED_UP = "used_up"
    OTHER_CUSTOMER = "other_customer"
    FIRST_TIME_ONLY = "first_time_only"
    MINIMUM_AMOUNT = "minimum_amount"
    MINIMUM_AMOUNT_ON_UPDATE = "minimum_amount_on_update"
    NO_ITEMS_APPLY = "no_items_apply"
    AMOUNT_OFF_FOREVER = "amount_off_forever"

    def message(self, subject: dict[str, Any]) -> str:
        """The API's message refusing `subject` (the coupon or promotion code) for this."""
        if self is Refusal.COUPON_INVALID:
            return f"Coupon expired: {subject['id']}"
        if self is Refusal.NO_ITEMS_APPLY and subject["object"] == COUPON:
            return "This coupon cannot be redeemed because it does not apply to any of the items."
        if self is Refusal.AMOUNT_OFF_FOREVER:
            return (
                "Coupons with `amount_off` and a `duration` of `forever` cannot be applied from "
                f"API version {BASIL} on; use a `once` or `repeating` coupon."
            )
        return _PROMOTION_CODE_MESSAGES[self]

    @property
    def code(self) -> str | None:
        """The API error's `code`."""
        return "coupon_expired" if self is Refusal.COUPON_INVALID else None


_CANNOT = "This promotion code cannot be redeemed"
_PROMOTION_CODE_MESSAGES = {
    Refusal.INACTIVE: f"{_CANNOT} because it is inactive.",
    Refusal.EXPIRED: f"{_CANNOT} because it has expired.",
    Refusal.USED_UP: f"{_CANNOT} because it has been used the maximum number of times.",
    Refusal.OTHER_CUSTOMER: f"{_CANNOT} because it is restricted to another customer.",
    Refusal.FIRST_TIME_ONLY: f"{_CANNOT} because the associated customer has prior transactions.",
    Refusal.MINIMUM_AMOUNT: f"{_CANNOT} because the purchase does not reach its minimum amount.",
    Refusal.MINIMUM_AMOUNT_ON_UPDATE: (
        f"{_CANNOT} on a subscription update because it uses the `minimum_amount` restriction "
        "and the amount may change."
    ),
    Refusal.NO_ITEMS_APPLY: (
        f"{_CANNOT} because its coupon does not apply to any of the items purchased."
    ),
}


# --- coupons --------------------------------------------------------------------------------


def coupon_valid_at(ctx: Context, coupon: dict[str, Any], now: int) -> bool:
    """Whether the coupon may still be redeemed at `now` (a deleted one may not)."""
    if ctx.db.kind_of(coupon["id"]) != COUPON:
        return False
    if coupon["redeem_by"] is not None and now >= coupon["redeem_by"]:
        return False
    limit = coupon["max_redemptions"]
    return limit is None or coupon["times_redeemed"] < limit


def coupon_refresh(ctx: Context, coupon: dict[str, Any]) -> dict[str, Any]:
    """The coupon with `valid` as of now (saved when it changed)."""
    valid = coupon_valid_at(ctx, coupon, ctx.now())
    if coupon["valid"] != valid:
        coupon["valid"] = valid
        ctx.db.save(ctx.db.kind_of(coupon["id"]) or COUPON, coupon)
    return coupon


def coupon_of(ctx: Context, coupon_id: str) -> dict[str, Any]:
    """The coupon (deleted or not) a promotion code or discount was made from."""
    coupon = ctx.db.get(coupon_id)
    assert coupon is not None, f"coupon {coupon_id} is gone"
    return coupon


# --- promotion codes ------------------------------------------------------------------------


def promotion_code_coupon_id(promotion_code: dict[str, Any]) -> str:
    return promotion_code["promotion"]["coupon"]


def promotion_code_lapsed(ctx: Context, promotion_code: dict[str, Any], now: int) -> bool:
    """Whether the code can never be redeemed again: its coupon is no longer valid, it has
    expired or it has been used up."""
    coupon = coupon_of(ctx, promotion_code_coupon_id(promotion_code))
    expires_at = promotion_code["expires_at"]
    limit = promotion_code["max_redemptions"]
    return (
        not coupon_valid_at(ctx, coupon, now)
        or (expires_at is not None and now >= expires_at)
        or (limit is not None and promotion_code["times_redeemed"] >= limit)
    )


def promotion_code_refresh(ctx: Context, promotion_code: dict[str, Any]) -> dict[str, Any]:
    """The promotion code, deactivated (and saved) if it has lapsed by now."""
    if promotion_code["active"] and promotion_code_lapsed(ctx, promotion_code, ctx.now()):
        promotion_code["active"] = False
        ctx.db.save(PROMOTION_CODE, promotion_code)
    return promotion_code


@dataclass(frozen=True)
class Purchase:
    """What a promotion code's restrictions are checked against: who buys, what it comes to
    before discounts, and which products."""

    customer: dict[str, Any] | None
    subtotal: int
    currency: str
    # Checkout refuses a code whose coupon applies to none of these; None: not checked (a
    # subscription takes such a coupon, which then discounts nothing).
    products: frozenset[str] | None = None
    # A subscription update: `minimum_amount` codes are refused there, as at Stripe.
    is_update: bool = False


def promotion_code_refusal(
    ctx: Context, promotion_code: dict[str, Any], purchase: Purchase
) -> Refusal | None:
    """Why the code cannot be redeemed for `purchase` now, or None if it can."""
    now = ctx.now()
    coupon = coupon_of(ctx, promotion_code_coupon_id(promotion_code))
    expires_at = promotion_code["expires_at"]
    if (expires_at is not None and now >= expires_at) or (
        coupon["redeem_by"] is not None and now >= coupon["redeem_by"]
    ):
        return Refusal.EXPIRED
    for limit, used in (
        (promotion_code["max_redemptions"], promotion_code["times_redeemed"]),
        (coupon["max_redemptions"], coupon["times_redeemed"]),
    ):
        if limit is not None and used >= limit:
            return Refusal.USED_UP
    if not promotion_code["active"] or not coupon_valid_at(ctx, coupon, now):
        return Refusal.INACTIVE
    customer = purchase.customer
    restricted_to = promotion_code["customer"]
    if restricted_to is not None and (customer is None or customer["id"] != restricted_to):
        return Refusal.OTHER_CUSTOMER
    restrictions = promotion_code["restrictions"]
    if restrictions["first_time_transaction"] and customer_has_paid(ctx, customer):
        return Refusal.FIRST_TIME_ONLY
    if restrictions["minimum_amount"] is not None:
        if purchase.is_update:
            return Refusal.MINIMUM_AMOUNT_ON_UPDATE
        if (
            purchase.currency != restrictions["minimum_amount_currency"]
            or purchase.subtotal < restrictions["minimum_amount"]
        ):
            return Refusal.MINIMUM_AMOUNT
    return coupon_refusal_for_version(ctx, coupon) or coupon_refusal_for_products(
        coupon, purchase.products
    )


def coupon_refusal_for_version(ctx: Context, coupon: dict[str, Any]) -> Refusal | None:
    """AMOUNT_OFF_FOREVER for an amount-off coupon without an end, which Stripe stopped
    applying in 2025-03-31.basil (such coupons made with an older version still exist)."""
    if (
        ctx.api_version >= BASIL
        and coupon["amount_off"] is not None
        and coupon["duration"] == "forever"
    ):
        return Refusal.AMOUNT_OFF_FOREVER
    return None


def coupon_refusal_for_products(
    coupon: dict[str, Any], products: frozenset[str] | None
) -> Refusal | None:
    """NO_ITEMS_APPLY when the coupon is restricted to products none of which are bought."""
    applies_to = coupon.get("applies_to")
    if products is not None and applies_to and not set(applies_to["products"]) & products:
        return Refusal.NO_ITEMS_APPLY
    return None


def customer_has_paid(ctx: Context, customer: dict[str, Any] | None) -> bool:
    """Whether the customer has had a transaction: an invoice of theirs was paid (a free
    trial's $0 invoice is none)."""
    if customer is None:
        return False
    return any(
        invoice["customer"] == customer["id"] and invoice["amount_paid"] > 0
        for invoice in ctx.db.all("invoice")
    )


# --- discounts ------------------------------------------------------------------------------


def discount_new(
    *,
    coupon: dict[str, Any],
    promotion_code: dict[str, Any] | None,
    customer_id: str | None,
    subscription_id: str | None,
    start: int,
    discount_id: str | None = None,
) -> dict[str, Any]:
    """A Discount of the coupon (through the promotion code, if one) from `start`; a
    `repeating` coupon's ends its `duration_in_months` later. Not stored."""
    end = None
    if coupon["duration"] == "repeating":
        end = months_after(start, coupon["duration_in_months"])
    return {
        "checkout_session": None,
        "customer": customer_id,
        "customer_account": None,
        "end": end,
        "id": discount_id or new_id("di"),
        "invoice": None,
        "invoice_item": None,
        "object": DISCOUNT,
        "promotion_code": promotion_code["id"] if promotion_code else None,
        "source": {"coupon": coupon["id"], "type": "coupon"},
        "start": start,
        "subscription": subscription_id,
        "subscription_item": None,
    }


def discount_create(
    ctx: Context,
    *,
    coupon: dict[str, Any],
    promotion_code: dict[str, Any] | None,
    customer_id: str,
    subscription_id: str,
) -> dict[str, Any]:
    """Redeem the coupon (through the promotion code, if one) for a subscription now: the
    Discount, stored and counted on both. The caller announces it
    (`customer.discount.created`, or `.updated` when it takes another's place)."""
    discount = discount_new(
        coupon=coupon,
        promotion_code=promotion_code,
        customer_id=customer_id,
        subscription_id=subscription_id,
        start=ctx.now(),
    )
    ctx.db.save(DISCOUNT, discount)
    # Counted on the stored objects, which an earlier entry of the same request may have
    # counted on already.
    counted = coupon_of(ctx, coupon["id"])
    counted["times_redeemed"] += 1
    ctx.db.save(COUPON, counted)
    coupon_refresh(ctx, counted)
    if promotion_code is not None:
        code = ctx.db.get(promotion_code["id"], PROMOTION_CODE) or promotion_code
        code["times_redeemed"] += 1
        ctx.db.save(PROMOTION_CODE, code)
        promotion_code_refresh(ctx, code)
    return discount


def discount_coupon(ctx: Context, discount: dict[str, Any]) -> dict[str, Any]:
    """The coupon a discount was made from (deleted or not)."""
    return coupon_of(ctx, discount["source"]["coupon"])
