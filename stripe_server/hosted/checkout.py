"""The hosted Checkout page: what the customer buys, a card form, Pay and Back.

`GET /_hosted/checkout/{id}` shows an open session; `POST` pays it with one of Stripe's test
cards and redirects (303) to the session's success URL. A session with
`payment_method_collection=if_required` and nothing due today (a free trial, or a discount
that takes it all) asks for no card: Start trial subscribes the customer without one. Paying
creates the customer, payment method, subscription and first invoice through the same handlers
the API uses, so the same events fire, then completes the session
(`checkout.session.completed`). A declined card is shown on the page and leaves no trace;
expired, completed and unknown sessions get a page saying so.

With `allow_promotion_codes`, the page has a promotion code field:
`POST /_hosted/checkout/{id}/promotion_code` checks the code as Stripe would redeem it for this
purchase and applies it to the session (303 back to the page, which shows the discount and the
new total), or shows on the page why it cannot (400); `remove=1` takes it off again. The
subscription the payment starts redeems it.
"""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.amounts import is_metered
from stripe_server.calls import call_handler
from stripe_server.context import Context
from stripe_server.frozen_time import clock_context
from stripe_server.hosted.card_form import (
    CARD_FIELDS,
    CardEntry,
    CardFormError,
    attach_refusal,
    card_entry_from_form,
    card_entry_save,
    charge_refusal,
)
from stripe_server.hosted.forms import field_errors, form_error, form_value
from stripe_server.hosted.page import (
    RawResponse,
    billed_text,
    coupon_off_text,
    date_text,
    html_page,
    message_page,
    money,
    per_interval_text,
    redirect,
)
from stripe_server.hosted.price_text import price_terms
from stripe_server.hosted.render import EMPTY, Html, join, render
from stripe_server.lifecycle.discounts import DiscountRequest
from stripe_server.lifecycle.redemptions import (
    Refusal,
    coupon_of,
    discount_coupon,
    promotion_code_coupon_id,
    promotion_code_refusal,
)
from stripe_server.redirect_urls import safe_url
from stripe_server.resources.checkout_sessions import (
    CHECKOUT_PATH,
    checkout_purchase,
    checkout_session_amounts_set,
    checkout_session_discount,
    checkout_session_discount_set,
    checkout_session_get,
    checkout_session_public,
    starts_with_trial,
    success_url_for,
)
from stripe_server.resources.customers import customer_create
from stripe_server.resources.promotion_codes import promotion_code_find
from stripe_server.resources.subscriptions import subscription_create
from stripe_server.routing import route
from stripe_server.wire import StripeError, invalid_request

# What Checkout tells a customer whose promotion code cannot be used.
_INVALID_CODE = "This code is invalid."
_REFUSALS = {
    Refusal.EXPIRED: "This code has expired.",
    Refusal.USED_UP: "This code has already been used the maximum number of times.",
    Refusal.FIRST_TIME_ONLY: "This code is only for first-time customers.",
    Refusal.NO_ITEMS_APPLY: "This code does not apply to the items you are buying.",
}


def _price_note(price: dict[str, Any]) -> str:
    if price["billing_scheme"] == "tiered":
        return f"{price.get('tiers_mode') or 'graduated'} tiered pricing"
    unit = money(int(float(price["unit_amount_decimal"] or price["unit_amount"] or 0)),
                 price["currency"])  # fmt: skip
    transform = price.get("transform_quantity")
    if transform:
        return f"{unit} per {transform['divide_by']} units"
    return f"{unit} each"


def _subscription_item(line_item: dict[str, Any]) -> dict[str, str]:
    """The subscription item a line item starts (a metered one with no quantity)."""
    if line_item["quantity"] is None:
        return {"price": line_item["price"]["id"]}
    return {"price": line_item["price"]["id"], "quantity": str(line_item["quantity"])}


def collects_card(session: dict[str, Any]) -> bool:
    """Whether the page asks for a card: always, unless the session collects one only if
    required (`payment_method_collection=if_required`) and nothing is due today."""
    return session["payment_method_collection"] != "if_required" or session["amount_total"] > 0


def _free_time(subscription_data: dict[str, Any]) -> str:
    """`14 days free` or `Free until March 5, 2026`: the trial, as Checkout words it."""
    if subscription_data.get("trial_end"):
        return f"Free until {date_text(subscription_data['trial_end'])}"
    return f"{subscription_data['trial_period_days']} days free"


