"""Promotion codes: `/v1/promotion_codes` create, retrieve, update (`active`, `metadata`), list.

A promotion code is a customer-facing `code` for a coupon (`promotion[type]=coupon` and
`promotion[coupon]` from API 2025-09-30.clover on, a plain `coupon` before it; the object shows
`promotion` or the whole `coupon` the same way). The code is matched without regard to case,
must be unique among the active codes a customer could use, and is made up (8 capitals and
digits) when not given. It may be limited to one `customer`, to `max_redemptions`, to an
`expires_at`, to first-time customers (`restrictions[first_time_transaction]`) and to
purchases of at least `restrictions[minimum_amount]` in `[minimum_amount_currency]`; what
refuses a redemption is `lifecycle/redemptions.py`'s.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.lifecycle.redemptions import (
    PROMOTION_CODE,
    promotion_code_lapsed,
    promotion_code_refresh,
)
from stripe_server.resources.coupons import coupon_get
from stripe_server.routing import route
from stripe_server.versions import CLOVER
from stripe_server.wire import (
    Params,
    created_filter,
    invalid_request,
    metadata_update,
    missing_param,
    resource_missing,
)

_CODE = re.compile(r"[A-Za-z0-9\-]{1,500}")
_CODE_ALPHABET = string.ascii_uppercase + string.digits
_CREATE_PARAMS = {
    "active",
    "code",
    "customer",
    "expires_at",
    "max_redemptions",
    "metadata",
    "restrictions",
}


def promotion_code_get(
    ctx: Context, promotion_code_id: str, *, param: str = "promotion_code", status: int = 404
) -> dict[str, Any]:
    """The promotion code, deactivated first if it has lapsed; `resource_missing` otherwise."""
    promotion_code = ctx.db.get(promotion_code_id, PROMOTION_CODE)
    if promotion_code is None:
        error = resource_missing("promotion code", promotion_code_id, param=param)
        error.status = status
        raise error
    return promotion_code_refresh(ctx, promotion_code)


def promotion_code_find(
    ctx: Context, code: str, customer: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The promotion code a customer typed (any case): an active one they may use first, then
    another active one, then the newest inactive one (so a refusal can say why); None if no
    code is spelled so."""
    matches = [
        promotion_code_refresh(ctx, found)
        for found in ctx.db.all(PROMOTION_CODE)
        if found["code"].lower() == code.strip().lower()
    ]
    customer_id = customer["id"] if customer else None

    def rank(promotion_code: dict[str, Any]) -> int:
        usable = promotion_code["customer"] in (None, customer_id)
        return 0 if promotion_code["active"] and usable else 1 if promotion_code["active"] else 2

    return min(matches, key=rank, default=None)


def _coupon_id(ctx: Context, params: Params) -> str:
    """The coupon the code is for: `promotion[coupon]` (clover on) or `coupon` (before)."""
    if ctx.api_version < CLOVER:
        coupon_id = params.string("coupon", required=True)
        assert coupon_id is not None
        return coupon_id
    promotion = params.nested("promotion", required=True)
    assert promotion is not None
    promotion.reject_unknown({"type", "coupon"})
    promotion.string("type", required=True, choices=("coupon",))
    coupon_id = promotion.string("coupon")
    if not coupon_id:
        raise missing_param("promotion[coupon]")
    return coupon_id


def _restrictions(params: Params) -> dict[str, Any]:
    restrictions = params.nested("restrictions") or Params({}, "restrictions")
    restrictions.reject_unknown(
        {"first_time_transaction", "minimum_amount", "minimum_amount_currency"}
    )
    minimum = restrictions.integer("minimum_amount", minimum=1)
    currency = (restrictions.string("minimum_amount_currency") or "").lower() or None
    if minimum is not None and currency is None:
        raise invalid_request(
            "You must pass minimum_amount_currency when passing minimum_amount",
            param="restrictions[minimum_amount_currency]",
        )
    if currency is not None and minimum is None:
        raise missing_param("restrictions[minimum_amount]")
    return {
        "first_time_transaction": bool(restrictions.boolean("first_time_transaction")),
        "minimum_amount": minimum,
        "minimum_amount_currency": currency,
    }


def _check_code_free(ctx: Context, code: str, customer: str | None, own_id: str) -> None:
    """Refuse a code another active code a customer could use already has (any case)."""
    for other in ctx.db.all(PROMOTION_CODE):
        if (
            other["id"] != own_id
            and other["code"].lower() == code.lower()
            and (other["customer"] is None or customer is None or other["customer"] == customer)
            and promotion_code_refresh(ctx, other)["active"]
        ):
            raise invalid_request(
                "An active promotion code with this code already exists.", param="code"
            )


