"""Invoice previews: `POST /v1/invoices/create_preview`.

What it shows, as Stripe does:
- with `subscription` and `subscription_details` (items, `proration_behavior`,
  `proration_date`, `billing_cycle_anchor`, `cancel_at_period_end`, `trial_end`, `metadata`):
  the invoice the update would create now (`always_invoice`, a new billing interval,
  `billing_cycle_anchor=now`), else the subscription's next invoice after the update (pending
  prorations plus the next period, at the period's end);
- with `subscription` alone, or `customer` alone: that next invoice (for a customer, of the
  subscription that renews first);
- with `customer` and `subscription_details[items]`: the first invoice of a new subscription.

`discounts` (as the subscription takes them: coupons, promotion codes, its own discounts to
keep, or "" for none) replaces the subscription's discounts for the preview; without it, the
preview keeps the ones the subscription has. A preview made with new discounts names
discounts (`di_...`) that do not outlive it; `expand[]` reaches them all the same.

The update or creation runs through the API's own handler in a scratch copy of the store
(`lifecycle/previews.py`), so the preview bills exactly what the request will, and keeps
nothing. A preview cannot be retrieved, listed or paid: its id is not stored.
"""

from __future__ import annotations

from typing import Any

from stripe_server.calls import call_handler
from stripe_server.context import Context
from stripe_server.frozen_time import clock_context
from stripe_server.lifecycle.previews import (
    invoice_as_preview,
    next_invoice,
    no_upcoming_invoice,
    scratch_context,
)
from stripe_server.lifecycle.subscriptions import LIVE_STATUSES
from stripe_server.resources.subscriptions import (
    PRORATION_BEHAVIORS,
    subscription_create,
    subscription_update,
)
from stripe_server.routing import Handler, route
from stripe_server.wire import Params, StripeError, invalid_request

# `subscription_details[...]` and the subscription request parameter each one becomes.
_DETAILS = (
    "items",
    "proration_behavior",
    "proration_date",
    "billing_cycle_anchor",
    "cancel_at_period_end",
    "trial_end",
    "metadata",
)


@route("POST", "/v1/invoices/create_preview")
def invoice_create_preview(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"customer", "subscription", "subscription_details", "preview_mode", "discounts"}
    )
    params.string("preview_mode", choices=("next",))
    details = params.nested("subscription_details") or Params({}, "subscription_details")
    details.reject_unknown(_DETAILS)
    details.string("proration_behavior", choices=PRORATION_BEHAVIORS)
    customer_id = params.string("customer") or None
    subscription_id = params.string("subscription") or None
    if subscription_id is not None:
        subscription = ctx.require(
            "subscription", subscription_id, param="subscription", status=400
        )
        if customer_id is not None and customer_id != subscription["customer"]:
            raise invalid_request(
                f"The subscription {subscription_id} does not belong to the customer "
                f"{customer_id}.",
                param="subscription",
            )
        return _preview_update(ctx, subscription, details)
    if customer_id is None:
        raise invalid_request(
            "You must pass `customer`, `subscription`, or `schedule` to preview an invoice.",
            param="customer",
        )
    customer = ctx.require("customer", customer_id, param="customer", status=400)
    if details.has("items"):
        return _preview_new_subscription(ctx, customer, details)
    if details.data:
        raise invalid_request(
            "`subscription_details` needs `subscription` or `subscription_details[items]`.",
            param="subscription_details",
        )
    return _preview_customer(ctx, customer)