def _session_or_page(ctx: Context) -> tuple[dict[str, Any] | None, RawResponse | None]:
    try:
        session = checkout_session_get(ctx, ctx.arg("id"))
    except StripeError:
        return None, message_page(
            "Checkout not found",
            "This checkout link is not valid. Start again from the site you came from.",
            status=404,
        )
    if session["status"] == "expired":
        return None, message_page(
            "This checkout session has expired",
            "The time to pay on this page has run out, so nothing was charged. Start again "
            "from the site you came from.",
            link=session["cancel_url"],
            status=410,
        )
    if session["status"] == "complete":
        return None, message_page(
            "You're all done here",
            "This checkout session is already complete; your subscription is active.",
            link=success_url_for(session),
        )
    return session, None


@route("GET", "/_hosted/checkout/{id}", public=True)
def checkout_page(ctx: Context) -> RawResponse:
    """The open session's items, total and card form (or a page saying why there is none)."""
    session, page = _session_or_page(ctx)
    if page is not None:
        return page
    assert session is not None
    customer = ctx.db.get(session["customer"], "customer") if session["customer"] else None
    return _render(ctx, session, customer, values={}, error=None, error_field=None)


@route("POST", "/_hosted/checkout/{id}/promotion_code", public=True)
def checkout_promotion_code(ctx: Context) -> RawResponse:
    """Apply the typed promotion code to the session (or, with `remove`, take it off) and go
    back to the page; a code that cannot be used is explained on the page."""
    session, page = _session_or_page(ctx)
    if page is not None:
        return page
    assert session is not None
    if not session["allow_promotion_codes"]:
        return message_page(
            "Promotion codes are not accepted here",
            "This checkout does not take promotion codes.",
            status=400,
        )
    customer = ctx.db.get(session["customer"], "customer") if session["customer"] else None
    if form_value(ctx, "remove"):
        checkout_session_discount_set(ctx, session, None)
        ctx.db.save("checkout.session", session)
        return redirect(f"{CHECKOUT_PATH}/{session['id']}")
    code = form_value(ctx, "promotion_code")
    promotion_code = promotion_code_find(ctx, code, customer) if code else None
    refusal = _code_refusal(ctx, session, customer, promotion_code)
    if refusal is not None:
        return _render(
            ctx,
            session,
            customer,
            values={"promotion_code": code},
            error=None,
            error_field="promotion_code",
            code_error=refusal,
            status=400,
        )
    assert promotion_code is not None
    coupon = coupon_of(ctx, promotion_code_coupon_id(promotion_code))
    request = DiscountRequest(coupon=coupon, promotion_code=promotion_code)
    checkout_session_discount_set(ctx, session, request)
    ctx.db.save("checkout.session", session)
    return redirect(f"{CHECKOUT_PATH}/{session['id']}")


def _code_refusal(
    ctx: Context,
    session: dict[str, Any],
    customer: dict[str, Any] | None,
    promotion_code: dict[str, Any] | None,
) -> str | None:
    """What to tell the customer when the promotion code cannot be used for this session, in
    Checkout's words; None if it can."""
    if promotion_code is None:
        return _INVALID_CODE
    # A test clock's customer redeems at the clock's time, as the subscription will.
    on_time = clock_context(ctx, customer.get("test_clock")) if customer else ctx
    refusal = promotion_code_refusal(
        on_time, promotion_code, checkout_purchase(customer, session["_line_items"])
    )
    if refusal is None:
        return None
    if refusal is Refusal.MINIMUM_AMOUNT:
        restrictions = promotion_code["restrictions"]
        minimum = money(restrictions["minimum_amount"], restrictions["minimum_amount_currency"])
        return f"This code requires an order of at least {minimum}."
    return _REFUSALS.get(refusal, _INVALID_CODE)


