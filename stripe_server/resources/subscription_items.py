"""SubscriptionItems: list by subscription, retrieve, add, change, remove."""

from __future__ import annotations

import copy
from typing import Any

from stripe_server.context import Context
from stripe_server.frozen_time import clock_context
from stripe_server.lifecycle.item_changes import subscription_apply_item_changes
from stripe_server.lifecycle.pending_updates import pending_update_hold
from stripe_server.lifecycle.subscriptions import ENDED_STATUSES, subscription_save_updated
from stripe_server.resources.subscriptions import (
    PAYMENT_BEHAVIORS,
    PRORATION_BEHAVIORS,
    item_change_from_params,
    pending_update_check,
    proration_date_param,
)
from stripe_server.routing import route
from stripe_server.wire import Params, invalid_request, missing_param


def _item_params(ctx: Context, item_id: str | None = None) -> Params:
    """Just the item fields of the request, in the shape `items[n]` has on a subscription."""
    keys = ("price", "quantity", "metadata")
    fields = {k: v for k, v in ctx.params.data.items() if k in keys}
    return Params({**fields, "id": item_id} if item_id else fields)


def _change_subscription(ctx: Context, subscription: dict[str, Any], change: dict) -> None:
    if subscription["status"] in ENDED_STATUSES:
        raise invalid_request("A canceled subscription's items cannot be changed.")
    # A test clock's subscription changes at that clock's time, as through the subscription.
    ctx = clock_context(ctx, subscription.get("test_clock"))
    before = copy.deepcopy(subscription)
    proration_date = proration_date_param(ctx, subscription)
    payment_behavior = ctx.params.string(
        "payment_behavior", choices=PAYMENT_BEHAVIORS, default="allow_incomplete"
    )
    if payment_behavior == "pending_if_incomplete":
        pending_update_check(ctx, _PENDING_PARAMS, ctx.params)
    declined = subscription_apply_item_changes(
        ctx,
        subscription,
        [change],
        proration_behavior=ctx.params.string(
            "proration_behavior", choices=PRORATION_BEHAVIORS, default="create_prorations"
        )
        or "create_prorations",
        payment_behavior=payment_behavior or "allow_incomplete",
        proration_date=proration_date,
    )
    if declined and payment_behavior == "pending_if_incomplete":
        pending_update_hold(ctx, subscription, before)
    subscription_save_updated(ctx, subscription, before)


_CHANGE_PARAMS = {"price", "quantity", "metadata", "proration_behavior", "payment_behavior",
                  "proration_date", "off_session"}  # fmt: skip
# What an item request may pass with `payment_behavior=pending_if_incomplete`.
_PENDING_PARAMS = frozenset(
    {"expand", "payment_behavior", "proration_behavior", "proration_date", "price", "quantity",
     "subscription"}
)  # fmt: skip


@route("POST", "/v1/subscription_items")
def subscription_item_create(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown(_CHANGE_PARAMS | {"subscription"})
    subscription_id = ctx.params.string("subscription", required=True) or ""
    subscription = ctx.require("subscription", subscription_id, param="subscription", status=400)
    known = {item["id"] for item in subscription["items"]["data"]}
    change = item_change_from_params(ctx, subscription, _item_params(ctx))
    change["id"] = None
    _change_subscription(ctx, subscription, change)
    added = next(i for i in subscription["items"]["data"] if i["id"] not in known)
    return ctx.present(added)


@route("GET", "/v1/subscription_items/{id}")
def subscription_item_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(ctx.require("subscription_item", ctx.arg("id")))


@route("POST", "/v1/subscription_items/{id}")
def subscription_item_update(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown(_CHANGE_PARAMS)
    item = ctx.require("subscription_item", ctx.arg("id"))
    subscription = ctx.require("subscription", item["subscription"])
    change = item_change_from_params(ctx, subscription, _item_params(ctx, item["id"]))
    _change_subscription(ctx, subscription, change)
    return ctx.present(ctx.require("subscription_item", item["id"]))


@route("DELETE", "/v1/subscription_items/{id}")
def subscription_item_delete(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown({"proration_behavior", "proration_date", "clear_usage"})
    item = ctx.require("subscription_item", ctx.arg("id"))
    subscription = ctx.require("subscription", item["subscription"])
    if len(subscription["items"]["data"]) == 1:
        raise invalid_request(
            "A subscription must have at least one active plan. To cancel a subscription, "
            "please use the cancel API endpoint on /v1/subscriptions."
        )
    _change_subscription(ctx, subscription, {"id": item["id"], "deleted": True})
    return {"deleted": True, "id": item["id"], "object": "subscription_item"}


@route("GET", "/v1/subscription_items")
def subscription_item_list(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown({"subscription", "limit", "starting_after", "ending_before"})
    subscription_id = ctx.params.string("subscription")
    if not subscription_id:
        raise missing_param("subscription")
    subscription = ctx.require("subscription", subscription_id, param="subscription", status=400)
    # Items keep the subscription's order (oldest first), as Stripe lists them.
    return ctx.page(
        subscription["items"]["data"],
        f"/v1/subscription_items?subscription={subscription_id}",
        "subscription_item",
    )
