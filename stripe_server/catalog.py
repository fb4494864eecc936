"""The product catalogue: creating products and prices, shared by both resources.

`POST /v1/products` can create a default price (`default_price_data`) and `POST /v1/prices` a
product (`product_data`), so the constructors of both live here, below the two resource
modules, which only parse their own endpoints' parameters and call these.
"""

from __future__ import annotations

import re
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.lifecycle.usage import KIND as METER_KIND
from stripe_server.versions import BASIL
from stripe_server.wire import (
    Params,
    StripeError,
    invalid_request,
    metadata_update,
    missing_param,
)

_INTERVAL_MAX_COUNT = {"day": 365, "week": 52, "month": 12, "year": 3}
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")


def _amount_pair(params: Params, key: str) -> tuple[int | None, str | None]:
    """`unit_amount` / `unit_amount_decimal` (or `flat_amount...`) as Stripe reports both."""
    amount = params.integer(key, minimum=0)
    decimal = params.decimal_string(f"{key}_decimal")
    if amount is not None and decimal is not None:
        raise invalid_request(
            f"You may only specify one of these parameters: {key}, {key}_decimal.",
            param=params.name(key),
        )
    if amount is not None:
        return amount, str(amount)
    if decimal is not None:
        whole = decimal.split(".")[0]
        return (int(whole) if "." not in decimal else None), decimal
    return None, None


def _recurring(ctx: Context, params: Params) -> dict[str, Any] | None:
    recurring = params.nested("recurring")
    if recurring is None:
        return None
    recurring.reject_unknown(
        {"interval", "interval_count", "meter", "usage_type", "trial_period_days"}
    )
    interval = recurring.string("interval", required=True, choices=tuple(_INTERVAL_MAX_COUNT))
    assert interval is not None
    count = recurring.integer(
        "interval_count", minimum=1, maximum=_INTERVAL_MAX_COUNT[interval], default=1
    )
    usage_type = recurring.string("usage_type", choices=("licensed", "metered"), default="licensed")
    return {
        "interval": interval,
        "interval_count": count,
        "meter": _meter(ctx, recurring, metered=usage_type == "metered"),
        "usage_type": usage_type,
        "trial_period_days": recurring.integer("trial_period_days", minimum=1, maximum=730),
    }


def _meter(ctx: Context, recurring: Params, *, metered: bool) -> str | None:
    """The active meter a metered price bills the usage of (`recurring[meter]`).

    Since 2025-03-31.basil a metered price must name one; before, a metered price without one
    billed usage records (legacy usage-based billing), which this server does not emulate."""
    meter_id = recurring.string("meter") or None
    param = recurring.name("meter")
    if not metered:
        if meter_id is not None:
            raise invalid_request(
                "A meter can only be set on a price with `recurring[usage_type]=metered`.",
                param=param,
            )
        return None
    if meter_id is None:
        if ctx.api_version >= BASIL:
            raise invalid_request(
                "Metered prices must be backed by a meter: pass `recurring[meter]` with the id "
                "of an active meter.",
                param=param,
            )
        raise invalid_request(
            "The local Stripe server does not emulate legacy usage-based billing (metered "
            "prices without a meter, billed by usage records): pass `recurring[meter]`.",
            param=param,
        )
    meter = ctx.require(METER_KIND, meter_id, param=param, status=400)
    if meter["status"] != "active":
        raise invalid_request(
            f"The meter `{meter_id}` is inactive: a deactivated meter cannot be attached to a "
            "price.",
            param=param,
        )
    return meter_id