@route("POST", "/_hosted/checkout/{id}", public=True)
def checkout_pay(ctx: Context) -> RawResponse:
    """Pay with the typed card and go to the success URL; a refused card stays on the page."""
    session, page = _session_or_page(ctx)
    if page is not None:
        return page
    assert session is not None
    customer = ctx.db.get(session["customer"], "customer") if session["customer"] else None
    values = {key: form_value(ctx, key) for key in ("email", *CARD_FIELDS)}

    def failed(message: str, field: str | None, status: int = 400) -> RawResponse:
        return _render(
            ctx, session, customer, values=values, error=message, error_field=field, status=status
        )

    email = values["email"] or session["customer_email"] or ""
    if customer is None:
        if session["customer_email"]:
            email = session["customer_email"]
        elif not email:
            return failed("Enter your email address.", "email")
        elif "@" not in email or len(email) > 254 or " " in email:
            return failed("Your email address is invalid.", "email")
    applied = (session["discounts"] or [{}])[0].get("promotion_code")
    if applied:
        promotion_code = ctx.db.get(applied, "promotion_code")
        refusal = _code_refusal(ctx, session, customer, promotion_code)
        if refusal is not None:
            # The code stopped being usable since it was applied: it comes off, and the page
            # says why, with the total without it.
            checkout_session_discount_set(ctx, session, None)
            ctx.db.save("checkout.session", session)
            return _render(
                ctx,
                session,
                customer,
                values=values,
                error=None,
                error_field="promotion_code",
                code_error=refusal,
                status=400,
            )
    entry = None
    if collects_card(session):
        try:
            entry = card_entry_from_form(values, now=ctx.now())
        except CardFormError as error:
            return failed(error.message, error.field)
        if len(values["card_name"]) > 200:
            return failed("The name on the card is too long.", "card_name")
        bills_now = session["amount_total"] > 0
        refusal = attach_refusal(entry) or (charge_refusal(entry) if bills_now else None)
        if refusal:
            return failed(refusal, "card_number", status=402)
    try:
        with ctx.db.savepoint("checkout_pay"):
            checkout_session_complete(
                ctx,
                session,
                entry=entry,
                email=email or None,
                name=(values["card_name"] if entry else "") or None,
            )
    except StripeError as error:
        return failed(error.message, None, status=error.status)
    return redirect(success_url_for(session))


def checkout_session_complete(
    ctx: Context,
    session: dict[str, Any],
    *,
    entry: CardEntry | None,
    email: str | None,
    name: str | None,
) -> dict[str, Any]:
    """Pay an open session with a card the caller already checked will not be declined (or
    with none, when the session collects no card).

    Creates (or reuses) the customer, saves the card as the subscription's default payment
    method, starts the subscription (which invoices and charges through the billing
    lifecycle), then completes the session.
    """
    if session["status"] != "open":
        raise invalid_request(f"This Checkout Session is {session['status']}.")
    if session["customer"]:
        customer = ctx.require("customer", session["customer"])
    else:
        created = call_handler(
            ctx,
            customer_create,
            {"email": email or "", "name": name or ""},
        )
        customer = ctx.require("customer", created["id"])
    data = session["_subscription_data"]
    subscription_params: dict[str, Any] = {
        "customer": customer["id"],
        "items": [_subscription_item(item) for item in session["_line_items"]],
        "payment_behavior": "error_if_incomplete",
    }
    if entry is not None:
        payment_method = card_entry_save(ctx, entry, customer=customer, name=name, email=email)
        subscription_params["default_payment_method"] = payment_method["id"]
    if data.get("metadata"):
        subscription_params["metadata"] = data["metadata"]
    if data.get("trial_period_days"):
        subscription_params["trial_period_days"] = str(data["trial_period_days"])
    if data.get("trial_end"):
        subscription_params["trial_end"] = str(data["trial_end"])
    if data.get("trial_settings"):
        subscription_params["trial_settings"] = data["trial_settings"]
    if data.get("description"):
        subscription_params["description"] = data["description"]
    if session["discounts"]:
        applied = session["discounts"][0]
        subscription_params["discounts"] = [
            {"promotion_code": applied["promotion_code"]}
            if applied["promotion_code"]
            else {"coupon": applied["coupon"]}
        ]
    subscription = call_handler(ctx, subscription_create, subscription_params)
    customer = ctx.require("customer", customer["id"])
    session.update(
        {
            "customer": customer["id"],
            "customer_details": {
                "address": customer["address"],
                "business_name": None,
                "email": customer["email"],
                "individual_name": None,
                "name": customer["name"],
                "phone": customer["phone"],
                "tax_exempt": customer["tax_exempt"],
                "tax_ids": [],
            },
            "invoice": subscription["latest_invoice"],
            "payment_status": "no_payment_required" if session["amount_total"] == 0 else "paid",
            "status": "complete",
            "subscription": subscription["id"],
            # A session that is over has no page to send the customer to.
            "url": None,
        }
    )
    # Line items and totals now name the discount the subscription redeemed.
    checkout_session_amounts_set(ctx, session)
    ctx.db.save("checkout.session", session)
    events.emit(ctx, "checkout.session.completed", checkout_session_public(session))
    return session


