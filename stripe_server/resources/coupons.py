"""Coupons: `/v1/coupons` create, retrieve, update (`name`, `metadata`), list, delete.

A coupon takes `percent_off` (0.01 to 100) or `amount_off` with its `currency`, for a
`duration` of `once` (the default), `repeating` (`duration_in_months`) or `forever`; it may be
limited to some products (`applies_to[products]`, shown only with `expand[]=applies_to`, as at
Stripe), to a number of redemptions (`max_redemptions`) and to a last moment (`redeem_by`).
An amount off cannot last `forever` from API version 2025-03-31.basil on (such coupons made
with an older version are kept, and refused where they would be applied). Its id may be chosen
(`id`); otherwise it is 8 letters and digits. `valid` and
`times_redeemed` follow its redemptions (`lifecycle/redemptions.py`). Deleting a coupon stops
new redemptions; discounts already made from it go on.
"""

from __future__ import annotations

import re
import secrets
import string
from decimal import Decimal
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.lifecycle.redemptions import COUPON, DELETED_COUPON, coupon_refresh
from stripe_server.routing import route
from stripe_server.versions import BASIL
from stripe_server.wire import (
    StripeError,
    created_filter,
    invalid_request,
    metadata_update,
    resource_missing,
)

DURATIONS = ("forever", "once", "repeating")
# How far ahead `redeem_by` may be (Stripe: "cannot be set to more than 5 years in the future").
MAX_REDEEM_BY_SECONDS = 5 * 365 * 86400
_ID_ALPHABET = string.ascii_letters + string.digits

_CREATE_PARAMS = {
    "amount_off",
    "applies_to",
    "currency",
    "duration",
    "duration_in_months",
    "id",
    "max_redemptions",
    "metadata",
    "name",
    "percent_off",
    "redeem_by",
}


def coupon_get(ctx: Context, coupon_id: str, *, param: str = "coupon", status: int = 404) -> dict:
    """The coupon (not a deleted one), `valid` as of now; `resource_missing` otherwise."""
    coupon = ctx.db.get(coupon_id, COUPON)
    if coupon is None:
        error = resource_missing("coupon", coupon_id, param=param)
        error.status = status
        raise error
    return coupon_refresh(ctx, coupon)


def _percent_off(ctx: Context) -> int | float | None:
    text = ctx.params.decimal_string("percent_off")
    if text is None:
        return None
    percent = Decimal(text)
    if percent < Decimal("0.01"):
        raise invalid_request(
            "This value must be greater than or equal to 0.01 (it currently is "
            f"'{float(percent)}').",
            param="percent_off",
        )
    if percent > 100:
        raise invalid_request(
            f"This value must be less than or equal to 100 (it currently is '{float(percent)}').",
            param="percent_off",
        )
    # Stripe's JSON writes a whole percentage as an integer (`10`), else a decimal (`25.5`).
    return int(percent) if percent == percent.to_integral_value() else float(percent)


def _applies_to(ctx: Context) -> dict[str, Any] | None:
    applies_to = ctx.params.nested("applies_to")
    if applies_to is None:
        return None
    applies_to.reject_unknown({"products"})
    products = applies_to.strings("products") or []
    for index, product_id in enumerate(products):
        ctx.require("product", product_id, param=f"applies_to[products][{index}]", status=400)
    return {"products": products}


