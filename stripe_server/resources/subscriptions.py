"""Subscriptions: create (trials, payment behaviours), update items, cancel, list.

The lifecycle rules (periods, invoices, payments, renewals, item changes) live in
`lifecycle/`; this module turns API parameters into those steps and announces each change as
an event.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_server import events
from stripe_server.amounts import is_metered, price_amount
from stripe_server.context import Context
from stripe_server.frozen_time import clock_context
from stripe_server.lifecycle.discounts import subscription_discounts_set
from stripe_server.lifecycle.item_changes import subscription_apply_item_changes
from stripe_server.lifecycle.pending_updates import pending_update_hold
from stripe_server.lifecycle.prorations import proration_date_check
from stripe_server.lifecycle.redemptions import Purchase
from stripe_server.lifecycle.resumptions import subscription_resume_attempt
from stripe_server.lifecycle.subscription_start import ItemSpec, StartOptions, subscription_start
from stripe_server.lifecycle.subscriptions import (
    ENDED_STATUSES,
    subscription_cancel_now,
    subscription_renew,
    subscription_save,
)
from stripe_server.resources.discount_requests import discount_requests_parse
from stripe_server.resources.payment_methods import payment_method_attach, payment_method_resolve
from stripe_server.routing import route
from stripe_server.versions import PENDING_UPDATE_METADATA
from stripe_server.wire import (
    Params,
    created_filter,
    invalid_request,
    metadata_update,
    missing_param,
)

PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")
PAYMENT_BEHAVIORS = (
    "allow_incomplete",
    "default_incomplete",
    "error_if_incomplete",
    "pending_if_incomplete",
)
# What a request with `payment_behavior=pending_if_incomplete` may pass (Stripe's pending
# updates reference), on a subscription and on one of its items; `metadata` since
# 2026-05-27.dahlia.
PENDING_UPDATE_PARAMS = frozenset(
    {"expand", "payment_behavior", "proration_behavior", "proration_date",
     "billing_cycle_anchor", "items", "trial_end", "trial_from_plan", "add_invoice_items"}
)  # fmt: skip
PENDING_UPDATE_ITEM_PARAMS = frozenset({"id", "price", "quantity", "deleted"})
# What a trial's end does when the subscription has no payment method
# (`trial_settings[end_behavior][missing_payment_method]`).
TRIAL_END_BEHAVIORS = ("cancel", "create_invoice", "pause")


def pending_update_check(ctx: Context, allowed: frozenset[str], params: Params) -> None:
    """Refuse (400) what `pending_if_incomplete` does not take, with Stripe's message.

    The request's own `metadata` (not an item's) is taken from 2026-05-27.dahlia on.
    """
    if not params.prefix and ctx.api_version >= PENDING_UPDATE_METADATA:
        allowed |= {"metadata"}
    for key in params.data:
        if key not in allowed:
            raise invalid_request(
                "When `payment_behavior` is set to `pending_if_incomplete`, you can only pass "
                f"supported params. `{params.name(key)}` is not supported.",
                param=params.name(key),
            )


def usable_price(ctx: Context, price_id: str, param: str) -> dict[str, Any]:
    """The price `price_id` if a subscription may bill it (400 naming `param` if not)."""
    price = ctx.require("price", price_id, param=param, status=400)
    if not price["active"]:
        raise invalid_request(
            "The price specified is inactive. This field only accepts active prices.",
            param=param,
        )
    if price["type"] != "recurring":
        raise invalid_request(
            "The price specified is set to `type=one_time` but this field only accepts prices "
            "with `type=recurring`.",
            param=param,
        )
    return price


def item_quantity(
    entry: Params, price: dict[str, Any], *, minimum: int = 0, maximum: int | None = None
) -> int | None:
    """The `quantity` of an item entry (1 when not given), or None for a metered price, which
    takes none (Stripe's 400 when one is given)."""
    if not is_metered(price):
        return entry.integer("quantity", minimum=minimum, maximum=maximum, default=1)
    if entry.has("quantity"):
        place = f"`{entry.prefix}`" if entry.prefix else "the request"
        raise invalid_request(
            "Quantity should not be specified where usage_type is `metered`. "
            f"Remove quantity from {place}.",
            param=entry.name("quantity"),
        )
    return None


def _trial_end(ctx: Context, params: Params, first_price: dict[str, Any]) -> int | None:
    now = ctx.now()
    if params.has("trial_end") and params.string("trial_end") == "now":
        return None
    if params.has("trial_end"):
        trial_end = params.integer("trial_end")
        assert trial_end is not None
        if trial_end <= now:
            raise invalid_request(
                "Invalid timestamp: must be an integer Unix timestamp in the future.",
                param="trial_end",
            )
        return trial_end
    days = params.integer("trial_period_days", minimum=0, maximum=730)
    if days is None and params.boolean("trial_from_plan"):
        days = first_price["recurring"].get("trial_period_days")
    return now + days * 86400 if days else None


def trial_settings_param(params: Params) -> dict[str, Any] | None:
    """The request's `trial_settings` as the subscription stores it, None if not passed."""
    settings = params.nested("trial_settings")
    if settings is None:
        return None
    settings.reject_unknown({"end_behavior"})
    end_behavior = settings.nested("end_behavior", required=True)
    assert end_behavior is not None
    end_behavior.reject_unknown({"missing_payment_method"})
    missing = end_behavior.string(
        "missing_payment_method", required=True, choices=TRIAL_END_BEHAVIORS
    )
    return {"end_behavior": {"missing_payment_method": missing}}


def _default_payment_method(ctx: Context, params: Params, customer: dict[str, Any]) -> str | None:
    payment_method_id = params.string("default_payment_method") or None
    if payment_method_id is None:
        return None
    payment_method = payment_method_resolve(ctx, payment_method_id, param="default_payment_method")
    if payment_method["customer"] is None and payment_method_id.startswith("pm_card_"):
        payment_method_attach(ctx, payment_method, customer)
    if payment_method["customer"] != customer["id"]:
        raise invalid_request(
            f"The customer does not have a payment method with the ID {payment_method_id}. "
            "The payment method must be attached to the customer.",
            param="default_payment_method",
        )
    return payment_method["id"]


_CREATE_PARAMS = {
    "customer",
    "items",
    "default_payment_method",
    "trial_period_days",
    "trial_end",
    "trial_from_plan",
    "cancel_at_period_end",
    "cancel_at",
    "metadata",
    "payment_behavior",
    "proration_behavior",
    "collection_method",
    "description",
    "off_session",
    "currency",
    "trial_settings",
    "discounts",
}


@route("POST", "/v1/subscriptions")
def subscription_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_CREATE_PARAMS)
    customer_id = params.string("customer", required=True)
    assert customer_id is not None
    customer = ctx.require("customer", customer_id, param="customer", status=400)
    # A test clock's customer subscribes on that clock's time.
    ctx = clock_context(ctx, customer.get("test_clock"))
    params.string("collection_method", choices=("charge_automatically",))
    params.string("proration_behavior", choices=PRORATION_BEHAVIORS)
    payment_behavior = params.string(
        "payment_behavior", choices=PAYMENT_BEHAVIORS, default="allow_incomplete"
    )
    item_params = params.items("items")
    if not item_params:
        raise missing_param("items")
    specs = []
    for entry in item_params:
        entry.reject_unknown({"price", "quantity", "metadata"})
        price_id = entry.string("price")
        if not price_id:
            raise missing_param(entry.name("price"))
        price = usable_price(ctx, price_id, entry.name("price"))
        specs.append(ItemSpec(price, item_quantity(entry, price), metadata_update({}, entry)))
    options = StartOptions(
        payment_behavior=payment_behavior or "allow_incomplete",
        trial_end=_trial_end(ctx, params, specs[0].price),
        default_payment_method=_default_payment_method(ctx, params, customer),
        metadata=metadata_update({}, params),
        description=params.string("description") or None,
        cancel_at=params.integer("cancel_at"),
        cancel_at_period_end=bool(params.boolean("cancel_at_period_end")),
    )
    trial_settings = trial_settings_param(params)
    if trial_settings is not None:
        options.trial_settings = trial_settings
    purchase = Purchase(
        customer=customer,
        subtotal=sum(price_amount(spec.price, spec.quantity or 0) for spec in specs),
        currency=specs[0].price["currency"],
    )
    options.discounts = discount_requests_parse(ctx, params, purchase) or []
    return ctx.present(subscription_start(ctx, customer, specs, options))


