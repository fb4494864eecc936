"""A subscription's invoices: drafted from its items and pending prorations, then finalized
(numbered, opened, the customer's balance applied, hosted links set), and voided.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_server import events
from stripe_server.amounts import is_metered
from stripe_server.balance import balance_split, invoice_balance_apply, invoice_balance_unapply
from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.invoice_links import invoice_links_set
from stripe_server.lifecycle.discounts import invoice_discounts_apply
from stripe_server.lifecycle.invoice_lines import line_for_item
from stripe_server.lifecycle.periods import next_period_end
from stripe_server.lifecycle.prorations import pending_proration_lines
from stripe_server.lifecycle.usage import item_usage
from stripe_server.wire import list_object


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
    """Store (and announce) a draft invoice of `lines` for the subscription's period, with
    the subscription's discounts in force as the period starts taken off."""
    subtotal = sum(line["amount"] for line in lines)
    discount_ids, discounted = invoice_discounts_apply(ctx, subscription, lines, period_start)
    total = subtotal - sum(discounted)
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
        "discounts": discount_ids,
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
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal,
        "test_clock": None,
        "total": total,
        "total_discount_amounts": [
            {"amount": amount, "discount": discount_id}
            for amount, discount_id in zip(discounted, discount_ids, strict=True)
        ],
        "total_excluding_tax": total,
        "webhooks_delivered_at": None,
        "automatically_finalizes_at": None,
        "total_pretax_credit_amounts": [
            {
                "amount": amount,
                "credit_balance_transaction": None,
                "discount": discount_id,
                "type": "discount",
            }
            for amount, discount_id in zip(discounted, discount_ids, strict=True)
            if amount > 0
        ],
        "total_taxes": [],
        "amount_overpaid": 0,
        "parent": {
            "quote_details": None,
            "subscription_details": {
                "metadata": subscription["metadata"],
                "subscription": subscription["id"],
                # Set on previews only: the moment their prorations were computed for.
                "subscription_proration_date": None,
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
    """Number the invoice, open it and apply the customer's balance to it."""
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


def invoice_for_period(
    ctx: Context,
    subscription: dict[str, Any],
    customer: dict[str, Any],
    *,
    billing_reason: str,
    start: int,
    end: int,
    bill_items: bool = True,
    trial: bool = False,
    usage_period: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Create and finalize the invoice for a period: its items (a $0 line each for a free
    `trial`, none without `bill_items`) plus pending prorations.

    Licensed items are billed in advance, for the period from `start` to `end`; metered items
    in arrears, for the usage over `usage_period` (the period that just ended), or with no usage
    (0) when no period ended: the invoice that starts a subscription, or ends a trial."""
    invoice_id = new_id("in")
    lines = []
    if bill_items:
        lines = [
            _item_line(ctx, invoice_id, subscription, item, start, end, trial, usage_period)
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


def _item_line(
    ctx: Context,
    invoice_id: str,
    subscription: dict[str, Any],
    item: dict[str, Any],
    start: int,
    end: int,
    trial: bool,
    usage_period: tuple[int, int] | None,
) -> dict[str, Any]:
    if not is_metered(item["price"]) or usage_period is None or trial:
        return line_for_item(ctx, invoice_id, subscription, item, start, end, trial=trial)
    used_from, used_until = usage_period
    usage = item_usage(ctx, subscription, item, used_from, used_until)
    return line_for_item(ctx, invoice_id, subscription, item, used_from, used_until, usage=usage)


def invoice_for_new_cycle(
    ctx: Context, subscription: dict[str, Any], customer: dict[str, Any]
) -> dict[str, Any]:
    """Re-anchor the billing cycle now and invoice the new period in full (a change of
    interval, `billing_cycle_anchor=now`, a resumption): the invoice, finalized. A paid period
    cut short bills its metered usage so far; a trial's (a resumption's) bills none."""
    now = ctx.now()
    usage_period = None
    if subscription["status"] in ("active", "past_due"):
        usage_period = (subscription["current_period_start"], now)
    subscription["billing_cycle_anchor"] = now
    subscription["current_period_start"] = now
    subscription["current_period_end"] = next_period_end(subscription, now)
    return invoice_for_period(
        ctx,
        subscription,
        customer,
        billing_reason="subscription_update",
        start=now,
        end=subscription["current_period_end"],
        usage_period=usage_period,
    )


def invoice_void_open(ctx: Context, invoice: dict[str, Any]) -> None:
    """Void an open invoice: nothing is due any more, and what it took from (or gave to) the
    customer's balance goes back."""
    before = copy.deepcopy(invoice)
    invoice["status"] = "void"
    invoice["amount_remaining"] = 0
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"]["voided_at"] = ctx.now()
    ctx.db.save("invoice", invoice)
    events.emit(ctx, "invoice.voided", invoice, events.previous_attributes(before, invoice))
    invoice_balance_unapply(ctx, invoice)
