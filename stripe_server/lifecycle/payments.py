"""Charging invoices: which card pays, whether it is declined, and Stripe's retry schedule."""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.cards import CARDS_BY_FINGERPRINT, decline_error, decline_message
from stripe_server.context import Context
from stripe_server.wire import StripeError, invalid_request

# Stripe's defaults for failed renewal payments ("Smart Retries" off): retry every 3 days,
# 4 attempts in all, then cancel the subscription.
RETRY_INTERVAL_SECONDS = 3 * 24 * 3600
MAX_PAYMENT_ATTEMPTS = 4


def payment_method_for(
    ctx: Context, subscription: dict[str, Any], customer: dict[str, Any]
) -> str | None:
    """The payment method a subscription's invoices are charged to (its own, else the
    customer's default)."""
    return (
        subscription.get("default_payment_method")
        or customer["invoice_settings"]["default_payment_method"]
    )


def charge_decline(ctx: Context, payment_method_id: str | None) -> str | None:
    """None if charging this payment method succeeds, else Stripe's decline code."""
    if payment_method_id is None:
        return "no_payment_method"
    payment_method = ctx.db.get(payment_method_id, "payment_method")
    if payment_method is None:
        return "no_payment_method"
    card = CARDS_BY_FINGERPRINT.get(payment_method["card"]["fingerprint"])
    return card.charge_decline if card else None


def invoice_attempt_payment(
    ctx: Context, invoice: dict[str, Any], payment_method_id: str | None
) -> str | None:
    """Try to pay an open invoice; returns None when paid, else the decline code."""
    now = ctx.now()
    decline = None if invoice["amount_remaining"] == 0 else charge_decline(ctx, payment_method_id)
    if invoice["amount_remaining"] > 0:
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
    if decline is None:
        invoice["amount_paid"] = invoice["amount_due"]
        invoice["amount_remaining"] = 0
        invoice["status"] = "paid"
        invoice["paid"] = True
        invoice["attempted"] = True
        invoice["next_payment_attempt"] = None
        invoice["status_transitions"]["paid_at"] = now
        invoice["default_payment_method"] = None
        ctx.db.save("invoice", invoice)
        events.emit(ctx, "invoice.paid", invoice)
        events.emit(ctx, "invoice.payment_succeeded", invoice)
        return None
    invoice["next_payment_attempt"] = (
        now + RETRY_INTERVAL_SECONDS if invoice["attempt_count"] < MAX_PAYMENT_ATTEMPTS else None
    )
    ctx.db.save("invoice", invoice)
    events.emit(ctx, "invoice.payment_failed", invoice)
    return decline


def decline_text(decline: str) -> str:
    """What Stripe says about a failed charge with this decline code."""
    if decline == "no_payment_method":
        return "This customer has no attached payment source or default payment method."
    return decline_message(decline)


def payment_error(decline: str) -> StripeError:
    """The API error for a failed charge: 402 for a decline, 400 with no payment method."""
    if decline == "no_payment_method":
        return invalid_request(decline_text(decline), code="resource_missing")
    return decline_error(decline)
