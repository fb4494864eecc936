"""A subscription's discounts over time, and what they take off its invoices.

- Setting them (`subscription_discounts_set`): the subscription's `discounts` become the ones
  asked for, in order; new ones are redeemed (`redemptions.discount_create`), the others are
  removed. Each is announced: `customer.discount.created` and `customer.discount.deleted`, or
  `customer.discount.updated` when one discount takes the place of another (Stripe sends it
  when a customer is switched from one coupon to another).
- Ending them: a `repeating` discount stops at its `end` (`subscription_discounts_end_due`,
  from the billing pass); a `once` discount is used by the first invoice that has something to
  discount (a free trial's $0 invoice does not use it) and stays on the subscription until the
  next invoice, which removes it instead of applying it. Either is removed from the
  subscription and announced (`customer.discount.deleted`).
- Invoices (`invoice_discounts_apply`): the discounts in force when the invoice's period starts
  apply to its discountable lines (`discount_amounts.py` has the maths): each line gets
  `discount_amounts` (and `pretax_credit_amounts`), the invoice its `discounts` and totals.
- Prorations (`proration_discounted_amount`): Stripe's default ("included") proration
  discounts: a proration's amount is already net of the subscription's percent-off discounts
  that apply to its product, and its line names those discounts with a discount amount of 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.discount_amounts import LineBasis, coupon_terms, discount_lines
from stripe_server.frozen_time import FrozenClock
from stripe_server.lifecycle.redemptions import DISCOUNT, discount_coupon, discount_create


@dataclass(frozen=True)
class DiscountRequest:
    """One entry of a `discounts` parameter, resolved: a coupon to redeem (through a
    promotion code, if one), or an existing discount of the subscription to keep."""

    coupon: dict[str, Any] | None = None
    promotion_code: dict[str, Any] | None = None
    discount: dict[str, Any] | None = None


def subscription_discounts(ctx: Context, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    """The subscription's Discount objects, in order."""
    found = (ctx.db.get(discount_id, DISCOUNT) for discount_id in subscription["discounts"])
    return [discount for discount in found if discount is not None]


def subscription_discounts_set(
    ctx: Context, subscription: dict[str, Any], requests: list[DiscountRequest]
) -> None:
    """Make the subscription's discounts the `requests`, in order, announcing each change."""
    current = subscription_discounts(ctx, subscription)
    kept = {request.discount["id"] for request in requests if request.discount is not None}
    removed = [discount for discount in current if discount["id"] not in kept]
    created = []
    discount_ids = []
    for request in requests:
        if request.discount is not None:
            discount_ids.append(request.discount["id"])
            continue
        assert request.coupon is not None
        discount = discount_create(
            ctx,
            coupon=request.coupon,
            promotion_code=request.promotion_code,
            customer_id=subscription["customer"],
            subscription_id=subscription["id"],
        )
        created.append(discount)
        discount_ids.append(discount["id"])
    subscription["discounts"] = discount_ids
    if len(removed) == 1 and len(created) == 1:
        events.emit(
            ctx,
            "customer.discount.updated",
            created[0],
            events.previous_attributes(removed[0], created[0]),
        )
        return
    for discount in removed:
        events.emit(ctx, "customer.discount.deleted", discount)
    for discount in created:
        events.emit(ctx, "customer.discount.created", discount)


def _discount_remove(ctx: Context, subscription: dict[str, Any], discount: dict[str, Any]) -> None:
    subscription["discounts"] = [i for i in subscription["discounts"] if i != discount["id"]]
    events.emit(ctx, "customer.discount.deleted", discount)


def subscription_discounts_end_due(
    ctx: Context, subscription: dict[str, Any], at: int
) -> int | None:
    """Remove the discounts that ended by `at`, each announced at its end (or now, if that
    is earlier). When the last of them ended, or None if none did."""
    ended = [
        discount
        for discount in subscription_discounts(ctx, subscription)
        if discount["end"] is not None and discount["end"] <= at
    ]
    when = None
    for discount in ended:
        when = min(discount["end"], ctx.now())
        _discount_remove(dataclasses.replace(ctx, clock=FrozenClock(when)), subscription, discount)
    return when


def _in_force(ctx: Context, subscription: dict[str, Any], at: int) -> list[dict[str, Any]]:
    return [
        discount
        for discount in subscription_discounts(ctx, subscription)
        if discount["end"] is None or at < discount["end"]
    ]


def _line_basis(line: dict[str, Any]) -> LineBasis:
    return LineBasis(
        amount=line["amount"],
        product=line["pricing"]["price_details"]["product"],
        discountable=line["discountable"],
    )


def invoice_discounts_apply(
    ctx: Context, subscription: dict[str, Any], lines: list[dict[str, Any]], at: int
) -> tuple[list[str], list[int]]:
    """Apply the subscription's discounts in force at `at` (the invoice's period start) to
    its lines: each discountable line's `discount_amounts` and `pretax_credit_amounts` are set.
    Returns the invoice's discount ids and what each one takes off in all.

    A `once` discount is used by an invoice that has something to discount, and removed by the
    next one.
    """
    discounts = []
    for discount in _in_force(ctx, subscription, at):
        if ctx.db.meta_get(_used_marker(discount)):
            _discount_remove(ctx, subscription, discount)
        else:
            discounts.append(discount)
    if not discounts:
        return [], []
    coupons = [discount_coupon(ctx, discount) for discount in discounts]
    taken = discount_lines(
        [_line_basis(line) for line in lines], [coupon_terms(coupon) for coupon in coupons]
    )
    for index, line in enumerate(lines):
        if not line["discountable"]:
            continue
        amounts = [(taken[k][index], discount["id"]) for k, discount in enumerate(discounts)]
        line["discount_amounts"] = [
            {"amount": amount, "discount": discount_id} for amount, discount_id in amounts
        ]
        line["pretax_credit_amounts"] = [
            {
                "amount": amount,
                "credit_balance_transaction": None,
                "discount": discount_id,
                "type": "discount",
            }
            for amount, discount_id in amounts
            if amount > 0
        ]
    if any(line["discountable"] and line["amount"] > 0 for line in lines):
        for discount, coupon in zip(discounts, coupons, strict=True):
            if coupon["duration"] == "once":
                ctx.db.meta_set(_used_marker(discount), "used")
    return [discount["id"] for discount in discounts], [sum(amounts) for amounts in taken]


def _used_marker(discount: dict[str, Any]) -> str:
    """Marks a `once` discount that an invoice has used (the Discount object does not say)."""
    return f"discount_used:{discount['id']}"


def proration_discounted_amount(
    ctx: Context, subscription: dict[str, Any], product: str, amount: int
) -> tuple[int, list[str]]:
    """An item's period `amount` after the subscription's percent-off discounts in force now
    that apply to its `product` (what its prorations are computed from), and their ids."""
    applying = [
        (discount, coupon_terms(discount_coupon(ctx, discount)))
        for discount in _in_force(ctx, subscription, ctx.now())
    ]
    applying = [
        (discount, terms)
        for discount, terms in applying
        if terms.percent_off is not None and terms.applies_to(LineBasis(amount, product))
    ]
    if not applying:
        return amount, []
    taken = discount_lines([LineBasis(amount, product)], [terms for _, terms in applying])
    return amount - sum(row[0] for row in taken), [discount["id"] for discount, _ in applying]
