"""The hosted Checkout page: what the customer buys, a card form, Pay and Back.

`GET /_hosted/checkout/{id}` shows an open session; `POST` pays it with one of Stripe's test
cards and redirects (303) to the session's success URL. Paying creates the customer, payment
method, subscription and first invoice through the same handlers the API uses, so the same
events fire, then completes the session (`checkout.session.completed`). A declined card is
shown on the page and leaves no trace; expired, completed and unknown sessions get a page
saying so.
"""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.calls import call_handler
from stripe_server.context import Context
from stripe_server.hosted.card_form import (
    CardEntry,
    CardFormError,
    attach_refusal,
    card_entry_from_form,
    charge_refusal,
)
from stripe_server.hosted.forms import form_value
from stripe_server.hosted.page import (
    RawResponse,
    escape,
    html_page,
    message_page,
    money,
    redirect,
)
from stripe_server.redirect_urls import safe_url
from stripe_server.resources.checkout_sessions import (
    checkout_session_get,
    checkout_session_public,
    success_url_for,
)
from stripe_server.resources.customers import customer_create
from stripe_server.resources.payment_methods import payment_method_attach, payment_method_new
from stripe_server.resources.subscriptions import subscription_create
from stripe_server.routing import route
from stripe_server.wire import StripeError, invalid_request


def interval_text(recurring: dict[str, Any]) -> str:
    """`month`, `3 months`, `year`: how often a recurring price bills."""
    count, interval = recurring["interval_count"], recurring["interval"]
    return interval if count == 1 else f"{count} {interval}s"


def _price_note(price: dict[str, Any]) -> str:
    if price["billing_scheme"] == "tiered":
        return f"{price.get('tiers_mode') or 'graduated'} tiered pricing"
    unit = money(int(float(price["unit_amount_decimal"] or price["unit_amount"] or 0)),
                 price["currency"])  # fmt: skip
    transform = price.get("transform_quantity")
    if transform:
        return f"{unit} per {transform['divide_by']} units"
    return f"{unit} each"


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
    session, page = _session_or_page(ctx)
    if page is not None:
        return page
    assert session is not None
    customer = ctx.db.get(session["customer"], "customer") if session["customer"] else None
    return _render(ctx, session, customer, values={}, error=None, error_field=None)


@route("POST", "/_hosted/checkout/{id}", public=True)
def checkout_pay(ctx: Context) -> RawResponse:
    session, page = _session_or_page(ctx)
    if page is not None:
        return page
    assert session is not None
    customer = ctx.db.get(session["customer"], "customer") if session["customer"] else None
    values = {
        key: form_value(ctx, key)
        for key in ("email", "card_number", "card_expiry", "card_cvc", "card_name")
    }

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
                name=values["card_name"] or None,
            )
    except StripeError as error:
        return failed(error.message, None, status=error.status)
    return redirect(success_url_for(session))


