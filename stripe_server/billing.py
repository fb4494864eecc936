"""Subscription and invoice lifecycle: periods, invoices, payments, renewals, trials, retries.

Time always comes from the caller's `now` (a `Context`'s clock), never from the wall clock, so
advancing a clock (the `/_local/clock/advance` endpoint now, per-customer test clocks later)
renews subscriptions exactly as the passing of real time would.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from stripe_server import events
from stripe_server.amounts import price_amount
from stripe_server.balance import balance_split, invoice_balance_apply, invoice_balance_unapply
from stripe_server.cards import CARDS_BY_FINGERPRINT, decline_message
from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.invoice_links import invoice_links_set
from stripe_server.wire import list_object

# Stripe's defaults for failed renewal payments ("Smart Retries" off): retry every 3 days,
# 4 attempts in all, then cancel the subscription.
RETRY_INTERVAL_SECONDS = 3 * 24 * 3600
MAX_PAYMENT_ATTEMPTS = 4
# An `incomplete` subscription whose first invoice is still unpaid expires after 23 hours.
INCOMPLETE_EXPIRY_SECONDS = 23 * 3600
TRIAL_WILL_END_NOTICE_SECONDS = 3 * 24 * 3600
# Bounds catch-up work after a large clock jump (e.g. a year of daily periods).
MAX_RENEWALS_PER_PASS = 400


# --- periods --------------------------------------------------------------------------------


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_end(anchor: int, recurring: dict[str, Any], periods: int) -> int:
    """End of the `periods`-th period counted from `anchor` (month ends clamp, like Stripe)."""
    start = dt.datetime.fromtimestamp(anchor, tz=dt.UTC)
    count = recurring["interval_count"] * periods
    interval = recurring["interval"]
    if interval == "day":
        end = start + dt.timedelta(days=count)
    elif interval == "week":
        end = start + dt.timedelta(weeks=count)
    elif interval == "month":
        end = _add_months(start, count)
    else:
        end = _add_months(start, 12 * count)
    return int(end.timestamp())


def next_period_end(subscription: dict[str, Any], start: int) -> int:
    """The end of the period that starts at `start`, keeping the billing cycle anchor's day."""
    recurring = subscription["items"]["data"][0]["price"]["recurring"]
    anchor = subscription["billing_cycle_anchor"]
    periods = 1
    while True:
        end = period_end(anchor, recurring, periods)
        if end > start:
            return end
        periods += 1


# --- invoices -------------------------------------------------------------------------------


def _money(amount: int, currency: str) -> str:
    return f"{currency.upper()} {amount / 100:.2f}"


def item_amount(ctx: Context, item: dict[str, Any]) -> int:
    """What an item costs per period; embedded prices lack `tiers`, so read the stored one."""
    price = ctx.db.get(item["price"]["id"], "price") or item["price"]
    return price_amount(price, item["quantity"])


def line_for_item(
    ctx: Context,
    invoice_id: str,
    subscription: dict[str, Any],
    item: dict[str, Any],
    start: int,
    end: int,
) -> dict[str, Any]:
    price = item["price"]
    amount = item_amount(ctx, item)
    interval = price["recurring"]["interval"] if price.get("recurring") else "one time"
    return _line(
        invoice_id,
        subscription,
        item,
        amount=amount,
        quantity=item["quantity"],
        description=f"{item['quantity']} x {price['product']} (at "
        f"{_money(amount, price['currency'])} / {interval})",
        start=start,
        end=end,
        proration=False,
        invoice_item=None,
    )


def _line(
    invoice_id: str,
    subscription: dict[str, Any],
    item: dict[str, Any],
    *,
    amount: int,
    quantity: int,
    description: str,
    start: int,
    end: int,
    proration: bool,
    invoice_item: str | None,
) -> dict[str, Any]:
    price = item["price"]
    return {
        "amount": amount,
        "currency": price["currency"],
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "id": new_id("il"),
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "object": "line_item",
        "period": {"end": end, "start": start},
        "quantity": quantity,
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
        "quantity_decimal": str(quantity),
    }


