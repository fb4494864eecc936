"""Starting a subscription: its items, its first period and first invoice, paid or left open
as the payment behaviour says.

The API's create (`resources/subscriptions.py`) and a subscription schedule that starts
(`schedules.py`) both start subscriptions here, so they bill and announce them alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.lifecycle.discounts import DiscountRequest, subscription_discounts_set
from stripe_server.lifecycle.invoices import invoice_for_period
from stripe_server.lifecycle.item_changes import item_new, items_check_compatible
from stripe_server.lifecycle.payments import (
    invoice_attempt_payment,
    payment_error,
    payment_method_for,
)
from stripe_server.lifecycle.periods import next_period_end
from stripe_server.lifecycle.subscriptions import subscription_save
from stripe_server.wire import list_object


@dataclass
class ItemSpec:
    """One item a subscription starts with: a usable recurring price, its quantity (None for a
    metered price), metadata."""

    price: dict[str, Any]
    quantity: int | None = 1
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class StartOptions:
    """What a new subscription is asked to be, besides its customer and items."""

    payment_behavior: str = "allow_incomplete"
    trial_end: int | None = None
    default_payment_method: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    cancel_at: int | None = None
    cancel_at_period_end: bool = False
    schedule: str | None = None
    # What the trial's end does without a payment method (Stripe's default: invoice anyway).
    trial_settings: dict[str, Any] = field(
        default_factory=lambda: {"end_behavior": {"missing_payment_method": "create_invoice"}}
    )
    # Coupons and promotion codes to redeem for it, in order (already checked).
    discounts: list[DiscountRequest] = field(default_factory=list)


def subscription_start(
    ctx: Context, customer: dict[str, Any], specs: list[ItemSpec], options: StartOptions
) -> dict[str, Any]:
    """Create the subscription now (`ctx`'s time) with its discounts, invoice its first period
    (or its free trial) and charge it: `active` (or `trialing`) once paid, `incomplete`
    otherwise.

    `error_if_incomplete` refuses a declined first charge (402); the caller's transaction then
    keeps nothing. `default_incomplete` leaves a non-zero first invoice open.
    """
    subscription_id = new_id("sub")
    items = [
        item_new(ctx, subscription_id, spec.price, spec.quantity, spec.metadata) for spec in specs
    ]
    items_check_compatible(items)
    now = ctx.now()
    trial_end = options.trial_end
    subscription = _subscription_new(ctx, customer, subscription_id, items, options)
    subscription["current_period_end"] = trial_end or next_period_end(subscription, now)
    if options.discounts:
        subscription_discounts_set(ctx, subscription, options.discounts)
    if customer["currency"] is None:
        customer["currency"] = subscription["currency"]
        ctx.db.save("customer", customer)
    subscription_save(ctx, subscription)
    events.emit(ctx, "customer.subscription.created", subscription)
    invoice = invoice_for_period(
        ctx,
        subscription,
        customer,
        billing_reason="subscription_create",
        start=now,
        end=subscription["current_period_end"],
        trial=trial_end is not None,
    )
    before = copy.deepcopy(subscription)
    if invoice["amount_due"] == 0:
        invoice_attempt_payment(ctx, invoice, None)
        subscription["status"] = "trialing" if trial_end else "active"
    elif options.payment_behavior == "default_incomplete":
        subscription["status"] = "incomplete"
    else:
        payment_method_id = payment_method_for(ctx, subscription, customer)
        decline = invoice_attempt_payment(ctx, invoice, payment_method_id)
        if decline is None:
            subscription["status"] = "active"
        elif options.payment_behavior == "error_if_incomplete":
            # Raising rolls the whole request back: no subscription, no invoice, no events.
            raise payment_error(decline)
    subscription_save(ctx, subscription)
    if subscription["status"] != "incomplete":
        events.emit(
            ctx,
            "customer.subscription.updated",
            subscription,
            events.previous_attributes(before, subscription),
        )
    return subscription


def _subscription_new(
    ctx: Context,
    customer: dict[str, Any],
    subscription_id: str,
    items: list[dict[str, Any]],
    options: StartOptions,
) -> dict[str, Any]:
    now = ctx.now()
    trial_end = options.trial_end
    return {
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": trial_end or now,
        "billing_cycle_anchor_config": None,
        "cancel_at": options.cancel_at,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": items[0]["price"]["currency"],
        "customer": customer["id"],
        "days_until_due": None,
        "default_payment_method": options.default_payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": options.description,
        "discounts": [],
        "ended_at": None,
        "id": subscription_id,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object(f"/v1/subscription_items?subscription={subscription_id}", items),
        "latest_invoice": None,
        "livemode": False,
        "metadata": options.metadata,
        "next_pending_invoice_item_invoice": None,
        "object": "subscription",
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": options.schedule,
        "start_date": now,
        "status": "incomplete",
        "test_clock": customer.get("test_clock"),
        "transfer_data": None,
        "trial_end": trial_end,
        "trial_settings": copy.deepcopy(options.trial_settings),
        "trial_start": now if trial_end else None,
        "cancel_at_period_end": options.cancel_at_period_end,
        "billing_thresholds": None,
        "billing_mode": {"type": "classic", "flexible": None},
        "customer_account": None,
        "managed_payments": None,
        "billing_schedules": [],
        # Removed from subscriptions in API 2025-03-31 but read by dj-stripe 2.11
        # (`Subscription.current_period_end`, `Customer.active_subscriptions`).
        "current_period_start": now,
        "current_period_end": 0,
    }