@route("POST", "/v1/promotion_codes")
def promotion_code_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    before_clover = ctx.api_version < CLOVER
    params.reject_unknown(_CREATE_PARAMS | {"coupon" if before_clover else "promotion"})
    coupon = coupon_get(
        ctx,
        _coupon_id(ctx, params),
        param="coupon" if before_clover else "promotion[coupon]",
        status=400,
    )
    code = params.string("code") or "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    if not _CODE.fullmatch(code):
        raise invalid_request(
            "The code may contain only letters (a-z, A-Z), digits (0-9) and dashes (-).",
            param="code",
        )
    customer_id = params.string("customer") or None
    if customer_id is not None:
        ctx.require("customer", customer_id, param="customer", status=400)
    now = ctx.now()
    expires_at = params.integer("expires_at")
    if expires_at is not None and expires_at <= now:
        raise invalid_request(
            "The parameter `expires_at` expects a unix timestamp representing a date and time "
            f"in the future. You specified the value `{expires_at}` which is in the past.",
            param="expires_at",
        )
    redeem_by = coupon["redeem_by"]
    if expires_at is not None and redeem_by is not None and expires_at > redeem_by:
        raise invalid_request(
            "The promotion code's `expires_at` cannot be after its coupon's `redeem_by`.",
            param="expires_at",
        )
    max_redemptions = params.integer("max_redemptions", minimum=1)
    coupon_limit = coupon["max_redemptions"]
    if max_redemptions is not None and coupon_limit is not None and max_redemptions > coupon_limit:
        raise invalid_request(
            "The promotion code's `max_redemptions` cannot be greater than its coupon's "
            "`max_redemptions`.",
            param="max_redemptions",
        )
    promotion_code = {
        "active": params.boolean("active", default=True),
        "code": code,
        "created": now,
        "customer": customer_id,
        "customer_account": None,
        "expires_at": expires_at,
        "id": new_id("promo"),
        "livemode": False,
        "max_redemptions": max_redemptions,
        "metadata": metadata_update({}, params),
        "object": "promotion_code",
        "promotion": {"coupon": coupon["id"], "type": "coupon"},
        "restrictions": _restrictions(params),
        "times_redeemed": 0,
    }
    if promotion_code["active"]:
        _check_code_free(ctx, code, customer_id, promotion_code["id"])
    ctx.db.save(PROMOTION_CODE, promotion_code)
    promotion_code_refresh(ctx, promotion_code)
    events.emit(ctx, "promotion_code.created", promotion_code)
    return ctx.present(promotion_code)


@route("GET", "/v1/promotion_codes/{id}")
def promotion_code_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(promotion_code_get(ctx, ctx.arg("id")))


@route("POST", "/v1/promotion_codes/{id}")
def promotion_code_update(ctx: Context) -> dict[str, Any]:
    """`active` and `metadata` change; `restrictions[currency_options]`, the only restriction
    Stripe lets an update change, is not emulated."""
    params = ctx.params
    params.reject_unknown({"active", "metadata", "restrictions"})
    restrictions = params.nested("restrictions")
    if restrictions is not None:
        raise invalid_request(
            "The local Stripe server does not emulate `restrictions[currency_options]`, the "
            "only restriction an update can change.",
            param="restrictions",
        )
    promotion_code = promotion_code_get(ctx, ctx.arg("id"))
    before = dict(promotion_code)
    active = params.boolean("active")
    if active and not promotion_code["active"]:
        if promotion_code_lapsed(ctx, promotion_code, ctx.now()):
            raise invalid_request(
                "A promotion code can only be reactivated when the coupon is still valid and the "
                "promotion code is otherwise redeemable.",
                param="active",
            )
        _check_code_free(ctx, promotion_code["code"], promotion_code["customer"], "")
    if active is not None:
        promotion_code["active"] = active
    promotion_code["metadata"] = metadata_update(promotion_code["metadata"], params)
    if promotion_code != before:
        ctx.db.save(PROMOTION_CODE, promotion_code)
        events.emit(
            ctx,
            "promotion_code.updated",
            promotion_code,
            events.previous_attributes(before, promotion_code),
        )
    return ctx.present(promotion_code)


@route("GET", "/v1/promotion_codes")
def promotion_code_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"active", "code", "coupon", "customer", "created", "limit", "starting_after",
         "ending_before"}
    )  # fmt: skip
    active = params.boolean("active")
    code = params.string("code")
    coupon = params.string("coupon")
    customer = params.string("customer")
    created = created_filter(params)
    refreshed = [promotion_code_refresh(ctx, found) for found in ctx.db.all(PROMOTION_CODE)]
    promotion_codes = [
        promotion_code
        for promotion_code in refreshed
        if (active is None or promotion_code["active"] == active)
        and (code is None or promotion_code["code"].lower() == code.lower())
        and (coupon is None or promotion_code["promotion"]["coupon"] == coupon)
        and (customer is None or promotion_code["customer"] == customer)
        and created(promotion_code["created"])
    ]
    return ctx.page(promotion_codes, "/v1/promotion_codes", "promotion code")