def _preview_update(ctx: Context, subscription: dict[str, Any], details: Params) -> dict:
    ctx = clock_context(ctx, subscription.get("test_clock"))
    proration_date = details.integer("proration_date")
    if proration_date is not None and details.string("proration_behavior") == "none":
        raise invalid_request(
            "`subscription_details[proration_date]` cannot be used with "
            "`subscription_details[proration_behavior]=none`.",
            param="subscription_details[proration_date]",
        )
    if proration_date is not None and not (details.has("items") or details.has("trial_end")):
        raise invalid_request(
            "`subscription_details[proration_date]` needs `subscription_details[items]` or "
            "`subscription_details[trial_end]`: there is nothing to prorate.",
            param="subscription_details[proration_date]",
        )
    update = {key: details.raw(key) for key in _DETAILS if details.has(key)}
    if ctx.params.has("discounts"):
        update["discounts"] = ctx.params.raw("discounts")
    with scratch_context(ctx) as scratch:
        known = subscription["latest_invoice"]
        if update:
            # Charging is the update's business, not the preview's: nothing is attempted.
            update["payment_behavior"] = "default_incomplete"
            _run(scratch, subscription_update, update, {"id": subscription["id"]})
        changed = scratch.require("subscription", subscription["id"])
        if changed["latest_invoice"] != known:
            invoice = scratch.require("invoice", changed["latest_invoice"])
        else:
            invoice = next_invoice(scratch, changed)
        if invoice is None:
            raise no_upcoming_invoice(subscription["customer"])
        # Presented before the scratch store is rolled back, so its discounts expand.
        return scratch.present(
            invoice_as_preview(
                invoice,
                proration_date=proration_date if proration_date is not None else ctx.now(),
                subscription_exists=True,
            )
        )


def _preview_new_subscription(
    ctx: Context, customer: dict[str, Any], details: Params
) -> dict[str, Any]:
    for only_updates in ("proration_date", "proration_behavior"):
        if details.has(only_updates):
            raise invalid_request(
                f"`subscription_details[{only_updates}]` needs `subscription`: only an "
                "update of an existing subscription prorates.",
                param=details.name(only_updates),
            )
    create = {key: details.raw(key) for key in _DETAILS if details.has(key)}
    create.update({"customer": customer["id"], "payment_behavior": "default_incomplete"})
    if ctx.params.has("discounts"):
        create["discounts"] = ctx.params.raw("discounts")
    with scratch_context(ctx) as scratch:
        created = _run(scratch, subscription_create, create, {})
        invoice = scratch.require("invoice", created["latest_invoice"])
        return scratch.present(
            invoice_as_preview(invoice, proration_date=ctx.now(), subscription_exists=False)
        )


def _preview_customer(ctx: Context, customer: dict[str, Any]) -> dict[str, Any]:
    """The next invoice among the customer's subscriptions: the one whose period ends first."""
    live = [
        subscription
        for subscription in ctx.db.all("subscription")
        if subscription["customer"] == customer["id"] and subscription["status"] in LIVE_STATUSES
    ]
    for subscription in sorted(live, key=lambda candidate: candidate["current_period_end"]):
        with scratch_context(clock_context(ctx, subscription.get("test_clock"))) as scratch:
            if ctx.params.has("discounts"):
                update = {"discounts": ctx.params.raw("discounts")}
                _run(scratch, subscription_update, update, {"id": subscription["id"]})
                subscription = scratch.require("subscription", subscription["id"])
            invoice = next_invoice(scratch, subscription)
            if invoice is not None:
                return scratch.present(
                    invoice_as_preview(
                        invoice, proration_date=scratch.now(), subscription_exists=True
                    )
                )
    raise no_upcoming_invoice(customer["id"])


def _run(
    scratch: Context, handler: Handler, params: dict[str, Any], path_args: dict[str, str]
) -> dict[str, Any]:
    """Run a subscription handler as the preview's request; its errors name the preview's
    parameters (`subscription_details[items][0][price]`, not `items[0][price]`)."""
    try:
        return call_handler(scratch, handler, params, path_args=path_args)
    except StripeError as error:
        head, bracket, rest = (error.param or "").partition("[")
        if head in _DETAILS:
            renamed = f"subscription_details[{head}]{bracket}{rest}"
            error.message = error.message.replace(str(error.param), renamed)
            error.param = renamed
        raise
