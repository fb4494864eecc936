"""Checkout Sessions (subscription mode): create, retrieve, line items, expire, list.

A session's `url` is the hosted Checkout page this server serves (`/_hosted/checkout/{id}`);
paying there completes the session (`hosted/checkout.py`).

A session takes one discount: `discounts[0][coupon]` or `[promotion_code]` pre-applies it (not
together with `allow_promotion_codes`, as at Stripe), or the customer applies a promotion code
on the page when `allow_promotion_codes` is true. Its amounts follow the discount
(`checkout_session_discount_set`): each line item's `amount_discount`, `total_details`,
`amount_total` (nothing is due today during a free trial); the subscription the session starts
redeems it.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_server import events
from stripe_server.amounts import price_amount
from stripe_server.context import Context
from stripe_server.discount_amounts import LineBasis, coupon_terms, discount_lines
from stripe_server.expand import present, strip_includables
from stripe_server.ids import new_id
from stripe_server.lifecycle.discounts import DiscountRequest
from stripe_server.lifecycle.redemptions import (
    DISCOUNT,
    Purchase,
    discount_coupon,
    discount_new,
)
from stripe_server.redirect_urls import safe_url
from stripe_server.resources.discount_requests import discount_requests_parse
from stripe_server.resources.subscriptions import item_quantity, trial_settings_param
from stripe_server.routing import route
from stripe_server.wire import (
    Params,
    created_filter,
    invalid_request,
    list_object,
    metadata_update,
    missing_param,
    paginate,
)

# Stripe's default (and maximum) lifetime of a Checkout Session: 24 hours.
SESSION_LIFETIME_SECONDS = 24 * 3600
MIN_LIFETIME_SECONDS = 30 * 60
# Checkout takes a `subscription_data[trial_end]` only this far in the future (2 days).
MIN_TRIAL_SECONDS = 48 * 3600
CHECKOUT_PATH = "/_hosted/checkout"

_CREATE_PARAMS = {
    "mode",
    "line_items",
    "customer",
    "customer_email",
    "client_reference_id",
    "success_url",
    "cancel_url",
    "allow_promotion_codes",
    "subscription_data",
    "metadata",
    "payment_method_types",
    "billing_address_collection",
    "locale",
    "expires_at",
    "customer_update",
    "ui_mode",
    "payment_method_collection",
    "discounts",
}


def _url_param(params: Params, key: str, *, required: bool) -> str | None:
    value = params.string(key, required=required)
    if value is None:
        return None
    if safe_url(value) is None:
        raise invalid_request(f"Not a valid URL: {key} must be an http(s) URL.", param=key)
    if len(value) > 5000:
        raise invalid_request(f"{key} must be at most 5000 characters.", param=key)
    return value


def _line_item(ctx: Context, entry: Params) -> dict[str, Any]:
    entry.reject_unknown({"price", "quantity"})
    price_id = entry.string("price")
    if not price_id:
        raise missing_param(entry.name("price"))
    price = ctx.require("price", price_id, param=entry.name("price"), status=400)
    if not price["active"]:
        raise invalid_request(
            f"The price `{price_id}` is not active. Only active prices can be used in Checkout.",
            param=entry.name("price"),
        )
    if price["type"] != "recurring":
        raise invalid_request(
            "In `subscription` mode, this local server only emulates recurring prices; "
            f"`{price_id}` is one-time.",
            param=entry.name("price"),
        )
    # A metered price takes no quantity (it bills usage, in arrears: nothing now).
    quantity = item_quantity(entry, price, minimum=1, maximum=999_999)
    product = ctx.db.get(price["product"], "product") or {}
    amount = price_amount(price, quantity or 0)
    return {
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price["currency"],
        "description": product.get("name") or price["product"],
        "discounts": [],
        "id": new_id("li"),
        "object": "item",
        "price": strip_includables(price),
        "quantity": quantity,
        "taxes": [],
        "adjustable_quantity": None,
        "metadata": {},
    }


def _check_line_items(items: list[dict[str, Any]]) -> None:
    first = items[0]["price"]
    for item in items[1:]:
        price = item["price"]
        if price["currency"] != first["currency"]:
            raise invalid_request(
                "All prices in a Checkout Session must share a currency.", param="line_items"
            )
        if (price["recurring"]["interval"], price["recurring"]["interval_count"]) != (
            first["recurring"]["interval"],
            first["recurring"]["interval_count"],
        ):
            raise invalid_request(
                "All recurring prices in a Checkout Session must have the same billing interval.",
                param="line_items",
            )
    prices = [item["price"]["id"] for item in items]
    if len(set(prices)) != len(prices):
        raise invalid_request(
            "Each price may appear only once in `line_items`.", param="line_items"
        )


def _subscription_data(ctx: Context, data: Params | None) -> dict[str, Any]:
    """`subscription_data` as the session keeps it for the subscription it will start."""
    kept: dict[str, Any] = {
        "metadata": {},
        "trial_period_days": None,
        "trial_end": None,
        "trial_settings": None,
        "description": None,
    }
    if data is None:
        return kept
    data.reject_unknown(
        {"trial_period_days", "trial_end", "trial_settings", "metadata", "description"}
    )
    if data.has("trial_end") and data.has("trial_period_days"):
        raise invalid_request(
            "You may only specify one of these parameters: subscription_data[trial_end], "
            "subscription_data[trial_period_days].",
            param="subscription_data[trial_end]",
        )
    trial_end = data.integer("trial_end")
    if trial_end is not None and trial_end < ctx.now() + MIN_TRIAL_SECONDS:
        raise invalid_request(
            "The `trial_end` date has to be at least 2 days in the future.",
            param="subscription_data[trial_end]",
        )
    kept.update(
        {
            "metadata": metadata_update({}, data),
            "trial_period_days": data.integer("trial_period_days", minimum=1, maximum=730),
            "trial_end": trial_end,
            "trial_settings": trial_settings_param(data),
            "description": data.string("description") or None,
        }
    )
    return kept


def starts_with_trial(subscription_data: dict[str, Any]) -> bool:
    """Whether the session's subscription starts with a free trial (nothing due today)."""
    return bool(subscription_data.get("trial_period_days") or subscription_data.get("trial_end"))


