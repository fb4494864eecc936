"""Products: `/v1/products` (create, retrieve, update, list, delete) and their features."""

from __future__ import annotations

import re
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.routing import route
from stripe_server.wire import (
    Params,
    StripeError,
    created_filter,
    invalid_request,
    list_object,
    metadata_update,
)

_EDITABLE = {
    "active",
    "description",
    "images",
    "marketing_features",
    "metadata",
    "name",
    "package_dimensions",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "unit_label",
    "url",
}


def _apply_fields(ctx: Context, product: dict[str, Any], params: Params) -> None:
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


@route("POST", "/v1/products")
def product_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_EDITABLE | {"id", "default_price_data", "type"})
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
    _apply_fields(ctx, product, params)
    ctx.db.save("product", product)
    events.emit(ctx, "product.created", product)
    price_data = params.nested("default_price_data")
    if price_data is not None:
        # Imported here: prices import this module to validate `product`.
        from stripe_server.resources.prices import price_new

        price = price_new(ctx, price_data, product_id=product_id)
        product["default_price"] = price["id"]
        ctx.db.save("product", product)
    return ctx.present(product)


@route("GET", "/v1/products/{id}")
def product_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(ctx.require("product", ctx.arg("id")))


@route("POST", "/v1/products/{id}")
def product_update(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_EDITABLE | {"default_price"})
    product = ctx.require("product", ctx.arg("id"))
    before = dict(product)
    _apply_fields(ctx, product, params)
    if params.has("default_price"):
        price_id = params.string("default_price") or None
        if price_id is not None:
            price = ctx.require("price", price_id, param="default_price", status=400)
            if price["product"] != product["id"]:
                raise invalid_request(
                    "The default price must belong to this product.", param="default_price"
                )
        product["default_price"] = price_id
    if product != before:
        product["updated"] = ctx.now()
        ctx.db.save("product", product)
        events.emit(ctx, "product.updated", product, events.previous_attributes(before, product))
    return ctx.present(product)


@route("DELETE", "/v1/products/{id}")
def product_delete(ctx: Context) -> dict[str, Any]:
    product = ctx.require("product", ctx.arg("id"))
    if any(price["product"] == product["id"] for price in ctx.db.all("price")):
        raise invalid_request(
            "This product cannot be deleted because it has one or more user-created prices."
        )
    ctx.db.delete(product["id"])
    events.emit(ctx, "product.deleted", product)
    return {"deleted": True, "id": product["id"], "object": "product"}


@route("GET", "/v1/products")
def product_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"active", "ids", "created", "shippable", "url", "limit", "starting_after", "ending_before"}
    )
    active = params.boolean("active")
    ids = params.strings("ids")
    shippable = params.boolean("shippable")
    url = params.string("url")
    created = created_filter(params)
    products = [
        product
        for product in ctx.db.all("product")
        if (active is None or product["active"] == active)
        and (ids is None or product["id"] in ids)
        and (shippable is None or product["shippable"] == shippable)
        and (url is None or product["url"] == url)
        and created(product["created"])
    ]
    return ctx.page(products, "/v1/products", "product")


@route("GET", "/v1/products/{id}/features")
def product_feature_list(ctx: Context) -> dict[str, Any]:
    # Entitlements are not emulated; an empty list is what dj-stripe handles best.
    product = ctx.require("product", ctx.arg("id"))
    return list_object(f"/v1/products/{product['id']}/features", [])