def _render(
    ctx: Context,
    session: dict[str, Any],
    customer: dict[str, Any] | None,
    *,
    values: dict[str, str],
    error: str | None,
    error_field: str | None,
    code_error: str | None = None,
    status: int = 200,
) -> RawResponse:
    currency = session["currency"]
    data = session["_subscription_data"]
    lines = []
    recurring_total = 0
    recurring: dict[str, Any] = {}
    for item in session["_line_items"]:
        price = ctx.db.get(item["price"]["id"], "price") or item["price"]
        recurring = price["recurring"]
        recurring_total += item["amount_total"]
        if is_metered(price):
            product = ctx.db.get(price["product"], "product") or {}
            lines.append(
                render(
                    "checkout/usage_line.html",
                    description=item["description"],
                    terms=price_terms(price, product),
                    billed=billed_text(recurring),
                    amount=money(item["amount_total"], currency),
                )
            )
            continue
        lines.append(
            render(
                "checkout/line.html",
                description=item["description"],
                quantity=item["quantity"],
                price_note=_price_note(price),
                billed=billed_text(recurring),
                amount=money(item["amount_total"], currency),
            )
        )
    due_today = session["amount_total"]
    discount_row = _discount_row(ctx, session)
    trial = EMPTY
    if starts_with_trial(data):
        trial = render(
            "checkout/trial.html",
            free=_free_time(data),
            amount=money(recurring_total, currency),
            per_interval=per_interval_text(recurring),
        )
    if customer is not None:
        payer = render("checkout/paying_as.html", who=customer["email"] or customer["id"])
    elif session["customer_email"]:
        payer = render("checkout/email_fixed.html", email=session["customer_email"])
    else:
        payer = render(
            "checkout/email.html",
            email=values.get("email", ""),
            **field_errors(("email",), error_field, error),
        )
    cancel = safe_url(session["cancel_url"])
    card = collects_card(session)
    card_fields = EMPTY
    if card:
        card_fields = render(
            "checkout/card_fields.html",
            **{name: values.get(name, "") for name in CARD_FIELDS},
            **field_errors(CARD_FIELDS, error_field, error),
        )
    body = render(
        "checkout/page.html",
        lines=join(lines),
        discount=discount_row,
        due_today=money(due_today, currency),
        trial=trial,
        promotion_code=_promotion_code_form(session, values, code_error),
        form_heading="Pay with card" if card else "Start your free trial",
        error=form_error(error, field=error_field),
        action=f"{CHECKOUT_PATH}/{session['id']}",
        payer=payer,
        card_fields=card_fields,
        pay_label="Start trial" if starts_with_trial(data) else f"Pay {money(due_today, currency)}",
        back=render("checkout/back.html", url=cancel) if cancel else EMPTY,
    )
    return html_page("Checkout", body, status=status)


def _discount_row(ctx: Context, session: dict[str, Any]) -> Html:
    """The summary's row for the session's discount: what it is and, unless the subscription
    starts with a free trial, what it takes off today."""
    discount = checkout_session_discount(ctx, session)
    if discount is None:
        return EMPTY
    coupon = discount_coupon(ctx, discount)
    promotion_code = ctx.db.get(discount["promotion_code"] or "", "promotion_code")
    taken = sum(item["amount_discount"] for item in session["_line_items"])
    trial = starts_with_trial(session["_subscription_data"])
    return render(
        "checkout/discount.html",
        label=promotion_code["code"] if promotion_code else coupon["name"] or coupon["id"],
        terms=_coupon_text(coupon),
        amount="" if trial else money(-taken, session["currency"]),
    )


def _coupon_text(coupon: dict[str, Any]) -> str:
    """`20% off`, `$5.00 off for 3 months`, `20% off the first payment`: a coupon in words."""
    off = coupon_off_text(coupon)
    if coupon["duration"] == "once":
        return f"{off} the first payment"
    if coupon["duration"] == "repeating":
        months = coupon["duration_in_months"]
        return f"{off} for {months} month{'s' if months != 1 else ''}"
    return off


def _promotion_code_form(
    session: dict[str, Any], values: dict[str, str], code_error: str | None
) -> Html:
    """The promotion code field (with Apply), or the applied code (with Remove); nothing when
    the session does not take codes."""
    if not session["allow_promotion_codes"]:
        return EMPTY
    action = f"{CHECKOUT_PATH}/{session['id']}/promotion_code"
    if session["discounts"] and not code_error:
        return render("checkout/promotion_code_applied.html", action=action)
    return render(
        "checkout/promotion_code.html",
        action=action,
        code=values.get("promotion_code", ""),
        **field_errors(("promotion_code",), "promotion_code", code_error),
    )