@route("GET", "/v1/subscriptions/{id}")
def subscription_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(ctx.require("subscription", ctx.arg("id")))


_UPDATE_PARAMS = {
    "items",
    "cancel_at_period_end",
    "cancel_at",
    "default_payment_method",
    "metadata",
    "proration_behavior",
    "proration_date",
    "payment_behavior",
    "billing_cycle_anchor",
    "trial_end",
    "description",
    "off_session",
    "cancellation_details",
    "trial_settings",
    "discounts",
}


@route("POST", "/v1/subscriptions/{id}")
def subscription_update(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_UPDATE_PARAMS)
    subscription = ctx.require("subscription", ctx.arg("id"))
    ctx = clock_context(ctx, subscription.get("test_clock"))
    customer = ctx.require("customer", subscription["customer"])
    before = copy.deepcopy(subscription)
    if subscription["status"] in ENDED_STATUSES:
        allowed = {"metadata", "cancellation_details", "expand"}
        if set(params.data) - allowed:
            raise invalid_request(
                "A canceled subscription can only update its cancellation_details and metadata."
            )
    proration = params.string("proration_behavior", choices=PRORATION_BEHAVIORS)
    payment_behavior = params.string(
        "payment_behavior", choices=PAYMENT_BEHAVIORS, default="allow_incomplete"
    )
    proration_date = proration_date_param(ctx, subscription)
    reset_anchor = params.string("billing_cycle_anchor", choices=("now", "unchanged")) == "now"
    item_params = params.items("items")
    pending = payment_behavior == "pending_if_incomplete"
    if pending:
        pending_update_check(ctx, PENDING_UPDATE_PARAMS, params)
        for entry in item_params:
            pending_update_check(ctx, PENDING_UPDATE_ITEM_PARAMS, entry)
        if params.has("trial_end"):
            raise invalid_request(
                "The local Stripe server does not emulate pending updates that end a trial.",
                param="trial_end",
            )
    if subscription["schedule"] and (params.has("cancel_at_period_end") or params.has("cancel_at")):
        raise invalid_request(
            "The subscription is managed by the subscription schedule "
            f"`{subscription['schedule']}`, and updating any cancelation behavior directly is "
            "not allowed. Please update the schedule instead."
        )
    subscription["metadata"] = metadata_update(subscription["metadata"], params)
    if params.has("description"):
        subscription["description"] = params.string("description") or None
    if params.has("cancel_at_period_end"):
        subscription["cancel_at_period_end"] = bool(params.boolean("cancel_at_period_end"))
        subscription["canceled_at"] = ctx.now() if subscription["cancel_at_period_end"] else None
    if params.has("cancel_at"):
        subscription["cancel_at"] = params.integer("cancel_at")
    details = params.nested("cancellation_details")
    if details is not None:
        details.reject_unknown({"comment", "feedback"})
        subscription["cancellation_details"] = {
            **subscription["cancellation_details"],
            "comment": details.string("comment") or None,
            "feedback": details.string("feedback") or None,
        }
    if params.has("default_payment_method"):
        subscription["default_payment_method"] = _default_payment_method(ctx, params, customer)
    trial_settings = trial_settings_param(params)
    if trial_settings is not None:
        subscription["trial_settings"] = trial_settings
    purchase = Purchase(
        customer=customer, subtotal=0, currency=subscription["currency"], is_update=True
    )
    discounts = discount_requests_parse(ctx, params, purchase, subscription=subscription)
    if discounts is not None:
        # Before the items change, so an invoice the change makes now is discounted too.
        subscription_discounts_set(ctx, subscription, discounts)
    if params.has("trial_end") and params.string("trial_end") != "now":
        raise invalid_request(
            "Only `trial_end=now` is emulated for existing subscriptions.", param="trial_end"
        )
    # Items change first, so ending a trial in the same request bills the new prices once.
    if item_params or reset_anchor:
        changes = [item_change_from_params(ctx, subscription, entry) for entry in item_params]
        declined = subscription_apply_item_changes(
            ctx,
            subscription,
            changes,
            proration_behavior=proration or "create_prorations",
            payment_behavior=payment_behavior or "allow_incomplete",
            proration_date=proration_date,
            reset_anchor=reset_anchor,
        )
        if declined and pending:
            # Stripe answers 200 with the subscription unchanged but for `pending_update`.
            pending_update_hold(ctx, subscription, before)
    if params.has("trial_end") and subscription["status"] == "trialing":
        subscription["trial_end"] = ctx.now()
        subscription["current_period_end"] = ctx.now()
        subscription_renew(ctx, subscription)
    subscription_save(ctx, subscription)
    if subscription != before:
        events.emit(
            ctx,
            "customer.subscription.updated",
            subscription,
            events.previous_attributes(before, subscription),
        )
    return ctx.present(subscription)


