"""Pending updates (`payment_behavior=pending_if_incomplete`): a change whose invoice could not
be paid is held back instead of applied.

The subscription keeps its items, prices, quantities, period and metadata; `pending_update`
shows what waits (`subscription_items`, `billing_cycle_anchor`, `expires_at`, and since
2026-05-27.dahlia `metadata`) and `latest_invoice` is the change's open invoice. Paying that
invoice applies the change (`customer.subscription.pending_update_applied`). At `expires_at`
(the end of the current period or trial, but at most 23 hours after the update) the invoice is
voided and the change discarded (`customer.subscription.pending_update_expired`); voiding the
invoice discards it too. Each of these is also a `customer.subscription.updated`.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.lifecycle.invoices import invoice_void_open
from stripe_server.lifecycle.subscriptions import subscription_save_updated

# The held change, kept apart from the subscription (which the API shows as is).
KIND = "subscription_pending_update"
EXPIRY_SECONDS = 23 * 3600
# What a held change alters on the subscription once applied; the rest (`latest_invoice`,
# `pending_update`) is the subscription's own from the start.
HELD = (
    "items",
    "billing_cycle_anchor",
    "current_period_start",
    "current_period_end",
    "metadata",
)


def _held_id(subscription: dict[str, Any]) -> str:
    return f"{subscription['id']}:pending_update"


def pending_update_hold(ctx: Context, subscription: dict[str, Any], before: dict[str, Any]) -> None:
    """Put `subscription` (just changed; the change's invoice declined) back as it was
    `before`, and keep the change pending on its open invoice."""
    changed = {key: copy.deepcopy(subscription[key]) for key in HELD}
    for item in changed["items"]["data"]:
        item["current_period_start"] = changed["current_period_start"]
        item["current_period_end"] = changed["current_period_end"]
    ctx.db.save(
        KIND,
        {
            "id": _held_id(subscription),
            "created": ctx.now(),
            "invoice": subscription["latest_invoice"],
            "changed": changed,
        },
    )
    for key in HELD:
        subscription[key] = copy.deepcopy(before[key])
    subscription["pending_update"] = {
        "billing_cycle_anchor": changed["billing_cycle_anchor"]
        if changed["billing_cycle_anchor"] != before["billing_cycle_anchor"]
        else None,
        "expires_at": min(before["current_period_end"], ctx.now() + EXPIRY_SECONDS),
        "metadata": _metadata_change(before["metadata"], changed["metadata"]),
        "subscription_items": changed["items"]["data"],
        "trial_end": None,
        "trial_from_plan": None,
    }


def _metadata_change(old: dict[str, str], new: dict[str, str]) -> dict[str, str] | None:
    """The keys to merge into `old` to make `new` (`""` unsets one), None if none."""
    change = {key: value for key, value in new.items() if old.get(key) != value}
    change.update({key: "" for key in old.keys() - new.keys()})
    return change or None


def pending_update_apply(
    ctx: Context, subscription: dict[str, Any], invoice: dict[str, Any]
) -> None:
    """`invoice` was paid: if it is the one a pending update waits for, apply the update."""
    held = ctx.db.get(_held_id(subscription), KIND)
    if held is None or held["invoice"] != invoice["id"]:
        return
    before = copy.deepcopy(subscription)
    for key in HELD:
        subscription[key] = held["changed"][key]
    subscription["pending_update"] = None
    ctx.db.delete(held["id"])
    subscription_save_updated(ctx, subscription, before)
    events.emit(ctx, "customer.subscription.pending_update_applied", subscription)


def pending_update_discard(
    ctx: Context, subscription: dict[str, Any], invoice: dict[str, Any]
) -> None:
    """`invoice` was voided: if a pending update waits for it, the update is dropped."""
    held = ctx.db.get(_held_id(subscription), KIND)
    if held is not None and held["invoice"] == invoice["id"]:
        _drop(ctx, subscription, held)


def pending_update_expire_due(ctx: Context, subscription: dict[str, Any]) -> None:
    """At `expires_at`, an unpaid pending update's invoice is voided and the update dropped."""
    pending = subscription.get("pending_update")
    if not pending or pending["expires_at"] > ctx.now():
        return
    held = ctx.db.get(_held_id(subscription), KIND)
    if held is None:
        return
    invoice = ctx.db.get(held["invoice"] or "", "invoice")
    if invoice is not None and invoice["status"] == "open":
        invoice_void_open(ctx, invoice)
    _drop(ctx, subscription, held)
    events.emit(ctx, "customer.subscription.pending_update_expired", subscription)


def _drop(ctx: Context, subscription: dict[str, Any], held: dict[str, Any]) -> None:
    before = copy.deepcopy(subscription)
    subscription["pending_update"] = None
    ctx.db.delete(held["id"])
    subscription_save_updated(ctx, subscription, before)