def invoice_new(
    ctx: Context,
    customer: dict[str, Any],
    subscription: dict[str, Any],
    *,
    billing_reason: str,
    period_start: int,
    period_end: int,
    lines: list[dict[str, Any]],
    invoice_id: str,
) -> dict[str, Any]:
    total = sum(line["amount"] for line in lines)
    # A draft shows what the customer's balance would leave due; finalizing applies it.
    amount_due, _ = balance_split(total, customer["balance"])
    currency = subscription["currency"]
    now = ctx.now()
    invoice = {
        "account_country": "US",
        "account_name": "Portal (local Stripe)",
        "account_tax_ids": None,
        "amount_due": amount_due,
        "amount_paid": 0,
        "amount_remaining": amount_due,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "enabled": False,
            "liability": None,
            "status": None,
            "disabled_reason": None,
            "provider": None,
        },
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": currency,
        "custom_fields": None,
        "customer": customer["id"],
        "customer_address": customer["address"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": customer["shipping"],
        "customer_tax_exempt": customer["tax_exempt"],
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "id": invoice_id,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": list_object(f"/v1/invoices/{invoice_id}/lines", lines),
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "object": "invoice",
        "on_behalf_of": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": customer["balance"],
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        # dj-stripe links invoices to subscriptions through this (older API) top-level key.
        "subscription": subscription["id"],
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": None,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "webhooks_delivered_at": None,
        "automatically_finalizes_at": None,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "amount_overpaid": 0,
        "parent": {
            "quote_details": None,
            "subscription_details": {
                "metadata": subscription["metadata"],
                "subscription": subscription["id"],
            },
            "type": "subscription_details",
        },
        "customer_account": None,
        # dj-stripe's `Invoice.paid` reads this (older API) key.
        "paid": False,
    }
    ctx.db.save("invoice", invoice)
    events.emit(ctx, "invoice.created", invoice)
    return invoice


def invoice_finalize(ctx: Context, invoice: dict[str, Any], customer: dict[str, Any]) -> None:
    now = ctx.now()
    sequence = customer["next_invoice_sequence"]
    customer["next_invoice_sequence"] = sequence + 1
    ctx.db.save("customer", customer)
    invoice["number"] = f"{customer['invoice_prefix']}-{sequence:04d}"
    invoice["status"] = "open"
    invoice["effective_at"] = now
    invoice_balance_apply(ctx, invoice, customer)
    invoice["webhooks_delivered_at"] = now
    invoice["status_transitions"]["finalized_at"] = now
    invoice_links_set(ctx, invoice)
    ctx.db.save("invoice", invoice)
    events.emit(ctx, "invoice.finalized", invoice)


def payment_method_for(
    ctx: Context, subscription: dict[str, Any], customer: dict[str, Any]
) -> str | None:
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
    if decline == "no_payment_method":
        return "This customer has no attached payment source or default payment method."
    return decline_message(decline)


def invoice_for_period(
    ctx: Context,
    subscription: dict[str, Any],
    customer: dict[str, Any],
    *,
    billing_reason: str,
    start: int,
    end: int,
    bill_items: bool = True,
) -> dict[str, Any]:
    """Create and finalize the invoice for a period: its items plus pending prorations."""
    invoice_id = new_id("in")
    lines = []
    if bill_items:
        lines = [
            line_for_item(ctx, invoice_id, subscription, item, start, end)
            for item in subscription["items"]["data"]
        ]
    lines += pending_proration_lines(ctx, subscription, invoice_id)
    invoice = invoice_new(
        ctx,
        customer,
        subscription,
        billing_reason=billing_reason,
        period_start=start,
        period_end=end,
        lines=lines,
        invoice_id=invoice_id,
    )
    invoice_finalize(ctx, invoice, customer)
    subscription["latest_invoice"] = invoice["id"]
    return invoice


# --- prorations -----------------------------------------------------------------------------


