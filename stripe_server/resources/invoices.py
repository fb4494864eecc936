"""Invoices (created by subscriptions): retrieve, list, lines, pay, void; invoice items."""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.frozen_time import clock_context
from stripe_server.lifecycle.invoices import invoice_void_open
from stripe_server.lifecycle.payments import (
    invoice_attempt_payment,
    payment_error,
    payment_method_for,
)
from stripe_server.lifecycle.pending_updates import pending_update_apply, pending_update_discard
from stripe_server.lifecycle.prorations import public_invoice_item
from stripe_server.lifecycle.resumptions import resumption_invoice_paid, resumption_invoice_voided
from stripe_server.lifecycle.subscriptions import subscription_mark_paid
from stripe_server.resources.payment_methods import payment_method_resolve
from stripe_server.routing import route
from stripe_server.wire import created_filter, invalid_request, metadata_update

_STATUSES = ("draft", "open", "paid", "uncollectible", "void")


@route("GET", "/v1/invoices/{id}")
def invoice_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(ctx.require("invoice", ctx.arg("id")))


@route("GET", "/v1/invoices/{id}/lines")
def invoice_line_list(ctx: Context) -> dict[str, Any]:
    invoice = ctx.require("invoice", ctx.arg("id"))
    ctx.params.reject_unknown({"limit", "starting_after", "ending_before"})
    return ctx.page(invoice["lines"]["data"], f"/v1/invoices/{invoice['id']}/lines", "line item")


@route("GET", "/v1/invoices")
def invoice_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"customer", "subscription", "status", "collection_method", "created", "limit",
         "starting_after", "ending_before"}
    )  # fmt: skip
    customer = params.string("customer")
    subscription = params.string("subscription")
    status = params.string("status", choices=_STATUSES)
    created = created_filter(params)
    invoices = [
        invoice
        for invoice in ctx.db.all("invoice")
        if (customer is None or invoice["customer"] == customer)
        and (subscription is None or invoice["subscription"] == subscription)
        and (status is None or invoice["status"] == status)
        and created(invoice["created"])
    ]
    return ctx.page(invoices, "/v1/invoices", "invoice")


@route("POST", "/v1/invoices/{id}")
def invoice_update(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown({"metadata", "description", "footer"})
    invoice = ctx.require("invoice", ctx.arg("id"))
    before = dict(invoice)
    for key in ("description", "footer"):
        if ctx.params.has(key):
            invoice[key] = ctx.params.string(key) or None
    invoice["metadata"] = metadata_update(invoice["metadata"], ctx.params)
    if invoice != before:
        ctx.db.save("invoice", invoice)
        events.emit(ctx, "invoice.updated", invoice, events.previous_attributes(before, invoice))
    return ctx.present(invoice)


@route("POST", "/v1/invoices/{id}/pay")
def invoice_pay(ctx: Context) -> dict[str, Any]:
    """Pay an open invoice now; a decline answers 402 and (one transaction) changes nothing."""
    ctx.params.reject_unknown({"payment_method", "off_session", "paid_out_of_band"})
    invoice = ctx.require("invoice", ctx.arg("id"))
    if invoice["status"] != "open":
        code = "invoice_already_paid" if invoice["status"] == "paid" else "invoice_not_open"
        raise invalid_request(f"Invoice is already {invoice['status']}.", code=code)
    subscription = ctx.require("subscription", invoice["subscription"])
    # A test clock's customer pays at that clock's time.
    ctx = clock_context(ctx, subscription.get("test_clock"))
    customer = ctx.require("customer", invoice["customer"])
    payment_method_id = ctx.params.string("payment_method") or None
    if payment_method_id:
        payment_method_id = payment_method_resolve(ctx, payment_method_id, param="payment_method")[
            "id"
        ]
    else:
        payment_method_id = payment_method_for(ctx, subscription, customer)
    decline = invoice_attempt_payment(ctx, invoice, payment_method_id)
    if decline is not None:
        raise payment_error(decline)
    pending_update_apply(ctx, subscription, invoice)
    resumption_invoice_paid(ctx, subscription, invoice)
    subscription_mark_paid(ctx, subscription)
    return ctx.present(invoice)


@route("POST", "/v1/invoices/{id}/void")
def invoice_void(ctx: Context) -> dict[str, Any]:
    invoice = ctx.require("invoice", ctx.arg("id"))
    if invoice["status"] != "open":
        raise invalid_request("Only open invoices can be voided.")
    subscription = ctx.db.get(invoice["subscription"] or "", "subscription")
    if subscription is not None:
        ctx = clock_context(ctx, subscription.get("test_clock"))
    invoice_void_open(ctx, invoice)
    if subscription is not None:
        pending_update_discard(ctx, subscription, invoice)
        resumption_invoice_voided(ctx, subscription, invoice)
        subscription_mark_paid(ctx, subscription)
    return ctx.present(invoice)


@route("GET", "/v1/invoiceitems/{id}")
def invoice_item_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(public_invoice_item(ctx.require("invoiceitem", ctx.arg("id"))))


@route("GET", "/v1/invoiceitems")
def invoice_item_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"customer", "invoice", "pending", "created", "limit", "starting_after", "ending_before"}
    )
    customer = params.string("customer")
    invoice = params.string("invoice")
    pending = params.boolean("pending")
    items = [
        public_invoice_item(item)
        for item in ctx.db.all("invoiceitem")
        if (customer is None or item["customer"] == customer)
        and (invoice is None or item["invoice"] == invoice)
        and (pending is None or (item["invoice"] is None) == pending)
    ]
    return ctx.page(items, "/v1/invoiceitems", "invoice item")
