"""Invoice lines: what a subscription item costs for a period, as a line of its invoice."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stripe_server.amounts import Quantity, price_amount
from stripe_server.context import Context
from stripe_server.ids import new_id


def _money(amount: int, currency: str) -> str:
    return f"{currency.upper()} {amount / 100:.2f}"


def item_amount(ctx: Context, item: dict[str, Any], quantity: Quantity | None = None) -> int:
    """What an item costs per period (a metered item: for `quantity` units of usage); embedded
    prices lack `tiers`, so read the stored one."""
    price = ctx.db.get(item["price"]["id"], "price") or item["price"]
    return price_amount(price, item["quantity"] if quantity is None else quantity)


def line_for_item(
    ctx: Context,
    invoice_id: str,
    subscription: dict[str, Any],
    item: dict[str, Any],
    start: int,
    end: int,
    *,
    trial: bool = False,
    usage: Quantity | None = None,
) -> dict[str, Any]:
    """The line billing `item` for the period from `start` to `end`; for a free `trial`, the
    $0 line Stripe makes instead: "Trial period for Pro", its quantity, the trial's dates.

    A metered item has no quantity of its own: its line bills the `usage` measured over the
    period (none yet, 0, on the invoice that starts it)."""
    price = item["price"]
    quantity: Quantity = item.get("quantity", 0) if usage is None else usage
    if trial:
        product = ctx.db.get(price["product"], "product") or {}
        amount = 0
        description = f"Trial period for {product.get('name') or price['product']}"
    else:
        amount = item_amount(ctx, item, quantity)
        interval = price["recurring"]["interval"] if price.get("recurring") else "one time"
        description = (
            f"{quantity_text(quantity)} x {price['product']} (at "
            f"{_money(amount, price['currency'])} / {interval})"
        )
    line = invoice_line(
        invoice_id,
        subscription,
        item,
        amount=amount,
        quantity=quantity,
        description=description,
        start=start,
        end=end,
        proration=False,
        invoice_item=None,
    )
    if trial:
        # Nothing is charged per unit during the trial.
        line["pricing"]["unit_amount_decimal"] = "0"
    return line


def quantity_text(quantity: Quantity) -> str:
    """`3`, `12345`, `2.5`: a quantity (or measured usage) as a decimal string."""
    if isinstance(quantity, int):
        return str(quantity)
    return format(quantity.normalize(), "f")


def _whole(quantity: Quantity) -> int:
    """The whole number `quantity` shows (usage may be fractional; `quantity_decimal` is exact)."""
    if isinstance(quantity, int):
        return quantity
    return int(quantity.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def invoice_line(
    invoice_id: str,
    subscription: dict[str, Any],
    item: dict[str, Any],
    *,
    amount: int,
    quantity: Quantity,
    description: str,
    start: int,
    end: int,
    proration: bool,
    invoice_item: str | None,
    proration_discounts: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An invoice line billing `item` (a period of it, or a proration of it).

    Prorations are never discountable: their amount is already net of the discounts named in
    `proration_discounts`, each listed with a discount amount of 0 (Stripe's "included"
    proration discounts)."""
    price = item["price"]
    return {
        "amount": amount,
        "currency": price["currency"],
        "description": description,
        "discount_amounts": [
            {"amount": 0, "discount": discount_id} for discount_id in proration_discounts
        ],
        "discountable": not proration,
        "discounts": list(proration_discounts),
        "id": new_id("il"),
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "object": "line_item",
        "period": {"end": end, "start": start},
        "quantity": _whole(quantity),
        # Top-level `subscription` is what dj-stripe 2.11 reads to link the line.
        "subscription": subscription["id"],
        "pretax_credit_amounts": [],
        "taxes": [],
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": invoice_item,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription["id"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price.get("unit_amount_decimal"),
        },
        "subtotal": amount,
        "quantity_decimal": quantity_text(quantity),
    }
