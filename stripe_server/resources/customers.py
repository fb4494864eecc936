"""Customers: create (optionally with a payment method), retrieve, update, list, delete."""

from __future__ import annotations

import secrets
import string
from typing import Any

from stripe_server import events
from stripe_server.balance import balance_transaction_record
from stripe_server.context import Context
from stripe_server.frozen_time import clock_context, test_clock_param
from stripe_server.ids import new_id
from stripe_server.lifecycle.customers import DELETED_KIND, customer_remove
from stripe_server.resources.account import DEFAULT_CURRENCY
from stripe_server.resources.payment_methods import payment_method_attach, payment_method_resolve
from stripe_server.routing import route
from stripe_server.wire import Params, created_filter, invalid_request, metadata_update

_ADDRESS_KEYS = ("city", "country", "line1", "line2", "postal_code", "state")
_EDITABLE = {
    "address",
    "balance",
    "description",
    "email",
    "invoice_settings",
    "metadata",
    "name",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
}


def _address(params: Params | None) -> dict[str, Any] | None:
    if params is None:
        return None
    params.reject_unknown(_ADDRESS_KEYS)
    return {key: params.string(key) or None for key in _ADDRESS_KEYS}


def _apply_fields(ctx: Context, customer: dict[str, Any], params: Params) -> None:
    for key in ("description", "email", "name", "phone"):
        if params.has(key):
            customer[key] = params.string(key) or None
    if params.has("address"):
        customer["address"] = _address(params.nested("address"))
    if params.has("shipping"):
        shipping = params.nested("shipping")
        if shipping is None:
            customer["shipping"] = None
        else:
            shipping.reject_unknown({"address", "name", "phone"})
            customer["shipping"] = {
                "address": _address(shipping.nested("address", required=True)),
                "name": shipping.string("name", required=True),
                "phone": shipping.string("phone"),
            }
    if params.has("preferred_locales"):
        customer["preferred_locales"] = params.strings("preferred_locales") or []
    if params.has("tax_exempt"):
        customer["tax_exempt"] = params.string("tax_exempt", choices=("none", "exempt", "reverse"))
    customer["metadata"] = metadata_update(customer["metadata"], params)
    settings = params.nested("invoice_settings")
    if settings is not None:
        settings.reject_unknown({"default_payment_method", "footer", "custom_fields"})
        if settings.has("footer"):
            customer["invoice_settings"]["footer"] = settings.string("footer") or None
        if settings.has("default_payment_method"):
            payment_method_id = settings.string("default_payment_method") or None
            if payment_method_id is not None:
                param = "invoice_settings[default_payment_method]"
                payment_method = ctx.require(
                    "payment_method", payment_method_id, param=param, status=400
                )
                if payment_method["customer"] != customer["id"]:
                    raise invalid_request(
                        f"The customer does not have a payment method with the ID "
                        f"{payment_method_id}. The payment method must be attached to the "
                        "customer.",
                        param=param,
                    )
            customer["invoice_settings"]["default_payment_method"] = payment_method_id


def _balance_set(ctx: Context, customer: dict[str, Any], params: Params, kind: str) -> None:
    """`balance=`: Stripe records the difference as a balance transaction (`initial` on
    create, `adjustment` on update) in the customer's currency."""
    if not params.has("balance"):
        return
    balance = params.integer("balance", required=True)
    assert balance is not None
    if balance != customer["balance"]:
        balance_transaction_record(
            ctx,
            customer,
            amount=balance - customer["balance"],
            kind=kind,
            currency=customer["currency"] or DEFAULT_CURRENCY,
        )


def _invoice_prefix() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


@route("POST", "/v1/customers")
def customer_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_EDITABLE | {"payment_method", "test_clock"})
    test_clock = test_clock_param(ctx, params.string("test_clock"))
    # A customer on a test clock lives on that clock's time (its `created` included).
    ctx = clock_context(ctx, test_clock)
    customer: dict[str, Any] = {
        "address": None,
        "balance": 0,
        "created": ctx.now(),
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "id": new_id("cus", 14),
        "invoice_prefix": _invoice_prefix(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "object": "customer",
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": test_clock,
    }
    # Save first so the payment method (and default) can refer to the customer.
    ctx.db.save("customer", customer)
    attached = None
    if params.string("payment_method"):
        attached = payment_method_resolve(
            ctx, params.string("payment_method") or "", param="payment_method"
        )
    _apply_fields(
        ctx, customer, Params({k: v for k, v in params.data.items() if k != "invoice_settings"})
    )
    _balance_set(ctx, customer, params, "initial")
    ctx.db.save("customer", customer)
    events.emit(ctx, "customer.created", customer)
    if attached is not None:
        payment_method_attach(ctx, attached, customer)
    if params.has("invoice_settings"):
        settings = params.raw("invoice_settings")
        if (
            attached is not None
            and isinstance(settings, dict)
            and settings.get("default_payment_method") == params.string("payment_method")
        ):
            # `payment_method=pm_card_visa` with the same token as default means "that one".
            settings = {**settings, "default_payment_method": attached["id"]}
        before = {**customer, "invoice_settings": dict(customer["invoice_settings"])}
        _apply_fields(ctx, customer, Params({"invoice_settings": settings}))
        if customer != before:
            ctx.db.save("customer", customer)
            events.emit(
                ctx, "customer.updated", customer, events.previous_attributes(before, customer)
            )
    return ctx.present(customer)


@route("GET", "/v1/customers/{id}")
def customer_retrieve(ctx: Context) -> dict[str, Any]:
    deleted = ctx.db.get(ctx.arg("id"), DELETED_KIND)
    if deleted is not None:
        return deleted
    return ctx.present(ctx.require("customer", ctx.arg("id")))


@route("POST", "/v1/customers/{id}")
def customer_update(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_EDITABLE)
    customer = ctx.require("customer", ctx.arg("id"))
    before = {**customer, "invoice_settings": dict(customer["invoice_settings"])}
    _apply_fields(ctx, customer, params)
    _balance_set(ctx, customer, params, "adjustment")
    if customer != before:
        ctx.db.save("customer", customer)
        events.emit(ctx, "customer.updated", customer, events.previous_attributes(before, customer))
    return ctx.present(customer)


@route("DELETE", "/v1/customers/{id}")
def customer_delete(ctx: Context) -> dict[str, Any]:
    return customer_remove(ctx, ctx.require("customer", ctx.arg("id")))


@route("GET", "/v1/customers")
def customer_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"email", "created", "limit", "starting_after", "ending_before"})
    email = params.string("email")
    created = created_filter(params)
    customers = [
        customer
        for customer in ctx.db.all("customer")
        if (email is None or customer["email"] == email) and created(customer["created"])
    ]
    return ctx.page(customers, "/v1/customers", "customer")
