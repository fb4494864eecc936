"""Changing a subscription's items: adding, changing and removing them, with prorations, or a
new period invoiced at once when the billing interval changes.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_server.amounts import is_metered
from stripe_server.context import Context
from stripe_server.expand import strip_includables
from stripe_server.ids import new_id
from stripe_server.lifecycle.invoices import invoice_for_new_cycle, invoice_for_period
from stripe_server.lifecycle.payments import (
    invoice_attempt_payment,
    payment_error,
    payment_method_for,
)
from stripe_server.lifecycle.prorations import pending_items_exist, proration_items
from stripe_server.lifecycle.subscriptions import customer_set_delinquent
from stripe_server.plans import plan_from_price
from stripe_server.wire import invalid_request, metadata_update


def item_new(
    ctx: Context,
    subscription_id: str,
    price: dict[str, Any],
    quantity: int | None,
    metadata: dict,
) -> dict[str, Any]:
    """A new item of `quantity` x `price` on the subscription (not yet stored); an item of a
    metered price has no quantity (Stripe leaves the key out)."""
    item = {
        "created": ctx.now(),
        "discounts": [],
        "id": new_id("si", 14),
        "metadata": metadata,
        "object": "subscription_item",
        "price": strip_includables(price),
        "quantity": quantity,
        "subscription": subscription_id,
        "tax_rates": [],
        "plan": plan_from_price(price),
        "current_period_end": 0,
        "current_period_start": 0,
        "billing_thresholds": None,
    }
    if is_metered(price):
        del item["quantity"]
    return item


def items_check_compatible(items: list[dict[str, Any]]) -> None:
    """Refuse (400) items that cannot share a subscription: none, a price twice, mixed
    currencies or billing intervals."""
    if not items:
        raise invalid_request("A subscription needs at least one item.", param="items")
    first = items[0]["price"]
    prices = [item["price"]["id"] for item in items]
    if len(set(prices)) != len(prices):
        raise invalid_request(
            "Cannot add multiple subscription items with the same price.", param="items"
        )
    for item in items[1:]:
        price = item["price"]
        if price["currency"] != first["currency"]:
            raise invalid_request("All prices on a subscription must share a currency.")
        if (price["recurring"]["interval"], price["recurring"]["interval_count"]) != (
            first["recurring"]["interval"],
            first["recurring"]["interval_count"],
        ):
            raise invalid_request(
                "All prices on a subscription must have the same `recurring.interval` and "
                "`recurring.interval_count`.",
                param="items",
            )


def subscription_apply_item_changes(
    ctx: Context,
    subscription: dict[str, Any],
    changes: list[dict[str, Any]],
    *,
    proration_behavior: str,
    payment_behavior: str,
    proration_date: int | None = None,
    reset_anchor: bool = False,
) -> str | None:
    """Add, change or remove items; prorate per `proration_behavior` (Stripe's three modes) as
    of `proration_date` (default: now).

    A change of billing interval (`month` to `year`, or another `interval_count`) on an active
    or past-due subscription, or `reset_anchor` (`billing_cycle_anchor=now`), restarts the
    period now and invoices it at once, as Stripe does; other changes keep the period and bill
    through pending prorations (invoiced now with `always_invoice`).

    Returns the decline code when an invoice this change created could not be charged, so that
    `pending_if_incomplete` can hold the change back (`pending_updates.py`); None otherwise.
    """
    old_items = copy.deepcopy(subscription["items"]["data"])
    items = {item["id"]: item for item in subscription["items"]["data"]}
    order = [item["id"] for item in subscription["items"]["data"]]
    prorations: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    for change in changes:
        old = items.get(change["id"]) if change["id"] else None
        if change["deleted"]:
            if old is None:
                raise invalid_request("`deleted` needs the `id` of an item.", param="items")
            del items[old["id"]]
            order.remove(old["id"])
            prorations.append((old, None))
            continue
        if old is None:
            new = item_new(
                ctx,
                subscription["id"],
                change["price"],
                change.get("quantity") if change.get("quantity") is not None else 1,
                metadata_update({}, change["metadata_params"])
                if "metadata_params" in change
                else {},
            )
            items[new["id"]] = new
            order.append(new["id"])
            prorations.append((None, new))
            continue
        new = copy.deepcopy(old)
        if "price" in change:
            new["price"] = strip_includables(change["price"])
            new["plan"] = plan_from_price(change["price"])
        if is_metered(new["price"]):
            new.pop("quantity", None)
        elif change.get("quantity") is not None:
            new["quantity"] = change["quantity"]
        else:
            # A metered item switched to a licensed price starts at one.
            new.setdefault("quantity", 1)
        if "metadata_params" in change:
            new["metadata"] = metadata_update(new["metadata"], change["metadata_params"])
        items[old["id"]] = new
        if (new["price"]["id"], new.get("quantity")) != (old["price"]["id"], old.get("quantity")):
            prorations.append((old, new))
    new_items = [items[item_id] for item_id in order]
    items_check_compatible(new_items)
    subscription["items"]["data"] = new_items
    if subscription["status"] not in ("active", "past_due"):
        return None
    customer = ctx.require("customer", subscription["customer"])
    if reset_anchor or _billing_interval(old_items) != _billing_interval(new_items):
        invoice = _restart_period(
            ctx,
            subscription,
            customer,
            old_items,
            proration_behavior=proration_behavior,
            proration_date=proration_date,
        )
        return _charge_update_invoice(ctx, subscription, customer, invoice, payment_behavior)
    if proration_behavior == "none":
        return None
    for old, new in prorations:
        proration_items(ctx, subscription, old, new, proration_date=proration_date)
    if proration_behavior != "always_invoice" or not pending_items_exist(ctx, subscription):
        # Nothing to invoice (an unchanged price, or a change at the very end of the period).
        return None
    invoice = invoice_for_period(
        ctx,
        subscription,
        customer,
        billing_reason="subscription_update",
        start=ctx.now(),
        end=subscription["current_period_end"],
        bill_items=False,
    )
    return _charge_update_invoice(ctx, subscription, customer, invoice, payment_behavior)


def _billing_interval(items: list[dict[str, Any]]) -> tuple[str, int]:
    recurring = items[0]["price"]["recurring"]
    return recurring["interval"], recurring["interval_count"]


def _restart_period(
    ctx: Context,
    subscription: dict[str, Any],
    customer: dict[str, Any],
    old_items: list[dict[str, Any]],
    *,
    proration_behavior: str,
    proration_date: int | None,
) -> dict[str, Any]:
    """A new billing cycle: it re-anchors now and the new period is invoiced now.

    Unless `proration_behavior` is `none`, the invoice credits the unused time left on every
    old item as of `proration_date` (new prices are billed in full for the new period, so
    nothing is charged pro rata).
    """
    if proration_behavior != "none":
        for old in old_items:
            proration_items(ctx, subscription, old, None, proration_date=proration_date)
    return invoice_for_new_cycle(ctx, subscription, customer)


def _charge_update_invoice(
    ctx: Context,
    subscription: dict[str, Any],
    customer: dict[str, Any],
    invoice: dict[str, Any],
    payment_behavior: str,
) -> str | None:
    """Charge an invoice an update created; a failed charge leaves it open and `past_due`.

    `error_if_incomplete` refuses the whole update instead (402, nothing changed),
    `default_incomplete` leaves a non-zero invoice open for the client to pay, and
    `pending_if_incomplete` leaves the status alone: the caller holds the change back.
    Returns the decline code of a failed charge.
    """
    if payment_behavior == "default_incomplete" and invoice["amount_due"] > 0:
        subscription["status"] = "past_due"
        return None
    payment_method_id = payment_method_for(ctx, subscription, customer)
    decline = invoice_attempt_payment(ctx, invoice, payment_method_id)
    if decline is None:
        return None
    if payment_behavior == "error_if_incomplete":
        raise payment_error(decline)
    if payment_behavior != "pending_if_incomplete":
        subscription["status"] = "past_due"
        customer_set_delinquent(ctx, customer, True)
    return decline