@route("POST", "/v1/checkout/sessions")
def checkout_session_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_CREATE_PARAMS)
    mode = params.string("mode", required=True, choices=("payment", "setup", "subscription"))
    if mode != "subscription":
        raise invalid_request(
            f"Checkout in `{mode}` mode is not emulated by the local Stripe server; use "
            "`mode=subscription`.",
            param="mode",
        )
    params.string("ui_mode", choices=("hosted",))
    types = params.strings("payment_method_types")
    if types is not None and types != ["card"]:
        raise invalid_request(
            'The local Stripe server only takes cards: `payment_method_types` must be `["card"]`.',
            param="payment_method_types",
        )
    params.string("billing_address_collection", choices=("auto", "required"))
    params.string("locale")
    success_url = _url_param(params, "success_url", required=True)
    cancel_url = _url_param(params, "cancel_url", required=False)
    customer_id = params.string("customer") or None
    customer_email = params.string("customer_email") or None
    if customer_id and customer_email:
        raise invalid_request(
            "You may only specify one of these parameters: customer, customer_email.",
            param="customer_email",
        )
    customer = None
    if customer_id:
        customer = ctx.require("customer", customer_id, param="customer", status=400)
    update = params.nested("customer_update")
    if update is not None:
        if customer is None:
            raise invalid_request(
                "`customer_update` can only be used with `customer`.", param="customer_update"
            )
        update.reject_unknown({"address", "name", "shipping"})
        for key in ("address", "name", "shipping"):
            update.string(key, choices=("auto", "never"))
    if customer_email is not None and ("@" not in customer_email or len(customer_email) > 512):
        raise invalid_request("Invalid email address: customer_email", param="customer_email")
    reference = params.string("client_reference_id") or None
    if reference is not None and len(reference) > 200:
        raise invalid_request(
            "client_reference_id must be at most 200 characters.", param="client_reference_id"
        )
    entries = params.items("line_items")
    if not entries:
        raise missing_param("line_items")
    items = [_line_item(ctx, entry) for entry in entries]
    _check_line_items(items)
    subscription_data = _subscription_data(ctx, params.nested("subscription_data"))
    if params.has("allow_promotion_codes") and params.has("discounts"):
        raise invalid_request(
            "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            param="allow_promotion_codes",
        )
    requests = discount_requests_parse(
        ctx, params, checkout_purchase(customer, items), kinds=("coupon", "promotion_code")
    )
    if requests is not None and len(requests) > 1:
        raise invalid_request(
            "A Checkout Session takes at most one discount: pass one entry in `discounts`.",
            param="discounts",
        )
    now = ctx.now()
    expires_at = params.integer(
        "expires_at",
        minimum=now + MIN_LIFETIME_SECONDS,
        maximum=now + SESSION_LIFETIME_SECONDS,
        default=now + SESSION_LIFETIME_SECONDS,
    )
    session_id = new_id("cs_test", 58)
    subtotal = sum(item["amount_subtotal"] for item in items)
    session: dict[str, Any] = {
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": params.boolean("allow_promotion_codes"),
        "amount_subtotal": subtotal,
        "amount_total": subtotal,
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "provider": None},
        "billing_address_collection": params.string("billing_address_collection"),
        "cancel_url": cancel_url,
        "client_reference_id": reference,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": items[0]["currency"],
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer["id"] if customer else None,
        "customer_account": None,
        "customer_creation": None if customer else "always",
        "customer_details": None,
        "customer_email": customer_email,
        "discounts": [],
        "expires_at": expires_at,
        "id": session_id,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": params.string("locale") or None,
        "managed_payments": {"enabled": False},
        "metadata": metadata_update({}, params),
        "mode": "subscription",
        "object": "checkout.session",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": params.string(
            "payment_method_collection", choices=("always", "if_required"), default="always"
        ),
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": {
            "allow_redisplay_filters": ["always"],
            "payment_method_remove": None,
            "payment_method_save": None,
        },
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": f"{ctx.base_url}{CHECKOUT_PATH}/{session_id}",
        "wallet_options": None,
        # Kept with the session, returned only as `line_items` when expanded.
        "_line_items": items,
        "_subscription_data": subscription_data,
        # The discount as shown before the subscription redeems it (its id stays the same
        # while the session is open), or None.
        "_discount": None,
    }
    checkout_session_discount_set(ctx, session, requests[0] if requests else None)
    ctx.db.save("checkout.session", session)
    return checkout_session_present(ctx, session)