def proration_items(
    ctx: Context,
    subscription: dict[str, Any],
    old_item: dict[str, Any] | None,
    new_item: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """Pending invoice items crediting unused time on the old item and charging the new."""
    now = ctx.now()
    start, end = subscription["current_period_start"], subscription["current_period_end"]
    if end <= start or now >= end:
        return []
    fraction = (end - max(now, start)) / (end - start)
    created = []
    for item, sign, label in ((old_item, -1, "Unused time on"), (new_item, 1, "Remaining time on")):
        if item is None:
            continue
        amount = sign * round(item_amount(ctx, item) * fraction)
        if amount == 0:
            continue
        invoice_item = {
            "amount": amount,
            "currency": item["price"]["currency"],
            "customer": subscription["customer"],
            "date": now,
            "description": f"{label} {item['quantity']} x {item['price']['product']}",
            "discountable": False,
            "discounts": [],
            "id": new_id("ii"),
            "invoice": None,
            "livemode": False,
            "metadata": {},
            "object": "invoiceitem",
            "period": {"end": end, "start": now},
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
        events.emit(ctx, "invoiceitem.created", _public_invoice_item(invoice_item))
        created.append(invoice_item)
    return created


def _public_invoice_item(invoice_item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in invoice_item.items() if k != "subscription_item_snapshot"}


def pending_proration_lines(
    ctx: Context, subscription: dict[str, Any], invoice_id: str
) -> list[dict[str, Any]]:
    lines = []
    for invoice_item in reversed(ctx.db.all("invoiceitem")):
        details = invoice_item["parent"]["subscription_details"]
        if invoice_item["invoice"] is not None or details["subscription"] != subscription["id"]:
            continue
        invoice_item["invoice"] = invoice_id
        ctx.db.save("invoiceitem", invoice_item)
        lines.append(
            _line(
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
            )
        )
    return lines


def public_invoice_item(invoice_item: dict[str, Any]) -> dict[str, Any]:
    return _public_invoice_item(invoice_item)


# --- the periodic pass ----------------------------------------------------------------------


def run_due(ctx: Context, *, test_clock: str | None = None) -> None:
    """Bring every subscription up to `ctx.now()`: renewals, trial ends, retries, expiry.

    Only subscriptions on `test_clock` (by default: on no test clock) are considered; a test
    clock's advance runs this with its own time.
    """
    from stripe_server.resources.subscriptions import (
        subscription_cancel_now,
        subscription_renew,
        subscription_retry_payment,
    )

    now = ctx.now()
    for subscription in ctx.db.all("subscription"):
        if subscription.get("test_clock") != test_clock:
            continue
        status = subscription["status"]
        if status == "incomplete":
            if now - subscription["created"] >= INCOMPLETE_EXPIRY_SECONDS:
                _expire_incomplete(ctx, subscription)
            continue
        if status not in ("active", "trialing", "past_due"):
            continue
        _maybe_warn_trial_end(ctx, subscription, now)
        renewals = 0
        while (
            subscription["status"] in ("active", "trialing", "past_due")
            and subscription["current_period_end"] <= now
            and renewals < MAX_RENEWALS_PER_PASS
        ):
            cancel_at = subscription["cancel_at"]
            if subscription["cancel_at_period_end"] or (
                cancel_at is not None and cancel_at <= subscription["current_period_end"]
            ):
                subscription_cancel_now(
                    ctx,
                    subscription,
                    reason="cancellation_requested",
                    at=subscription["current_period_end"],
                )
                break
            subscription_renew(ctx, subscription)
            renewals += 1
        if subscription["status"] == "past_due":
            subscription_retry_payment(ctx, subscription, now)


def _maybe_warn_trial_end(ctx: Context, subscription: dict[str, Any], now: int) -> None:
    trial_end = subscription["trial_end"]
    if subscription["status"] != "trialing" or trial_end is None:
        return
    if trial_end - now > TRIAL_WILL_END_NOTICE_SECONDS:
        return
    marker = f"trial_will_end:{subscription['id']}:{trial_end}"
    if ctx.db.meta_get(marker):
        return
    ctx.db.meta_set(marker, "sent")
    events.emit(ctx, "customer.subscription.trial_will_end", subscription)


def _expire_incomplete(ctx: Context, subscription: dict[str, Any]) -> None:
    from stripe_server.resources.subscriptions import subscription_save

    before = dict(subscription)
    subscription["status"] = "incomplete_expired"
    subscription["ended_at"] = ctx.now()
    invoice = ctx.db.get(subscription["latest_invoice"] or "", "invoice")
    if invoice and invoice["status"] == "open":
        invoice["status"] = "void"
        invoice["amount_remaining"] = 0
        invoice["next_payment_attempt"] = None
        invoice["status_transitions"]["voided_at"] = ctx.now()
        ctx.db.save("invoice", invoice)
        events.emit(ctx, "invoice.voided", invoice)
        invoice_balance_unapply(ctx, invoice)
    subscription_save(ctx, subscription)
    events.emit(
        ctx,
        "customer.subscription.updated",
        subscription,
        events.previous_attributes(before, subscription),
    )