def proration_date_param(ctx: Context, subscription: dict[str, Any]) -> int | None:
    """The request's `proration_date`, refused (400) outside the subscription's period."""
    proration_date = ctx.params.integer("proration_date")
    if proration_date is not None:
        proration_date_check(subscription, proration_date, "proration_date")
    return proration_date


def item_change_from_params(
    ctx: Context, subscription: dict[str, Any], entry: Params
) -> dict[str, Any]:
    """One `items[n]` entry (or a subscription item request) as the change it asks for."""
    entry.reject_unknown({"id", "price", "quantity", "deleted", "metadata", "clear_usage"})
    change: dict[str, Any] = {"id": entry.string("id") or None}
    if change["id"] and not any(i["id"] == change["id"] for i in subscription["items"]["data"]):
        raise invalid_request(
            f"Subscription item {change['id']} does not belong to this subscription.",
            param=entry.name("id"),
        )
    if entry.string("price"):
        change["price"] = usable_price(ctx, entry.string("price") or "", entry.name("price"))
    elif change["id"] is None:
        raise missing_param(entry.name("price"))
    price = change.get("price") or next(
        i["price"] for i in subscription["items"]["data"] if i["id"] == change["id"]
    )
    if entry.has("quantity") or is_metered(price):
        change["quantity"] = item_quantity(entry, price)
    if entry.has("metadata"):
        change["metadata_params"] = entry
    change["deleted"] = bool(entry.boolean("deleted"))
    return change