def _tiers(params: Params) -> list[dict[str, Any]]:
    entries = params.items("tiers")
    if not entries:
        raise missing_param("tiers")
    tiers: list[dict[str, Any]] = []
    previous_limit = 0
    for position, entry in enumerate(entries):
        entry.reject_unknown(
            {"up_to", "unit_amount", "unit_amount_decimal", "flat_amount", "flat_amount_decimal"}
        )
        last = position == len(entries) - 1
        up_to_text = entry.string("up_to", required=True)
        if up_to_text == "inf":
            if not last:
                raise invalid_request(
                    "Only the last tier may have `up_to` set to `inf`.", param=entry.name("up_to")
                )
            up_to = None
        else:
            up_to = entry.integer("up_to", minimum=1)
            if last:
                raise invalid_request(
                    "The last tier must have `up_to` set to `inf`.", param=entry.name("up_to")
                )
            assert up_to is not None
            if up_to <= previous_limit:
                raise invalid_request(
                    "Tiers must be in increasing order of `up_to`.", param=entry.name("up_to")
                )
            previous_limit = up_to
        unit_amount, unit_decimal = _amount_pair(entry, "unit_amount")
        flat_amount, flat_decimal = _amount_pair(entry, "flat_amount")
        if unit_decimal is None and flat_decimal is None:
            raise invalid_request(
                "Each tier needs `unit_amount` or `flat_amount`.",
                param=entry.name("unit_amount"),
            )
        tiers.append(
            {
                "flat_amount": flat_amount,
                "flat_amount_decimal": flat_decimal,
                "unit_amount": unit_amount,
                "unit_amount_decimal": unit_decimal,
                "up_to": up_to,
            }
        )
    return tiers


def lookup_key_claim(ctx: Context, lookup_key: str, *, transfer: bool, price_id: str) -> None:
    """Give `lookup_key` to `price_id`: taken from another price with `transfer`, else a 400
    if another price has it (`transfer_lookup_key`)."""
    for other in ctx.db.all("price"):
        if other["lookup_key"] != lookup_key or other["id"] == price_id:
            continue
        if not transfer:
            raise invalid_request(
                f"A price ({other['id']}) already uses that lookup key.", param="lookup_key"
            )
        before = dict(other)
        other["lookup_key"] = None
        ctx.db.save("price", other)
        events.emit(ctx, "price.updated", other, events.previous_attributes(before, other))


def price_new(ctx: Context, params: Params, *, product_id: str | None = None) -> dict[str, Any]:
    """Validate `params` like Stripe's `POST /v1/prices` and store (and announce) the price."""
    if product_id is None:
        product_id = _product_for(ctx, params)
    currency = params.string("currency", required=True)
    assert currency is not None
    if not re.fullmatch(r"[a-zA-Z]{3}", currency):
        raise invalid_request(f"Invalid currency: {currency}", param="currency")
    billing_scheme = params.string("billing_scheme", choices=("per_unit", "tiered"))
    billing_scheme = billing_scheme or "per_unit"
    unit_amount, unit_decimal = _amount_pair(params, "unit_amount")
    tiers = None
    tiers_mode = None
    transform = None
    if billing_scheme == "tiered":
        if unit_decimal is not None:
            raise invalid_request(
                "Tiered prices take their amounts from `tiers`, not `unit_amount`.",
                param="unit_amount",
            )
        tiers_mode = params.string("tiers_mode", required=True, choices=("graduated", "volume"))
        tiers = _tiers(params)
    else:
        if params.has("tiers") or params.has("tiers_mode"):
            raise invalid_request(
                "`tiers` require `billing_scheme=tiered`.", param="billing_scheme"
            )
        if unit_decimal is None:
            raise missing_param("unit_amount")
    transform_params = params.nested("transform_quantity")
    if transform_params is not None:
        if billing_scheme == "tiered":
            raise invalid_request(
                "`transform_quantity` cannot be combined with tiers.", param="transform_quantity"
            )
        transform_params.reject_unknown({"divide_by", "round"})
        transform = {
            "divide_by": transform_params.integer("divide_by", required=True, minimum=1),
            "round": transform_params.string("round", required=True, choices=("up", "down")),
        }
    lookup_key = params.string("lookup_key") or None
    if lookup_key is not None and len(lookup_key) > 200:
        raise invalid_request("lookup_key must be at most 200 characters", param="lookup_key")
    price_id = new_id("price")
    if lookup_key is not None:
        lookup_key_claim(
            ctx,
            lookup_key,
            transfer=bool(params.boolean("transfer_lookup_key")),
            price_id=price_id,
        )
    recurring = _recurring(ctx, params)
    price: dict[str, Any] = {
        "active": params.boolean("active", default=True),
        "billing_scheme": billing_scheme,
        "created": ctx.now(),
        "currency": currency.lower(),
        "custom_unit_amount": None,
        "id": price_id,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": metadata_update({}, params),
        "nickname": params.string("nickname") or None,
        "object": "price",
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": params.string("tax_behavior", choices=TAX_BEHAVIORS) or "unspecified",
        "tiers_mode": tiers_mode,
        "transform_quantity": transform,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": unit_decimal,
        # Includable: returned only with `expand[]=tiers` (see expand.py).
        "tiers": tiers,
    }
    ctx.db.save("price", price)
    events.emit(ctx, "price.created", price)
    return price


