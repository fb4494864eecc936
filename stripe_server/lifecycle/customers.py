"""Removing a customer: what deleting one (or its test clock) does to its subscriptions and
cards.
"""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.lifecycle.subscriptions import ENDED_STATUSES, subscription_cancel_now

# Where a deleted customer's stub is kept: retrieving it answers the stub, as Stripe does,
# while everything else that looks a customer up finds none.
DELETED_KIND = "customer:deleted"


def customer_remove(ctx: Context, customer: dict[str, Any]) -> dict[str, Any]:
    """Delete the customer as Stripe does: cancel its subscriptions, detach its cards, keep a
    deleted stub; returns the stub."""
    for subscription in ctx.db.all("subscription"):
        if (
            subscription["customer"] == customer["id"]
            and subscription["status"] not in ENDED_STATUSES
        ):
            subscription_cancel_now(ctx, subscription, reason="cancellation_requested")
    for payment_method in ctx.db.all("payment_method"):
        if payment_method["customer"] == customer["id"]:
            payment_method["customer"] = None
            ctx.db.save("payment_method", payment_method)
    ctx.db.delete(customer["id"])
    stub = {"deleted": True, "id": customer["id"], "object": "customer"}
    ctx.db.save(DELETED_KIND, stub)
    events.emit(ctx, "customer.deleted", customer)
    return stub
