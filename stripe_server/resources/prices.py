"""Prices: per-unit, package and tiered (graduated/volume), one-time or recurring, licensed or
metered (billing a meter's usage).

The price itself is built in `catalog.py` (products create prices too); this module is the
`/v1/prices` endpoints.
"""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.catalog import TAX_BEHAVIORS, lookup_key_claim, price_new
from stripe_server.context import Context
from stripe_server.lifecycle.subscriptions import ENDED_STATUSES
from stripe_server.routing import route
from stripe_server.wire import (
    Params,
    StripeError,
    created_filter,
    invalid_request,
    metadata_update,
)

_CREATE_PARAMS = {
    "active",
    "billing_scheme",
    "currency",
    "lookup_key",
    "metadata",
    "nickname",
    "product",
    "product_data",
    "recurring",
    "tax_behavior",
    "tiers",
    "tiers_mode",
    "transfer_lookup_key",
    "transform_quantity",
    "unit_amount",
    "unit_amount_decimal",
}


@route("POST", "/v1/prices")
def price_create(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown(_CREATE_PARAMS)
    return ctx.present(price_new(ctx, ctx.params))


@route("GET", "/v1/prices/{id}")
def price_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(ctx.require("price", ctx.arg("id")))


@route("POST", "/v1/prices/{id}")
def price_update(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"active", "lookup_key", "metadata", "nickname", "tax_behavior", "transfer_lookup_key"}
    )
    price = ctx.require("price", ctx.arg("id"))
    before = dict(price)
    if params.has("active"):
        price["active"] = params.boolean("active")
    if params.has("nickname"):
        price["nickname"] = params.string("nickname") or None
    if params.has("tax_behavior"):
        if price["tax_behavior"] != "unspecified":
            raise invalid_request("tax_behavior cannot be changed once set.", param="tax_behavior")
        price["tax_behavior"] = params.string("tax_behavior", choices=TAX_BEHAVIORS)
    if params.has("lookup_key"):
        lookup_key = params.string("lookup_key") or None
        if lookup_key is not None:
            lookup_key_claim(
                ctx,
                lookup_key,
                transfer=bool(params.boolean("transfer_lookup_key")),
                price_id=price["id"],
            )
        price["lookup_key"] = lookup_key
    price["metadata"] = metadata_update(price["metadata"], params)
    if price != before:
        ctx.db.save("price", price)
        events.emit(ctx, "price.updated", price, events.previous_attributes(before, price))
    return ctx.present(price)


@route("GET", "/v1/prices")
def price_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {
            "active",
            "currency",
            "product",
            "type",
            "lookup_keys",
            "recurring",
            "created",
            "limit",
            "starting_after",
            "ending_before",
        }
    )
    active = params.boolean("active")
    currency = params.string("currency")
    product = params.string("product")
    price_type = params.string("type", choices=("one_time", "recurring"))
    lookup_keys = params.strings("lookup_keys")
    if lookup_keys is not None and len(lookup_keys) > 10:
        raise invalid_request("You may pass at most 10 lookup_keys.", param="lookup_keys")
    recurring = params.nested("recurring") or Params({}, "recurring")
    recurring.reject_unknown({"interval", "meter", "usage_type"})
    wanted = {key: recurring.string(key) for key in ("interval", "meter", "usage_type")}
    created = created_filter(params)
    prices = [
        price
        for price in ctx.db.all("price")
        if (active is None or price["active"] == active)
        and (currency is None or price["currency"] == currency.lower())
        and (product is None or price["product"] == product)
        and (price_type is None or price["type"] == price_type)
        and (lookup_keys is None or price["lookup_key"] in lookup_keys)
        and all(
            value is None or (price["recurring"] or {}).get(key) == value
            for key, value in wanted.items()
        )
        and created(price["created"])
    ]
    return ctx.page(prices, "/v1/prices", "price")


def price_in_live_use(ctx: Context, price_id: str) -> bool:
    return any(
        item["price"]["id"] == price_id
        for sub in ctx.db.all("subscription")
        if sub["status"] not in ENDED_STATUSES
        for item in sub["items"]["data"]
    )


def price_delete(ctx: Context, price_id: str) -> dict[str, Any]:
    """Delete a price, as the Dashboard can (the API cannot): used by the admin API."""
    price = ctx.require("price", price_id)
    if price_in_live_use(ctx, price_id):
        raise StripeError("This price is used by a subscription and cannot be deleted.")
    ctx.db.delete(price_id)
    events.emit(ctx, "price.deleted", price)
    return {"deleted": True, "id": price_id, "object": "price"}