def _product_for(ctx: Context, params: Params) -> str:
    product_id = params.string("product")
    product_data = params.nested("product_data")
    if product_id and product_data is not None:
        raise invalid_request(
            "You may only specify one of these parameters: product, product_data.",
            param="product",
        )
    if product_id:
        product = ctx.require("product", product_id, param="product", status=400)
        return product["id"]
    if product_data is None:
        raise missing_param("product")
    product_data.reject_unknown(
        {"name", "active", "metadata", "statement_descriptor", "tax_code", "unit_label", "id"}
    )
    return product_new(ctx, Params(dict(product_data.data)))["id"]


def product_apply_fields(ctx: Context, product: dict[str, Any], params: Params) -> None:
    """Set the editable fields `params` names (on create and update alike)."""
    if params.has("name"):
        product["name"] = params.string("name", required=True)
    if params.has("active"):
        product["active"] = params.boolean("active")
    for key in ("description", "statement_descriptor", "tax_code", "unit_label", "url"):
        if params.has(key):
            product[key] = params.string(key) or None
    if params.has("shippable"):
        product["shippable"] = params.boolean("shippable")
    if params.has("images"):
        product["images"] = params.strings("images") or []
    if params.has("marketing_features"):
        product["marketing_features"] = [
            {"name": feature.string("name", required=True)}
            for feature in params.items("marketing_features")
        ]
    if params.has("package_dimensions"):
        dimensions = params.nested("package_dimensions")
        product["package_dimensions"] = (
            None
            if dimensions is None
            else {
                key: float(dimensions.string(key, required=True) or 0)
                for key in ("height", "length", "weight", "width")
            }
        )
    product["metadata"] = metadata_update(product["metadata"], params)


def product_new(ctx: Context, params: Params) -> dict[str, Any]:
    """Store (and announce) a product from `params`, with its `default_price_data` price."""
    product_id = params.string("id") or new_id("prod", 14)
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,200}", product_id):
        raise invalid_request("Invalid product id", param="id")
    if ctx.db.kind_of(product_id) is not None:
        raise StripeError(
            f"Product already exists: {product_id}", code="resource_already_exists", param="id"
        )
    now = ctx.now()
    product: dict[str, Any] = {
        "active": True,
        "created": now,
        "default_price": None,
        "description": None,
        "id": product_id,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": params.string("name", required=True),
        "object": "product",
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "unit_label": None,
        "updated": now,
        "url": None,
        "type": params.string("type", choices=("service", "good"), default="service"),
    }
    product_apply_fields(ctx, product, params)
    ctx.db.save("product", product)
    events.emit(ctx, "product.created", product)
    price_data = params.nested("default_price_data")
    if price_data is not None:
        price = price_new(ctx, price_data, product_id=product_id)
        product["default_price"] = price["id"]
        ctx.db.save("product", product)
    return product
