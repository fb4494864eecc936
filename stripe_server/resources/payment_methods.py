"""PaymentMethods (cards only): create from test cards or tokens, attach, detach, list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stripe_server import events
from stripe_server.cards import (
    CARDS_BY_FINGERPRINT,
    TestCard,
    card_for_number,
    card_for_token,
    decline_error,
)
from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.routing import route
from stripe_server.wire import (
    Params,
    invalid_request,
    list_object,
    metadata_update,
    missing_param,
)


def _billing_details(params: Params | None, current: dict[str, Any] | None) -> dict[str, Any]:
    details = current or {
        "address": None,
        "email": None,
        "name": None,
        "phone": None,
        "tax_id": None,
    }
    if params is None:
        return details
    params.reject_unknown({"address", "email", "name", "phone"})
    for key in ("email", "name", "phone"):
        if params.has(key):
            details[key] = params.string(key) or None
    address = params.nested("address")
    if address is not None:
        address.reject_unknown({"city", "country", "line1", "line2", "postal_code", "state"})
        details["address"] = {
            key: address.string(key) or None
            for key in ("city", "country", "line1", "line2", "postal_code", "state")
        }
    return details


def payment_method_new(
    ctx: Context,
    card: TestCard,
    *,
    exp_month: int = 12,
    exp_year: int = 2034,
    billing_details: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    payment_method = {
        "allow_redisplay": "unspecified",
        "billing_details": billing_details or _billing_details(None, None),
        "card": {
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": "US",
            "display_brand": card.brand,
            "exp_month": exp_month,
            "exp_year": exp_year,
            "fingerprint": card.fingerprint,
            "funding": card.funding,
            "generated_from": None,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
            "regulated_status": "unregulated",
        },
        "created": ctx.now(),
        "customer": None,
        "id": new_id("pm"),
        "livemode": False,
        "metadata": metadata or {},
        "object": "payment_method",
        "type": "card",
        "customer_account": None,
    }
    ctx.db.save("payment_method", payment_method)
    return payment_method


def payment_method_resolve(ctx: Context, payment_method_id: str, *, param: str) -> dict[str, Any]:
    """A stored payment method, or a fresh one made from a `pm_card_visa`-style token."""
    card = card_for_token(payment_method_id)
    if card is not None:
        return payment_method_new(ctx, card)
    return ctx.require("payment_method", payment_method_id, param=param, status=400)


def payment_method_attach(
    ctx: Context, payment_method: dict[str, Any], customer: dict[str, Any]
) -> dict[str, Any]:
    """Attach as Stripe does: cards that decline fail here; 4000 0000 0000 0341 does not."""
    if payment_method["customer"] == customer["id"]:
        return payment_method
    if payment_method["customer"] is not None:
        raise invalid_request(
            "The payment method you provided has already been attached to a customer.",
            param="payment_method",
        )
    card = CARDS_BY_FINGERPRINT.get(payment_method["card"]["fingerprint"])
    if card is not None and card.attach_decline:
        raise decline_error(card.attach_decline)
    payment_method["customer"] = customer["id"]
    ctx.db.save("payment_method", payment_method)
    events.emit(ctx, "payment_method.attached", payment_method)
    return payment_method


_CREATE_PARAMS = {"type", "card", "billing_details", "metadata", "customer", "payment_method"}


@route("POST", "/v1/payment_methods")
def payment_method_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_CREATE_PARAMS)
    if params.has("customer") or params.has("payment_method"):
        raise invalid_request(
            "Cloning payment methods between customers (Connect) is not emulated.",
            param="customer",
        )
    params.string("type", required=True, choices=("card",))
    card_params = params.nested("card", required=True)
    assert card_params is not None
    card_params.reject_unknown({"number", "exp_month", "exp_year", "cvc", "token"})
    token = card_params.string("token")
    if token:
        card = card_for_token(token)
        if card is None:
            raise invalid_request(f"No such token: '{token}'", param="card[token]")
        exp_month, exp_year = 12, 2034
    else:
        number = card_params.string("number", required=True)
        assert number is not None
        exp_month = card_params.integer("exp_month", required=True, minimum=1, maximum=12)
        exp_year = card_params.integer("exp_year", required=True)
        assert exp_month is not None and exp_year is not None
        if exp_year < 100:
            exp_year += 2000
        if (exp_year, exp_month) < _current_year_month(ctx):
            raise decline_error("expired_card")
        card = card_for_number(number)
    payment_method = payment_method_new(
        ctx,
        card,
        exp_month=exp_month,
        exp_year=exp_year,
        billing_details=_billing_details(params.nested("billing_details"), None),
        metadata=metadata_update({}, params),
    )
    return ctx.present(payment_method)


def _current_year_month(ctx: Context) -> tuple[int, int]:
    today = dt.datetime.fromtimestamp(ctx.now(), tz=dt.UTC)
    return today.year, today.month


@route("GET", "/v1/payment_methods/{id}")
def payment_method_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(ctx.require("payment_method", ctx.arg("id")))


@route("POST", "/v1/payment_methods/{id}")
def payment_method_update(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"billing_details", "metadata", "card", "allow_redisplay"})
    payment_method = ctx.require("payment_method", ctx.arg("id"))
    before = dict(payment_method)
    payment_method["billing_details"] = _billing_details(
        params.nested("billing_details"), dict(payment_method["billing_details"])
    )
    card_params = params.nested("card")
    if card_params is not None:
        card_params.reject_unknown({"exp_month", "exp_year"})
        card = dict(payment_method["card"])
        card["exp_month"] = (
            card_params.integer("exp_month", minimum=1, maximum=12) or card["exp_month"]
        )
        card["exp_year"] = card_params.integer("exp_year") or card["exp_year"]
        payment_method["card"] = card
    if params.has("allow_redisplay"):
        payment_method["allow_redisplay"] = params.string(
            "allow_redisplay", choices=("always", "limited", "unspecified")
        )
    payment_method["metadata"] = metadata_update(payment_method["metadata"], params)
    if payment_method != before:
        ctx.db.save("payment_method", payment_method)
        events.emit(
            ctx,
            "payment_method.updated",
            payment_method,
            events.previous_attributes(before, payment_method),
        )
    return ctx.present(payment_method)


@route("POST", "/v1/payment_methods/{id}/attach")
def payment_method_attach_route(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown({"customer"})
    customer_id = ctx.params.string("customer", required=True)
    assert customer_id is not None
    customer = ctx.require("customer", customer_id, param="customer", status=400)
    payment_method = payment_method_resolve(ctx, ctx.arg("id"), param="payment_method")
    return ctx.present(payment_method_attach(ctx, payment_method, customer))


@route("POST", "/v1/payment_methods/{id}/detach")
def payment_method_detach(ctx: Context) -> dict[str, Any]:
    payment_method = ctx.require("payment_method", ctx.arg("id"))
    customer_id = payment_method["customer"]
    if customer_id is None:
        raise invalid_request(
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            param="payment_method",
        )
    payment_method["customer"] = None
    ctx.db.save("payment_method", payment_method)
    customer = ctx.db.get(customer_id, "customer")
    if customer and customer["invoice_settings"]["default_payment_method"] == payment_method["id"]:
        before = {**customer, "invoice_settings": dict(customer["invoice_settings"])}
        customer["invoice_settings"]["default_payment_method"] = None
        ctx.db.save("customer", customer)
        events.emit(ctx, "customer.updated", customer, events.previous_attributes(before, customer))
    events.emit(ctx, "payment_method.detached", payment_method, {"customer": customer_id})
    return ctx.present(payment_method)


def payment_methods_of(ctx: Context, customer_id: str) -> list[dict[str, Any]]:
    return [pm for pm in ctx.db.all("payment_method") if pm["customer"] == customer_id]


@route("GET", "/v1/payment_methods")
def payment_method_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"customer", "type", "limit", "starting_after", "ending_before"})
    customer_id = params.string("customer")
    if not customer_id:
        raise missing_param("customer")
    ctx.require("customer", customer_id, param="customer", status=400)
    kind = params.string("type")
    methods = [pm for pm in payment_methods_of(ctx, customer_id) if kind in (None, pm["type"])]
    return ctx.page(methods, f"/v1/payment_methods?customer={customer_id}", "payment_method")


@route("GET", "/v1/customers/{id}/payment_methods")
def customer_payment_method_list(ctx: Context) -> dict[str, Any]:
    customer = ctx.require("customer", ctx.arg("id"))
    ctx.params.reject_unknown(
        {"type", "limit", "starting_after", "ending_before", "allow_redisplay"}
    )
    methods = payment_methods_of(ctx, customer["id"])
    return ctx.page(methods, f"/v1/customers/{customer['id']}/payment_methods", "payment_method")


@route("GET", "/v1/customers/{id}/sources")
def customer_source_list(ctx: Context) -> dict[str, Any]:
    # Legacy sources (cards/bank accounts as sources) are not emulated; dj-stripe lists them.
    customer = ctx.require("customer", ctx.arg("id"))
    ctx.params.string("object", choices=("card", "bank_account", "source"))
    return list_object(f"/v1/customers/{customer['id']}/sources", [])