@route("POST", "/v1/coupons")
def coupon_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_CREATE_PARAMS)
    percent_off = _percent_off(ctx)
    amount_off = params.integer("amount_off", minimum=1)
    if percent_off is None and amount_off is None:
        raise StripeError("Must provide percent_off or amount_off.", code="parameter_missing")
    if percent_off is not None and amount_off is not None:
        raise invalid_request(
            "Received both percent_off and amount_off parameters. Please pass in only one."
        )
    currency = (params.string("currency") or "").lower() or None
    if amount_off is not None and currency is None:
        raise invalid_request("You must pass currency when passing amount_off", param="currency")
    duration = params.string("duration", choices=DURATIONS, default="once")
    months = params.integer("duration_in_months", minimum=1)
    if duration == "repeating" and months is None:
        raise invalid_request(
            "The duration_in_months param must be set when creating a coupon with a repeating "
            "duration",
            param="duration",
        )
    if ctx.api_version >= BASIL and amount_off is not None and duration == "forever":
        raise invalid_request(
            "Coupons with `amount_off` cannot have a `duration` of `forever` from API version "
            f"{BASIL} on; use `once` or `repeating`.",
            param="duration",
        )
    if duration != "repeating" and months is not None:
        raise invalid_request(
            "duration_in_months can only be set when duration is repeating.",
            param="duration_in_months",
        )
    now = ctx.now()
    redeem_by = params.integer("redeem_by")
    if redeem_by is not None and redeem_by <= now:
        raise invalid_request(
            "The parameter `redeem_by` expects a unix timestamp representing a date and time in "
            f"the future. You specified the value `{redeem_by}` which is in the past.",
            param="redeem_by",
        )
    if redeem_by is not None and redeem_by > now + MAX_REDEEM_BY_SECONDS:
        raise invalid_request(
            "`redeem_by` cannot be set to more than 5 years in the future.", param="redeem_by"
        )
    coupon_id = params.string("id") or "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,200}", coupon_id):
        raise invalid_request("Invalid coupon id", param="id")
    if ctx.db.kind_of(coupon_id) is not None:
        raise StripeError("Coupon already exists.", code="resource_already_exists")
    coupon = {
        "amount_off": amount_off,
        "applies_to": _applies_to(ctx),
        "created": now,
        "currency": currency,
        "duration": duration,
        "duration_in_months": months,
        "id": coupon_id,
        "livemode": False,
        "max_redemptions": params.integer("max_redemptions", minimum=1),
        "metadata": metadata_update({}, params),
        "name": params.string("name") or None,
        "object": "coupon",
        "percent_off": percent_off,
        "redeem_by": redeem_by,
        "times_redeemed": 0,
        "valid": True,
    }
    ctx.db.save(COUPON, coupon)
    events.emit(ctx, "coupon.created", coupon)
    return ctx.present(coupon)


@route("GET", "/v1/coupons/{id}")
def coupon_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(coupon_get(ctx, ctx.arg("id")))


@route("POST", "/v1/coupons/{id}")
def coupon_update(ctx: Context) -> dict[str, Any]:
    """Only the name and metadata change; the terms of a coupon are fixed, as at Stripe."""
    params = ctx.params
    params.reject_unknown({"name", "metadata"})
    coupon = coupon_get(ctx, ctx.arg("id"))
    before = dict(coupon)
    if params.has("name"):
        coupon["name"] = params.string("name") or None
    coupon["metadata"] = metadata_update(coupon["metadata"], params)
    if coupon != before:
        ctx.db.save(COUPON, coupon)
        events.emit(ctx, "coupon.updated", coupon, events.previous_attributes(before, coupon))
    return ctx.present(coupon)


@route("DELETE", "/v1/coupons/{id}")
def coupon_delete(ctx: Context) -> dict[str, Any]:
    coupon = coupon_get(ctx, ctx.arg("id"))
    coupon["valid"] = False
    # Kept under another kind: no longer found, but its discounts still know their coupon.
    ctx.db.delete(coupon["id"])
    ctx.db.save(DELETED_COUPON, coupon)
    events.emit(ctx, "coupon.deleted", coupon)
    return {"deleted": True, "id": coupon["id"], "object": "coupon"}


@route("GET", "/v1/coupons")
def coupon_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"created", "limit", "starting_after", "ending_before"})
    created = created_filter(params)
    coupons = [
        coupon_refresh(ctx, coupon) for coupon in ctx.db.all(COUPON) if created(coupon["created"])
    ]
    return ctx.page(coupons, "/v1/coupons", "coupon")
