"""Products: `/v1/products` (create, retrieve, update, list, delete) and their features."""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.catalog import product_apply_fields, product_new
from stripe_server.context import Context
from stripe_server.routing import route
from stripe_server.wire import created_filter, invalid_request, list_object

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


@route("POST", "/v1/products")
def product_create(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown(_EDITABLE | {"id", "default_price_data", "type"})
    return ctx.present(product_new(ctx, ctx.params))


@route("GET", "/v1/products/{id}")
def product_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(ctx.require("product", ctx.arg("id")))


@route("POST", "/v1/products/{id}")
def product_update(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_EDITABLE | {"default_price"})
    product = ctx.require("product", ctx.arg("id"))
    before = dict(product)
    product_apply_fields(ctx, product, params)
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
