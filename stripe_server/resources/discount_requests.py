"""The `discounts` parameter of subscriptions, invoice previews and Checkout Sessions.

Each entry names one of `coupon`, `promotion_code` (its id, `promo_...`) or `discount` (an
existing discount of the subscription, kept). Coupons and promotion codes are checked as they
would be redeemed (`lifecycle/redemptions.py`), and refused with Stripe's error naming the
entry (`discounts[0][promotion_code]`).
"""

from __future__ import annotations

from typing import Any

from stripe_server.context import Context
from stripe_server.lifecycle.discounts import DiscountRequest
from stripe_server.lifecycle.redemptions import (
    DISCOUNT,
    Purchase,
    Refusal,
    coupon_of,
    coupon_refusal_for_products,
    coupon_refusal_for_version,
    coupon_valid_at,
    promotion_code_coupon_id,
    promotion_code_refusal,
)
from stripe_server.resources.coupons import coupon_get
from stripe_server.resources.promotion_codes import promotion_code_get
from stripe_server.wire import Params, StripeError, invalid_request, resource_missing

_KINDS = ("coupon", "promotion_code", "discount")


def discount_requests_parse(
    ctx: Context,
    params: Params,
    purchase: Purchase,
    *,
    subscription: dict[str, Any] | None = None,
    kinds: tuple[str, ...] = _KINDS,
) -> list[DiscountRequest] | None:
    """The `discounts` asked for: None when the parameter is absent, [] when it is "" (which
    clears a subscription's discounts), else one request per entry, in order. `kinds`: what an
    entry may name (Checkout takes no `discount`)."""
    key = "discounts"
    if not params.has(key):
        return None
    if params.raw(key) == "":
        return []
    requests = []
    for entry in params.items(key):
        entry.reject_unknown(kinds)
        given = [kind for kind in kinds if entry.string(kind)]
        if len(given) != 1:
            names = ", ".join(f"`{kind}`" for kind in kinds)
            raise invalid_request(
                f"You must pass exactly one of {names} in each entry of `discounts`.",
                param=entry.name(given[1] if len(given) > 1 else "coupon"),
            )
        kind = given[0]
        object_id = entry.string(kind) or ""
        param = entry.name(kind)
        if kind == "coupon":
            coupon = coupon_get(ctx, object_id, param=param, status=400)
            _check_coupon(ctx, coupon, purchase, param)
            requests.append(DiscountRequest(coupon=coupon))
        elif kind == "promotion_code":
            promotion_code = promotion_code_get(ctx, object_id, param=param, status=400)
            refusal = promotion_code_refusal(ctx, promotion_code, purchase)
            if refusal is not None:
                raise _refused(refusal, promotion_code, param)
            coupon = coupon_of(ctx, promotion_code_coupon_id(promotion_code))
            _check_currency(coupon, purchase, param)
            requests.append(DiscountRequest(coupon=coupon, promotion_code=promotion_code))
        else:
            if subscription is None or object_id not in subscription["discounts"]:
                error = resource_missing("discount", object_id, param=param)
                error.status = 400
                raise error
            discount = ctx.require(DISCOUNT, object_id, param=param, status=400)
            requests.append(DiscountRequest(discount=discount))
    return requests


def _refused(refusal: Refusal, subject: dict[str, Any], param: str) -> StripeError:
    return invalid_request(refusal.message(subject), param=param, code=refusal.code)


def _check_coupon(ctx: Context, coupon: dict[str, Any], purchase: Purchase, param: str) -> None:
    if not coupon_valid_at(ctx, coupon, ctx.now()):
        raise _refused(Refusal.COUPON_INVALID, coupon, param)
    refusal = coupon_refusal_for_version(ctx, coupon) or coupon_refusal_for_products(
        coupon, purchase.products
    )
    if refusal is not None:
        raise _refused(refusal, coupon, param)
    _check_currency(coupon, purchase, param)


def _check_currency(coupon: dict[str, Any], purchase: Purchase, param: str) -> None:
    """An amount off is in one currency: the purchase's must be the same."""
    if coupon["amount_off"] is not None and coupon["currency"] != purchase.currency:
        raise invalid_request(
            f"The coupon's currency ({coupon['currency']}) does not match the currency of this "
            f"purchase ({purchase.currency}).",
            param=param,
        )