def checkout_purchase(customer: dict[str, Any] | None, items: list[dict[str, Any]]) -> Purchase:
    """What the session's customer buys, as a promotion code's restrictions see it."""
    return Purchase(
        customer=customer,
        subtotal=sum(item["amount_subtotal"] for item in items),
        currency=items[0]["currency"],
        products=frozenset(item["price"]["product"] for item in items),
    )


def checkout_session_discount_set(
    ctx: Context, session: dict[str, Any], request: DiscountRequest | None
) -> None:
    """Apply a checked discount to the open session (None removes it), and work out its
    amounts again."""
    if request is None:
        session["discounts"] = []
        session["_discount"] = None
    else:
        assert request.coupon is not None
        promotion_code = request.promotion_code
        session["discounts"] = [
            {
                "coupon": None if promotion_code else request.coupon["id"],
                "promotion_code": promotion_code["id"] if promotion_code else None,
            }
        ]
        session["_discount"] = discount_new(
            coupon=request.coupon,
            promotion_code=promotion_code,
            customer_id=session["customer"],
            subscription_id=None,
            start=ctx.now(),
        )
    checkout_session_amounts_set(ctx, session)


def checkout_session_discount(ctx: Context, session: dict[str, Any]) -> dict[str, Any] | None:
    """The session's Discount: the subscription's once it is redeemed, else as shown."""
    subscription = ctx.db.get(session["subscription"] or "", "subscription")
    if subscription is not None and subscription["discounts"]:
        return ctx.db.get(subscription["discounts"][0], DISCOUNT)
    return session["_discount"]


def checkout_session_amounts_set(ctx: Context, session: dict[str, Any]) -> None:
    """Line items' and the session's amounts, after its discount; nothing is due today when
    the subscription starts with a free trial."""
    items = session["_line_items"]
    discount = checkout_session_discount(ctx, session)
    taken = [0 for _ in items]
    if discount is not None:
        bases = [LineBasis(item["amount_subtotal"], item["price"]["product"]) for item in items]
        taken = discount_lines(bases, [coupon_terms(discount_coupon(ctx, discount))])[0]
    for item, amount in zip(items, taken, strict=True):
        item["amount_discount"] = amount
        item["amount_total"] = item["amount_subtotal"] - amount
        item["discounts"] = [] if discount is None else [{"amount": amount, "discount": discount}]
    subtotal = sum(item["amount_subtotal"] for item in items)
    discounted = sum(taken)
    if starts_with_trial(session["_subscription_data"]):
        subtotal = discounted = 0
    session["amount_total"] = subtotal - discounted
    session["total_details"]["amount_discount"] = discounted