@route("DELETE", "/v1/subscriptions/{id}")
def subscription_cancel(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown({"invoice_now", "prorate", "cancellation_details"})
    subscription = ctx.require("subscription", ctx.arg("id"))
    ctx = clock_context(ctx, subscription.get("test_clock"))
    if subscription["status"] in ENDED_STATUSES:
        raise invalid_request(
            f"This subscription has already been canceled: {subscription['id']}.",
            code="resource_missing",
        )
    details = ctx.params.nested("cancellation_details")
    if details is not None:
        details.reject_unknown({"comment", "feedback"})
        subscription["cancellation_details"]["comment"] = details.string("comment") or None
        subscription["cancellation_details"]["feedback"] = details.string("feedback") or None
    return ctx.present(subscription_cancel_now(ctx, subscription, reason="cancellation_requested"))


@route("POST", "/v1/subscriptions/{id}/resume")
def subscription_resume(ctx: Context) -> dict[str, Any]:
    """Resume a subscription paused at its trial's end (`lifecycle/resumptions.py`)."""
    params = ctx.params
    params.reject_unknown({"billing_cycle_anchor", "proration_behavior", "proration_date"})
    subscription = ctx.require("subscription", ctx.arg("id"))
    ctx = clock_context(ctx, subscription.get("test_clock"))
    anchor = params.string("billing_cycle_anchor", choices=("now", "unchanged"), default="now")
    proration = params.string(
        "proration_behavior", choices=PRORATION_BEHAVIORS, default="create_prorations"
    )
    proration_date = params.integer("proration_date")
    if subscription["status"] != "paused":
        raise invalid_request(
            f"The subscription {subscription['id']} cannot be resumed because it is not "
            f"paused (its status is `{subscription['status']}`). Only subscriptions with "
            "status `paused` can be resumed."
        )
    subscription_resume_attempt(
        ctx,
        subscription,
        billing_cycle_anchor=anchor or "now",
        proration_behavior=proration or "create_prorations",
        proration_date=proration_date,
    )
    return ctx.present(subscription)


@route("GET", "/v1/subscriptions")
def subscription_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"customer", "price", "status", "created", "limit", "starting_after", "ending_before"}
    )
    customer = params.string("customer")
    price = params.string("price")
    status = params.string(
        "status",
        choices=(
            "active",
            "all",
            "canceled",
            "ended",
            "incomplete",
            "incomplete_expired",
            "past_due",
            "paused",
            "trialing",
            "unpaid",
        ),
    )
    created = created_filter(params)

    def status_matches(subscription: dict[str, Any]) -> bool:
        if status is None:
            return subscription["status"] not in ENDED_STATUSES
        if status == "all":
            return True
        if status == "ended":
            return subscription["status"] in ENDED_STATUSES
        return subscription["status"] == status

    subscriptions = [
        subscription
        for subscription in ctx.db.all("subscription")
        if (customer is None or subscription["customer"] == customer)
        and (price is None or any(i["price"]["id"] == price for i in subscription["items"]["data"]))
        and status_matches(subscription)
        and created(subscription["created"])
    ]
    return ctx.page(subscriptions, "/v1/subscriptions", "subscription")
