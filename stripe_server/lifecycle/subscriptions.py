"""A subscription's lifecycle: saving it with its items, renewing, retrying failed payments,
becoming active once paid, canceling and expiring.

Each step changes the stored subscription and announces it as an event; the API's handlers
(`resources/subscriptions.py`) and the periodic pass (`billing_pass.py`) call these.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.lifecycle.invoices import invoice_for_period, invoice_void_open
from stripe_server.lifecycle.payments import (
    MAX_PAYMENT_ATTEMPTS,
    invoice_attempt_payment,
    payment_method_for,
)
from stripe_server.lifecycle.periods import next_period_end
from stripe_server.lifecycle.schedule_endings import schedule_cancel_with_subscription

# The statuses of a subscription that has not ended (the portal lists these).
LIVE_STATUSES = ("active", "trialing", "past_due", "incomplete", "unpaid", "paused")
# A subscription in one of these has ended for good: only its metadata can change.
ENDED_STATUSES = ("canceled", "incomplete_expired")


def subscription_save(ctx: Context, subscription: dict[str, Any]) -> None:
    """Store the subscription and its items (items are also retrievable on their own)."""
    stored_items = {
        item["id"] for item in ctx.db.all("subscription_item")
        if item["subscription"] == subscription["id"]
    }  # fmt: skip
    current = set()
    for item in subscription["items"]["data"]:
        item["current_period_start"] = subscription["current_period_start"]
        item["current_period_end"] = subscription["current_period_end"]
        ctx.db.save("subscription_item", item)
        current.add(item["id"])
    for removed in stored_items - current:
        ctx.db.delete(removed)
    ctx.db.save("subscription", subscription)


def subscription_save_updated(
    ctx: Context, subscription: dict[str, Any], before: dict[str, Any]
) -> None:
    """Store the subscription and announce `customer.subscription.updated` with what changed
    since `before`."""
    subscription_save(ctx, subscription)
    events.emit(
        ctx,
        "customer.subscription.updated",
        subscription,
        events.previous_attributes(before, subscription),
    )


def customer_set_delinquent(ctx: Context, customer: dict[str, Any], delinquent: bool) -> None:
    """Mark the customer delinquent (a renewal failed) or not, announcing a change."""
    if customer["delinquent"] == delinquent:
        return
    before = dict(customer)
    customer["delinquent"] = delinquent
    ctx.db.save("customer", customer)
    events.emit(ctx, "customer.updated", customer, events.previous_attributes(before, customer))


def subscription_renew(ctx: Context, subscription: dict[str, Any]) -> None:
    """Start the next period: invoice it (and the metered usage of the one that ended), charge
    it, and become active or past_due."""
    customer = ctx.require("customer", subscription["customer"])
    before = copy.deepcopy(subscription)
    start = subscription["current_period_end"]
    # Metered items bill the usage of the period that ended, unless it was a free trial.
    ended = (subscription["current_period_start"], start)
    if subscription["status"] == "trialing":
        # The first paid period starts when the trial ends, anchoring the cycle there.
        subscription["billing_cycle_anchor"] = start
        ended = None
    end = next_period_end(subscription, start)
    subscription["current_period_start"] = start
    subscription["current_period_end"] = end
    invoice = invoice_for_period(
        ctx,
        subscription,
        customer,
        billing_reason="subscription_cycle",
        start=start,
        end=end,
        usage_period=ended,
    )
    decline = invoice_attempt_payment(ctx, invoice, payment_method_for(ctx, subscription, customer))
    subscription["status"] = "active" if decline is None else "past_due"
    customer_set_delinquent(ctx, customer, decline is not None)
    subscription_save_updated(ctx, subscription, before)


def subscription_retry_payment(ctx: Context, subscription: dict[str, Any], now: int) -> None:
    """Retry open invoices on schedule; cancel after Stripe's default number of attempts."""
    customer = ctx.require("customer", subscription["customer"])
    open_invoices = [
        invoice
        for invoice in ctx.db.all("invoice")
        if invoice["subscription"] == subscription["id"] and invoice["status"] == "open"
    ]
    for invoice in open_invoices:
        due = invoice["next_payment_attempt"]
        if due is None:
            if invoice["attempt_count"] >= MAX_PAYMENT_ATTEMPTS:
                subscription_cancel_now(ctx, subscription, reason="payment_failed")
                return
            continue
        if due > now:
            continue
        invoice_attempt_payment(ctx, invoice, payment_method_for(ctx, subscription, customer))
    subscription_mark_paid(ctx, subscription)


def subscription_mark_paid(ctx: Context, subscription: dict[str, Any]) -> None:
    """After a payment: a past_due/incomplete subscription with nothing open becomes active."""
    if subscription["status"] not in ("past_due", "incomplete"):
        return
    still_open = any(
        invoice["subscription"] == subscription["id"] and invoice["status"] == "open"
        for invoice in ctx.db.all("invoice")
    )
    if still_open:
        return
    before = copy.deepcopy(subscription)
    subscription["status"] = "active"
    customer = ctx.require("customer", subscription["customer"])
    customer_set_delinquent(ctx, customer, False)
    subscription_save_updated(ctx, subscription, before)


def subscription_cancel_now(
    ctx: Context, subscription: dict[str, Any], *, reason: str, at: int | None = None
) -> dict[str, Any]:
    """End the subscription now (or at `at`), giving `reason`; a schedule driving it is
    canceled with it."""
    when = at if at is not None else ctx.now()
    subscription["status"] = "canceled"
    subscription["canceled_at"] = subscription["canceled_at"] or when
    subscription["ended_at"] = when
    subscription["cancellation_details"] = {
        **subscription["cancellation_details"],
        "reason": reason,
    }
    subscription_save(ctx, subscription)
    events.emit(ctx, "customer.subscription.deleted", subscription)
    schedule_cancel_with_subscription(ctx, subscription, when)
    return subscription


def subscription_expire_incomplete(ctx: Context, subscription: dict[str, Any]) -> None:
    """An `incomplete` subscription whose first invoice went unpaid: void it and end."""
    before = dict(subscription)
    subscription["status"] = "incomplete_expired"
    subscription["ended_at"] = ctx.now()
    invoice = ctx.db.get(subscription["latest_invoice"] or "", "invoice")
    if invoice and invoice["status"] == "open":
        invoice_void_open(ctx, invoice)
    subscription_save_updated(ctx, subscription, before)
