"""Resuming a subscription paused at its trial's end (`POST /v1/subscriptions/{id}/resume`).

`billing_cycle_anchor=now` (the default) re-anchors the cycle now and starts a new period now;
its invoice (the whole period, nothing prorated) is finalized and charged at once.
`billing_cycle_anchor=unchanged` keeps the anchor (the trial's end): the period is the one of
that cycle that holds now, and the time left of it is prorated as of now (or
`proration_date`) per `proration_behavior`: `create_prorations` (the default) leaves the charge
pending for the next invoice, `always_invoice` invoices and charges it now, `none` bills
nothing.

Without an invoice to pay (or once it is paid) the subscription is `active`:
`customer.subscription.updated`, then `customer.subscription.resumed`. When the invoice cannot
be paid (declined, or no payment method) the subscription stays `paused` (its period and anchor
too) and the invoice open, with no retries: paying it later (`POST /v1/invoices/{id}/pay`, the
hosted invoice page) resumes the subscription as above, voiding it leaves the subscription
paused, and 23 hours after the resume an invoice still open is voided, as Stripe does.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.frozen_time import FrozenClock
from stripe_server.lifecycle.invoices import (
    invoice_for_new_cycle,
    invoice_for_period,
    invoice_void_open,
)
from stripe_server.lifecycle.payments import invoice_attempt_payment, payment_method_for
from stripe_server.lifecycle.periods import period_holding
from stripe_server.lifecycle.prorations import (
    pending_items_exist,
    proration_date_check,
    proration_items,
)
from stripe_server.lifecycle.subscriptions import subscription_save_updated

# A resumption waiting for its invoice to be paid, kept apart from the subscription.
KIND = "subscription_resumption"
EXPIRY_SECONDS = 23 * 3600
# What resuming changes on the subscription, held back until its invoice is paid.
HELD = ("billing_cycle_anchor", "current_period_start", "current_period_end")


def _held_id(subscription: dict[str, Any]) -> str:
    return f"{subscription['id']}:resumption"


def subscription_resume_attempt(
    ctx: Context,
    subscription: dict[str, Any],
    *,
    billing_cycle_anchor: str,
    proration_behavior: str,
    proration_date: int | None,
) -> None:
    """Resume a paused subscription now: invoice what resuming bills and charge it; `active`
    once paid (or with nothing to pay), else still `paused` with the invoice open.

    A `proration_date` outside the period resuming enters is refused (400).
    """
    customer = ctx.require("customer", subscription["customer"])
    now = ctx.now()
    _drop_earlier(ctx, subscription)
    before = copy.deepcopy(subscription)
    invoice = None
    if billing_cycle_anchor == "now":
        invoice = invoice_for_new_cycle(ctx, subscription, customer)
    else:
        start, end = period_holding(subscription, now)
        subscription["current_period_start"], subscription["current_period_end"] = start, end
        if proration_date is not None:
            proration_date_check(subscription, proration_date, "proration_date")
        if proration_behavior != "none":
            for item in subscription["items"]["data"]:
                proration_items(ctx, subscription, None, item, proration_date=proration_date)
        if proration_behavior == "always_invoice" and pending_items_exist(ctx, subscription):
            invoice = invoice_for_period(
                ctx,
                subscription,
                customer,
                billing_reason="subscription_update",
                start=now,
                end=end,
                bill_items=False,
            )
    decline = None
    if invoice is not None:
        decline = invoice_attempt_payment(
            ctx, invoice, payment_method_for(ctx, subscription, customer)
        )
    if decline is None:
        _resume(ctx, subscription, before)
        return
    assert invoice is not None
    # Not retried: paid by the customer, voided, or voided 23 hours on.
    invoice["next_payment_attempt"] = None
    ctx.db.save("invoice", invoice)
    ctx.db.save(
        KIND,
        {
            "id": _held_id(subscription),
            "created": now,
            "invoice": invoice["id"],
            "changed": {key: subscription[key] for key in HELD},
        },
    )
    for key in HELD:
        subscription[key] = before[key]
    subscription_save_updated(ctx, subscription, before)


def _resume(ctx: Context, subscription: dict[str, Any], before: dict[str, Any]) -> None:
    subscription["status"] = "active"
    subscription_save_updated(ctx, subscription, before)
    events.emit(ctx, "customer.subscription.resumed", subscription)


def _drop_earlier(ctx: Context, subscription: dict[str, Any]) -> None:
    """A resumption still waiting for its invoice gives way to a new one: the invoice is
    voided (the customer is not billed twice)."""
    held = ctx.db.get(_held_id(subscription), KIND)
    if held is None:
        return
    invoice = ctx.db.get(held["invoice"], "invoice")
    if invoice is not None and invoice["status"] == "open":
        invoice_void_open(ctx, invoice)
    ctx.db.delete(held["id"])


def resumption_invoice_paid(
    ctx: Context, subscription: dict[str, Any], invoice: dict[str, Any]
) -> None:
    """`invoice` was paid: if a paused subscription's resumption waits for it, resume."""
    held = ctx.db.get(_held_id(subscription), KIND)
    if held is None or held["invoice"] != invoice["id"] or subscription["status"] != "paused":
        return
    before = copy.deepcopy(subscription)
    for key in HELD:
        subscription[key] = held["changed"][key]
    ctx.db.delete(held["id"])
    _resume(ctx, subscription, before)


def resumption_invoice_voided(
    ctx: Context, subscription: dict[str, Any], invoice: dict[str, Any]
) -> None:
    """`invoice` was voided: a resumption waiting for it is dropped (the subscription stays
    paused)."""
    held = ctx.db.get(_held_id(subscription), KIND)
    if held is not None and held["invoice"] == invoice["id"]:
        ctx.db.delete(held["id"])


def resumption_expire_due(ctx: Context, subscription: dict[str, Any]) -> None:
    """23 hours after a resume whose invoice is still unpaid, the invoice is voided and the
    subscription stays paused."""
    held = ctx.db.get(_held_id(subscription), KIND)
    if held is None or ctx.now() < held["created"] + EXPIRY_SECONDS:
        return
    # Voided when it fell due, however late the billing pass (or a test clock) gets to it.
    at_expiry = dataclasses.replace(ctx, clock=FrozenClock(held["created"] + EXPIRY_SECONDS))
    _drop_earlier(at_expiry, subscription)