def checkout_session_complete(
    ctx: Context,
    session: dict[str, Any],
    *,
    entry: CardEntry,
    email: str | None,
    name: str | None,
) -> dict[str, Any]:
    """Pay an open session with a card the caller already checked will not be declined.

    Creates (or reuses) the customer, saves the card, starts the subscription (which invoices
    and charges through the billing lifecycle), then completes the session.
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
    billing_details = {
        "address": None,
        "email": email or customer["email"],
        "name": name or customer["name"],
        "phone": None,
        "tax_id": None,
    }
    payment_method = payment_method_new(
        ctx,
        entry.card,
        exp_month=entry.exp_month,
        exp_year=entry.exp_year,
        billing_details=billing_details,
    )
    payment_method_attach(ctx, payment_method, customer)
    data = session["_subscription_data"]
    subscription_params: dict[str, Any] = {
        "customer": customer["id"],
        "items": [
            {"price": item["price"]["id"], "quantity": str(item["quantity"])}
            for item in session["_line_items"]
        ],
        "default_payment_method": payment_method["id"],
        "payment_behavior": "error_if_incomplete",
    }
    if data.get("metadata"):
        subscription_params["metadata"] = data["metadata"]
    if data.get("trial_period_days"):
        subscription_params["trial_period_days"] = str(data["trial_period_days"])
    if data.get("description"):
        subscription_params["description"] = data["description"]
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
            "payment_status": "no_payment_required" if data.get("trial_period_days") else "paid",
            "status": "complete",
            "subscription": subscription["id"],
            # A session that is over has no page to send the customer to.
            "url": None,
        }
    )
    ctx.db.save("checkout.session", session)
    events.emit(ctx, "checkout.session.completed", checkout_session_public(session))
    return session


def _field(
    *,
    name: str,
    label: str,
    value: str,
    error_field: str | None,
    input_type: str = "text",
    autocomplete: str,
    extra: str = "",
) -> str:
    invalid = ' aria-invalid="true" aria-describedby="form-error"' if error_field == name else ""
    return (
        f'<div><label for="{name}">{escape(label)}</label>'
        f'<input type="{input_type}" id="{name}" name="{name}" value="{escape(value)}" '
        f'autocomplete="{autocomplete}"{invalid} {extra}></div>'
    )


def _render(
    ctx: Context,
    session: dict[str, Any],
    customer: dict[str, Any] | None,
    *,
    values: dict[str, str],
    error: str | None,
    error_field: str | None,
    status: int = 200,
) -> RawResponse:
    currency = session["currency"]
    trial_days = session["_subscription_data"].get("trial_period_days")
    rows = []
    recurring_total = 0
    interval = ""
    for item in session["_line_items"]:
        price = ctx.db.get(item["price"]["id"], "price") or item["price"]
        interval = interval_text(price["recurring"])
        recurring_total += item["amount_total"]
        rows.append(
            "<tr>"
            f'<td>{escape(item["description"])}<br><span class="muted">Qty {item["quantity"]}'
            f" · {escape(_price_note(price))} · billed every {escape(interval)}</span></td>"
            f'<td class="amount">{escape(money(item["amount_total"], currency))}</td>'
            "</tr>"
        )
    due_today = session["amount_total"]
    summary = ""
    if trial_days:
        summary = (
            f'<p class="notice">{trial_days} days free, then '
            f"{escape(money(recurring_total, currency))} every {escape(interval)}.</p>"
        )
    rows.append(
        f'<tr class="total"><td>Total due today</td>'
        f'<td class="amount" id="total-due">{escape(money(due_today, currency))}</td></tr>'
    )
    error_html = (
        f'<div class="error" role="alert" id="form-error">{escape(error)}</div>' if error else ""
    )
    if customer is not None:
        who = f'<p class="muted">Paying as {escape(customer["email"] or customer["id"])}</p>'
    elif session["customer_email"]:
        who = (
            '<div><label for="email">Email</label><input type="email" id="email" name="email" '
            f'value="{escape(session["customer_email"])}" readonly></div>'
        )
    else:
        who = _field(
            name="email",
            label="Email",
            value=values.get("email", ""),
            error_field=error_field,
            input_type="email",
            autocomplete="email",
            extra="required",
        )
    cancel = safe_url(session["cancel_url"])
    back = f'<a class="button secondary" href="{escape(cancel)}">Back</a>' if cancel else ""
    pay_label = "Start trial" if trial_days else f"Pay {money(due_today, currency)}"
    body = f"""
<div class="card">
<h1>Subscribe</h1>
<table aria-label="Order summary">
<thead><tr><th>Item</th><th class="amount">Amount</th></tr></thead>
<tbody>{"".join(rows)}</tbody>
</table>
{summary}
</div>
<div class="card">
<h2>Pay with card</h2>
{error_html}
<form method="post" action="/_hosted/checkout/{escape(session["id"])}" novalidate>
{who}
{
        _field(
            name="card_number",
            label="Card number",
            value=values.get("card_number", ""),
            error_field=error_field,
            autocomplete="cc-number",
            extra='inputmode="numeric" placeholder="4242 4242 4242 4242" required',
        )
    }
<div class="row">
{
        _field(
            name="card_expiry",
            label="Expiry (MM / YY)",
            value=values.get("card_expiry", ""),
            error_field=error_field,
            autocomplete="cc-exp",
            extra='placeholder="12 / 34" required',
        )
    }
{
        _field(
            name="card_cvc",
            label="CVC",
            value=values.get("card_cvc", ""),
            error_field=error_field,
            autocomplete="cc-csc",
            extra='inputmode="numeric" placeholder="123" required',
        )
    }
</div>
{
        _field(
            name="card_name",
            label="Name on card",
            value=values.get("card_name", ""),
            error_field=error_field,
            autocomplete="cc-name",
        )
    }
<p class="muted">Test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined,
4000 0000 0000 0341 saves but its later payments fail. Any future expiry, any CVC.</p>
<div class="actions">
<button type="submit">{escape(pay_label)}</button>
{back}
</div>
</form>
</div>
"""
    return html_page("Checkout", body, status=status)