def checkout_session_present(
    ctx: Context, session: dict[str, Any], expand: list[str] | None = None
) -> dict[str, Any]:
    """The session as the API returns it; `line_items` and totals' breakdown when expanded."""
    paths = ctx.params.expand() if expand is None else expand
    shown = {k: v for k, v in copy.deepcopy(session).items() if not k.startswith("_")}
    heads = {path.split(".", 1)[0] for path in paths}
    if "line_items" in heads:
        shown["line_items"] = list_object(
            f"/v1/checkout/sessions/{session['id']}/line_items", session["_line_items"]
        )
    if "total_details.breakdown" in paths:
        discount = checkout_session_discount(ctx, session)
        discounts = []
        if discount is not None:
            amount = session["total_details"]["amount_discount"]
            discounts = [{"amount": amount, "discount": discount}]
        shown["total_details"]["breakdown"] = {"discounts": discounts, "taxes": []}
    return present(ctx.db, shown, [p for p in paths if p != "total_details.breakdown"])


def checkout_session_get(ctx: Context, session_id: str) -> dict[str, Any]:
    """The stored session (404 if unknown), expired first if its time has passed."""
    session = ctx.require("checkout.session", session_id)
    if session["status"] == "open" and ctx.now() >= session["expires_at"]:
        checkout_session_expire_now(ctx, session)
    return session


def checkout_session_expire_now(ctx: Context, session: dict[str, Any]) -> None:
    session["status"] = "expired"
    session["url"] = None
    ctx.db.save("checkout.session", session)
    events.emit(ctx, "checkout.session.expired", checkout_session_public(session))


def checkout_session_public(session: dict[str, Any]) -> dict[str, Any]:
    """The session without what it keeps for itself (`_line_items`, ...), as events show it."""
    return {k: v for k, v in session.items() if not k.startswith("_")}


@route("GET", "/v1/checkout/sessions/{id}")
def checkout_session_retrieve(ctx: Context) -> dict[str, Any]:
    return checkout_session_present(ctx, checkout_session_get(ctx, ctx.arg("id")))


@route("GET", "/v1/checkout/sessions/{id}/line_items")
def checkout_session_line_items(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown({"limit", "starting_after", "ending_before"})
    session = checkout_session_get(ctx, ctx.arg("id"))
    page = paginate(
        session["_line_items"],
        ctx.params,
        f"/v1/checkout/sessions/{session['id']}/line_items",
        label="line item",
    )
    return present(ctx.db, page, ctx.params.expand())


@route("POST", "/v1/checkout/sessions/{id}/expire")
def checkout_session_expire(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown(set())
    session = checkout_session_get(ctx, ctx.arg("id"))
    if session["status"] != "open":
        raise invalid_request(
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{session["status"]}".'
        )
    checkout_session_expire_now(ctx, session)
    return checkout_session_present(ctx, session)


@route("GET", "/v1/checkout/sessions")
def checkout_session_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"customer", "subscription", "status", "payment_intent", "created", "limit",
         "starting_after", "ending_before"}
    )  # fmt: skip
    customer = params.string("customer")
    subscription = params.string("subscription")
    status = params.string("status", choices=("open", "complete", "expired"))
    payment_intent = params.string("payment_intent")
    created = created_filter(params)
    sessions = [
        session
        for session in ctx.db.all("checkout.session")
        if (customer is None or session["customer"] == customer)
        and (subscription is None or session["subscription"] == subscription)
        and (status is None or session["status"] == status)
        and (payment_intent is None or session["payment_intent"] == payment_intent)
        and created(session["created"])
    ]
    page = paginate(sessions, params, "/v1/checkout/sessions", label="checkout session")
    page["data"] = [checkout_session_present(ctx, s, _inner(params.expand())) for s in page["data"]]
    return page


def _inner(paths: list[str]) -> list[str]:
    return [path[len("data.") :] for path in paths if path.startswith("data.")]


def success_url_for(session: dict[str, Any]) -> str:
    """The success URL with `{CHECKOUT_SESSION_ID}` replaced, as Stripe does."""
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
