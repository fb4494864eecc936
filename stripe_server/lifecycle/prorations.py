"""Prorations: pending invoice items for the unused and remaining time of a changed item,
billed on the subscription's next invoice.

Stripe prorates by the second: an item's credit or charge is its total for the period at its
quantity (tiers and packages included) times the share of the period left after the proration
date, `(period_end - proration_date) / (period_end - period_start)`, rounded to the minor unit
line by line. The proration date is now, or the `proration_date` a request names (so an update
can bill exactly what a preview showed). The total is after the subscription's percent-off
discounts on the item's product (`discounts.proration_discounted_amount`), which the proration
names in its `discounts`. Metered items are never prorated: their usage is billed as measured,
at the period's end.
"""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.amounts import is_metered
from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.lifecycle.discounts import proration_discounted_amount
from stripe_server.lifecycle.invoice_lines import invoice_line, item_amount
from stripe_server.wire import invalid_request


def proration_date_check(subscription: dict[str, Any], proration_date: int, param: str) -> None:
    """Refuse (400) a proration date outside the subscription's current period."""
    start, end = subscription["current_period_start"], subscription["current_period_end"]
    if not start <= proration_date <= end:
        raise invalid_request(
            f"The `{param}` ({proration_date}) must be within the subscription's current "
            f"period ({start} to {end}).",
            param=param,
        )


def proration_items(
    ctx: Context,
    subscription: dict[str, Any],
    old_item: dict[str, Any] | None,
    new_item: dict[str, Any] | None,
    *,
    proration_date: int | None = None,
) -> list[dict[str, Any]]:
    """Pending invoice items crediting unused time on the old item and charging the new, as of
    `proration_date` (default: now); none for a metered one."""
    now = ctx.now()
    start, end = subscription["current_period_start"], subscription["current_period_end"]
    at = max(now if proration_date is None else proration_date, start)
    if end <= start or at >= end:
        return []
    created = []
    for item, sign, label in ((old_item, -1, "Unused time on"), (new_item, 1, "Remaining time on")):
        if item is None or is_metered(item["price"]):
            continue
        period_amount, discount_ids = proration_discounted_amount(
            ctx, subscription, item["price"]["product"], item_amount(ctx, item)
        )
        amount = sign * round(period_amount * (end - at) / (end - start))
        if amount == 0:
            continue
        invoice_item = {
            "amount": amount,
            "currency": item["price"]["currency"],
            "customer": subscription["customer"],
            "date": now,
            "description": f"{label} {item['quantity']} x {item['price']['product']}",
            "discountable": False,
            "discounts": discount_ids,
            "id": new_id("ii"),
            "invoice": None,
            "livemode": False,
            "metadata": {},
            "object": "invoiceitem",
            "period": {"end": end, "start": at},
            "proration": True,
            "quantity": item["quantity"],
            "tax_rates": [],
            "test_clock": None,
            "parent": {
                "subscription_details": {
                    "subscription": subscription["id"],
                    "subscription_item": item["id"],
                },
                "type": "subscription_details",
            },
            "pricing": {
                "price_details": {
                    "price": item["price"]["id"],
                    "product": item["price"]["product"],
                },
                "type": "price_details",
                "unit_amount_decimal": item["price"].get("unit_amount_decimal"),
            },
            "net_amount": amount,
            "customer_account": None,
            "quantity_decimal": str(item["quantity"]),
            # Kept so the next invoice can bill it as the item it came from.
            "subscription_item_snapshot": item,
        }
        ctx.db.save("invoiceitem", invoice_item)
        events.emit(ctx, "invoiceitem.created", public_invoice_item(invoice_item))
        created.append(invoice_item)
    return created


def public_invoice_item(invoice_item: dict[str, Any]) -> dict[str, Any]:
    """The invoice item as the API shows it (without the item snapshot kept for billing)."""
    return {k: v for k, v in invoice_item.items() if k != "subscription_item_snapshot"}


def pending_items_exist(ctx: Context, subscription: dict[str, Any]) -> bool:
    """Whether the subscription has invoice items waiting for its next invoice."""
    return any(
        invoice_item["invoice"] is None
        and invoice_item["parent"]["subscription_details"]["subscription"] == subscription["id"]
        for invoice_item in ctx.db.all("invoiceitem")
    )


def pending_proration_lines(
    ctx: Context, subscription: dict[str, Any], invoice_id: str
) -> list[dict[str, Any]]:
    """Lines for the subscription's pending proration items, now billed on `invoice_id`."""
    lines = []
    for invoice_item in reversed(ctx.db.all("invoiceitem")):
        details = invoice_item["parent"]["subscription_details"]
        if invoice_item["invoice"] is not None or details["subscription"] != subscription["id"]:
            continue
        invoice_item["invoice"] = invoice_id
        ctx.db.save("invoiceitem", invoice_item)
        lines.append(
            invoice_line(
                invoice_id,
                subscription,
                invoice_item["subscription_item_snapshot"],
                amount=invoice_item["amount"],
                quantity=invoice_item["quantity"],
                description=invoice_item["description"],
                start=invoice_item["period"]["start"],
                end=invoice_item["period"]["end"],
                proration=True,
                invoice_item=invoice_item["id"],
                proration_discounts=tuple(invoice_item["discounts"]),
            )
        )
    return lines
