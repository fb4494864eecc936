"""`/v1/customers/{customer}/balance_transactions`: create, retrieve, update, list.

Created transactions are `adjustment`s; invoices add their own (`applied_to_invoice`,
`unapplied_from_invoice`) through `balance.py`, which keeps the customer's `balance` in step.
"""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.balance import KIND, balance_transaction_record
from stripe_server.context import LABELS, Context
from stripe_server.frozen_time import clock_context
from stripe_server.routing import route
from stripe_server.wire import created_filter, invalid_request, metadata_update, resource_missing

_LABEL = LABELS[KIND]


def _transaction(ctx: Context, customer: dict[str, Any]) -> dict[str, Any]:
    transaction = ctx.db.get(ctx.arg("id"), KIND)
    if transaction is None or transaction["customer"] != customer["id"]:
        raise resource_missing(_LABEL, ctx.arg("id"))
    return transaction


@route("POST", "/v1/customers/{customer}/balance_transactions")
def balance_transaction_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"amount", "currency", "description", "metadata"})
    customer = ctx.require("customer", ctx.arg("customer"))
    # A test clock's customer records the move at the clock's time.
    ctx = clock_context(ctx, customer.get("test_clock"))
    amount = params.integer("amount", required=True)
    currency = (params.string("currency", required=True) or "").lower()
    assert amount is not None
    if customer["currency"] is not None and currency != customer["currency"]:
        raise invalid_request(
            f"The currency {currency} does not match the customer's currency "
            f"{customer['currency']}.",
            param="currency",
        )
    before = dict(customer)
    transaction = balance_transaction_record(
        ctx,
        customer,
        amount=amount,
        kind="adjustment",
        currency=currency,
        description=params.string("description") or None,
        metadata=metadata_update({}, params),
    )
    if customer != before:
        events.emit(ctx, "customer.updated", customer, events.previous_attributes(before, customer))
    return ctx.present(transaction)


@route("GET", "/v1/customers/{customer}/balance_transactions/{id}")
def balance_transaction_retrieve(ctx: Context) -> dict[str, Any]:
    customer = ctx.require("customer", ctx.arg("customer"))
    return ctx.present(_transaction(ctx, customer))


@route("POST", "/v1/customers/{customer}/balance_transactions/{id}")
def balance_transaction_update(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown({"description", "metadata"})
    customer = ctx.require("customer", ctx.arg("customer"))
    transaction = _transaction(ctx, customer)
    if ctx.params.has("description"):
        transaction["description"] = ctx.params.string("description") or None
    transaction["metadata"] = metadata_update(transaction["metadata"], ctx.params)
    ctx.db.save(KIND, transaction)
    return ctx.present(transaction)


@route("GET", "/v1/customers/{customer}/balance_transactions")
def balance_transaction_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"created", "invoice", "limit", "starting_after", "ending_before"})
    customer = ctx.require("customer", ctx.arg("customer"))
    invoice = params.string("invoice")
    created = created_filter(params)
    transactions = [
        transaction
        for transaction in ctx.db.all(KIND)
        if transaction["customer"] == customer["id"]
        and (invoice is None or transaction["invoice"] == invoice)
        and created(transaction["created"])
    ]
    return ctx.page(transactions, f"/v1/customers/{customer['id']}/balance_transactions", _LABEL)
