"""The hosted Customer Portal: a customer's subscriptions, plan and quantity changes,
cancelling and resuming, replacing the card, and Return.

Every change goes through the API's own subscription and customer handlers, so it emits the
same `customer.subscription.updated` / `deleted` events (with `previous_attributes`) a direct
API call would. What a customer may do comes from the session's portal configuration; a
session with `flow` opens on that flow's screen and, once done, follows `after_completion`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from stripe_server.amounts import price_amount
from stripe_server.calls import call_handler
from stripe_server.context import Context
from stripe_server.hosted.card_form import (
    CARD_FIELDS,
    CardFormError,
    attach_refusal,
    card_entry_from_form,
)
from stripe_server.hosted.checkout import interval_text
from stripe_server.hosted.forms import form_value
from stripe_server.hosted.page import (
    RawResponse,
    html_page,
    message_page,
    money,
    redirect,
)
from stripe_server.hosted.render import Html, escape
from stripe_server.lifecycle.subscriptions import LIVE_STATUSES
from stripe_server.redirect_urls import safe_url
from stripe_server.resources.billing_portal import CANCELLATION_REASONS, PORTAL_PATH
from stripe_server.routing import route
from stripe_server.wire import StripeError

NOTICES = {
    "updated": "Your plan has been updated.",
    "canceled": "Your plan has been canceled.",
    "scheduled": "Your plan will be canceled at the end of the billing period.",
    "resumed": "Your plan will renew as usual.",
    "card": "Your payment method has been updated.",
}
REASON_LABELS = {
    "customer_service": "Customer service was less than expected",
    "low_quality": "Quality was less than expected",
    "missing_features": "Some features are missing",
    "other": "Other reason",
    "switched_service": "I'm switching to a different service",
    "too_complex": "Ease of use was less than expected",
    "too_expensive": "It's too expensive",
    "unused": "I don't use the service enough",
}


class _NotFound(Exception):
    pass


def _date(timestamp: int | None) -> str:
    if not timestamp:
        return ""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%B %-d, %Y")


def _session(ctx: Context) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    session = ctx.db.get(ctx.arg("id"), "billing_portal.session")
    if session is None:
        raise _NotFound
    customer = ctx.db.get(session["customer"], "customer")
    configuration = ctx.db.get(session["configuration"], "billing_portal.configuration")
    if customer is None or configuration is None:
        raise _NotFound
    return session, customer, configuration


def _subscription(ctx: Context, customer: dict[str, Any]) -> dict[str, Any]:
    subscription = ctx.db.get(ctx.arg("sub"), "subscription")
    if subscription is None or subscription["customer"] != customer["id"]:
        raise _NotFound
    return subscription


def _not_found() -> RawResponse:
    return message_page(
        "Portal link not found",
        "This billing portal link is not valid. Open the billing portal again from the site "
        "you came from.",
        status=404,
    )


def _base(session: dict[str, Any]) -> str:
    return f"{PORTAL_PATH}/{session['id']}"


def _after_action(session: dict[str, Any], flow_type: str, notice: str) -> RawResponse:
    """Where to go once an action succeeded: the flow's `after_completion`, else home."""
    flow = session["flow"]
    if flow is not None and flow["type"] == flow_type:
        after = flow["after_completion"]
        if after["type"] == "redirect" and after["redirect"]:
            return redirect(after["redirect"]["return_url"])
        if after["type"] == "hosted_confirmation":
            return redirect(f"{_base(session)}/done?notice={notice}")
    return redirect(f"{_base(session)}/home?notice={notice}")


def _return_link(session: dict[str, Any]) -> str:
    url = safe_url(session["return_url"])
    if url is None:
        return ""
    return f'<a class="button secondary" href="{escape(url)}">Return</a>'


def _error_html(error: str | None) -> str:
    return f'<div class="error" role="alert" id="form-error">{escape(error)}</div>' if error else ""


def _item_summary(ctx: Context, item: dict[str, Any]) -> str:
    price = ctx.db.get(item["price"]["id"], "price") or item["price"]
    product = ctx.db.get(price["product"], "product") or {}
    amount = price_amount(price, item["quantity"])
    return (
        f"{escape(product.get('name') or price['product'])} · "
        f"{escape(money(amount, price['currency']))} every "
        f"{escape(interval_text(price['recurring']))}"
        + (f" · Qty {item['quantity']}" if item["quantity"] != 1 else "")
    )


def _status_line(subscription: dict[str, Any]) -> str:
    if subscription["status"] == "trialing":
        return f"Trial ends {_date(subscription['trial_end'])}"
    if subscription["cancel_at_period_end"]:
        return f"Cancels {_date(subscription['current_period_end'])}"
    if subscription["status"] == "past_due":
        return "Payment past due"
    return f"Renews {_date(subscription['current_period_end'])}"


# --- home -----------------------------------------------------------------------------------


@route("GET", "/_hosted/portal/{id}", public=True)
def portal_entry(ctx: Context) -> RawResponse:
    """The session's URL: its flow's screen when it has one, else the portal's home."""
    try:
        session, customer, configuration = _session(ctx)
    except _NotFound:
        return _not_found()
    flow = session["flow"]
    if flow is not None and not session.get("_flow_done"):
        if flow["type"] == "payment_method_update":
            return _payment_method_page(session, customer, values={}, error=None)
        if flow["type"] == "subscription_cancel":
            subscription = ctx.db.get(flow["subscription_cancel"]["subscription"], "subscription")
            if subscription is not None and subscription["status"] in LIVE_STATUSES:
                return _cancel_page(ctx, session, configuration, subscription, error=None)
        if flow["type"] == "subscription_update":
            subscription = ctx.db.get(flow["subscription_update"]["subscription"], "subscription")
            if subscription is not None and subscription["status"] in LIVE_STATUSES:
                return _update_page(ctx, session, configuration, subscription, error=None)
        if flow["type"] == "subscription_update_confirm":
            confirm = flow["subscription_update_confirm"]
            subscription = ctx.db.get(confirm["subscription"], "subscription")
            if subscription is not None and subscription["status"] in LIVE_STATUSES:
                return _update_page(
                    ctx, session, configuration, subscription, error=None, proposed=confirm
                )
    return _home(ctx, session, customer, configuration)


@route("GET", "/_hosted/portal/{id}/home", public=True)
def portal_home(ctx: Context) -> RawResponse:
    try:
        session, customer, configuration = _session(ctx)
    except _NotFound:
        return _not_found()
    return _home(ctx, session, customer, configuration)


@route("GET", "/_hosted/portal/{id}/done", public=True)
def portal_done(ctx: Context) -> RawResponse:
    try:
        session, _customer, _configuration = _session(ctx)
    except _NotFound:
        return _not_found()
    flow = session["flow"] or {}
    confirmation = (flow.get("after_completion") or {}).get("hosted_confirmation") or {}
    message = confirmation.get("custom_message") or NOTICES.get(
        form_value(ctx, "notice"), "All done."
    )
    body = (
        f'<div class="card"><h1>Done</h1><p class="notice" role="status">{escape(message)}</p>'
        f'<div class="actions">{_return_link(session)}'
        f'<a class="button secondary" href="{_base(session)}/home">Back to billing</a></div></div>'
    )
    return html_page("Billing", Html(body))


def _home(
    ctx: Context,
    session: dict[str, Any],
    customer: dict[str, Any],
    configuration: dict[str, Any],
) -> RawResponse:
    features = configuration["features"]
    base = _base(session)
    notice = NOTICES.get(form_value(ctx, "notice"))
    notice_html = f'<div class="notice" role="status">{escape(notice)}</div>' if notice else ""
    subscriptions = [
        s
        for s in ctx.db.all("subscription")
        if s["customer"] == customer["id"] and s["status"] in LIVE_STATUSES
    ]
    cards = []
    for subscription in subscriptions:
        items = "<br>".join(_item_summary(ctx, item) for item in subscription["items"]["data"])
        actions = []
        sub_base = f"{base}/subscriptions/{escape(subscription['id'])}"
        if features["subscription_update"]["enabled"]:
            actions.append(f'<a class="button" href="{sub_base}/update">Update plan</a>')
        if subscription["cancel_at_period_end"]:
            actions.append(
                f'<form method="post" action="{sub_base}/resume">'
                '<button type="submit">Renew plan</button></form>'
            )
        elif features["subscription_cancel"]["enabled"]:
            actions.append(f'<a class="button secondary" href="{sub_base}/cancel">Cancel plan</a>')
        cards.append(
            f'<div class="card subscription" data-subscription="{escape(subscription["id"])}">'
            f"<h2>Current plan</h2><p>{items}</p>"
            f'<p><span class="badge">{escape(subscription["status"])}</span> '
            f'<span class="muted">{escape(_status_line(subscription))}</span></p>'
            f'<div class="actions">{"".join(actions)}</div></div>'
        )
    if not cards:
        cards.append('<div class="card"><h2>Current plan</h2><p>No active plan.</p></div>')
    payment_html = ""
    if features["payment_method_update"]["enabled"]:
        default_id = customer["invoice_settings"]["default_payment_method"] or next(
            (s["default_payment_method"] for s in subscriptions if s["default_payment_method"]),
            None,
        )
        payment_method = ctx.db.get(default_id, "payment_method") if default_id else None
        if payment_method is not None:
            card = payment_method["card"]
            described = (
                f"{escape(card['brand'].title())} •••• {escape(card['last4'])}, expires "
                f"{card['exp_month']:02d}/{card['exp_year']}"
            )
        else:
            described = "No payment method on file."
        payment_html = (
            f'<div class="card"><h2>Payment method</h2><p id="payment-method">{described}</p>'
            f'<div class="actions"><a class="button secondary" href="{base}/payment-method">'
            "Update payment method</a></div></div>"
        )
    invoices_html = ""
    if features["invoice_history"]["enabled"]:
        invoices = [i for i in ctx.db.all("invoice") if i["customer"] == customer["id"]][:10]
        rows = "".join(
            f"<tr><td>{escape(_date(i['created']))}</td>"
            f'<td class="amount">{escape(money(i["total"], i["currency"]))}</td>'
            f"<td>{escape(i['status'])}</td></tr>"
            for i in invoices
        )
        invoices_html = (
            '<div class="card"><h2>Invoice history</h2>'
            + (
                f'<table aria-label="Invoices"><thead><tr><th>Date</th><th class="amount">'
                f"Amount</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>"
                if rows
                else "<p>No invoices yet.</p>"
            )
            + "</div>"
        )
    who = escape(customer["name"] or customer["email"] or customer["id"])
    body = (
        f'<div class="card"><h1>Billing</h1><p class="muted">{who}</p>{notice_html}'
        f'<div class="actions">{_return_link(session)}</div></div>'
        f"{''.join(cards)}{payment_html}{invoices_html}"
    )
    return html_page("Billing", Html(body))


# --- change plan or quantity ------------------------------------------------------------------


def allowed_prices(
    ctx: Context, configuration: dict[str, Any], subscription: dict[str, Any]
) -> list[dict[str, Any]]:
    """The active prices the configuration lets this subscription switch to, same currency."""
    prices = []
    for entry in configuration["features"]["subscription_update"]["products"]:
        for price_id in entry["prices"]:
            price = ctx.db.get(price_id, "price")
            if (
                price is not None
                and price["active"]
                and price["type"] == "recurring"
                and price["currency"] == subscription["currency"]
            ):
                prices.append(price)
    return prices


def _update_page(
    ctx: Context,
    session: dict[str, Any],
    configuration: dict[str, Any],
    subscription: dict[str, Any],
    *,
    error: str | None,
    proposed: dict[str, Any] | None = None,
    status: int = 200,
) -> RawResponse:
    feature = configuration["features"]["subscription_update"]
    base = _base(session)
    item = subscription["items"]["data"][0]
    chosen_price = item["price"]["id"]
    chosen_quantity = item["quantity"]
    if proposed is not None:
        chosen_price = proposed["items"][0]["price"] or chosen_price
        chosen_quantity = proposed["items"][0]["quantity"] or chosen_quantity
    parts = []
    if "price" in feature["default_allowed_updates"]:
        options = []
        prices = allowed_prices(ctx, configuration, subscription)
        if not any(p["id"] == item["price"]["id"] for p in prices):
            current = ctx.db.get(item["price"]["id"], "price")
            if current is not None:
                prices.insert(0, current)
        for index, price in enumerate(prices):
            product = ctx.db.get(price["product"], "product") or {}
            label = (
                f"{product.get('name') or price['product']}"
                + (f" ({price['nickname']})" if price["nickname"] else "")
                + f" — {money(price_amount(price, chosen_quantity), price['currency'])}"
                f" every {interval_text(price['recurring'])}"
                + (" (current)" if price["id"] == item["price"]["id"] else "")
            )
            checked = " checked" if price["id"] == chosen_price else ""
            options.append(
                f'<label class="choice" for="price-{index}"><input type="radio" id="price-{index}" '
                f'name="price" value="{escape(price["id"])}"{checked}> {escape(label)}</label>'
            )
        parts.append(f"<fieldset><legend>Plan</legend>{''.join(options)}</fieldset>")
    if "quantity" in feature["default_allowed_updates"]:
        parts.append(
            '<label for="quantity">Quantity</label><input type="number" id="quantity" '
            f'name="quantity" min="1" max="9999" value="{chosen_quantity}" required>'
        )
    if not parts:
        parts.append("<p>This plan cannot be changed here.</p>")
    body = (
        f'<div class="card"><h1>Update plan</h1>'
        f'<p class="muted">Current: {_item_summary(ctx, item)}</p>{_error_html(error)}'
        f'<form method="post" action="{base}/subscriptions/{escape(subscription["id"])}/update">'
        f'{"".join(parts)}<div class="actions"><button type="submit">Confirm</button>'
        f'<a class="button secondary" href="{base}/home">Back</a></div></form></div>'
    )
    return html_page("Update plan", Html(body), status=status)


@route("GET", "/_hosted/portal/{id}/subscriptions/{sub}/update", public=True)
def portal_update_form(ctx: Context) -> RawResponse:
    screen = _subscription_screen(ctx, title="Update plan", refusal_of=_update_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    return _update_page(ctx, session, configuration, subscription, error=None)


def _subscription_screen(
    ctx: Context,
    *,
    title: str,
    refusal_of: Callable[[dict[str, Any], dict[str, Any]], str | None],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | RawResponse:
    """The session, configuration and subscription an action screen works on, or the page that
    says why there is none: a 404, or a 400 with the configuration's refusal."""
    try:
        session, customer, configuration = _session(ctx)
        subscription = _subscription(ctx, customer)
    except _NotFound:
        return _not_found()
    refusal = refusal_of(configuration, subscription)
    if refusal:
        return message_page(title, refusal, link=session["return_url"], status=400)
    return session, configuration, subscription


def _update_refusal(configuration: dict[str, Any], subscription: dict[str, Any]) -> str | None:
    if not configuration["features"]["subscription_update"]["enabled"]:
        return "Plan changes are turned off in this portal's configuration."
    if subscription["status"] not in LIVE_STATUSES:
        return "This subscription has ended and cannot be changed."
    if len(subscription["items"]["data"]) != 1:
        return "This subscription has several items; the portal changes single-item plans only."
    return None


@route("POST", "/_hosted/portal/{id}/subscriptions/{sub}/update", public=True)
def portal_update(ctx: Context) -> RawResponse:
    from stripe_server.resources.subscriptions import subscription_update

    screen = _subscription_screen(ctx, title="Update plan", refusal_of=_update_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    feature = configuration["features"]["subscription_update"]
    item = subscription["items"]["data"][0]

    def failed(message: str) -> RawResponse:
        return _update_page(ctx, session, configuration, subscription, error=message, status=400)

    change: dict[str, str] = {"id": item["id"]}
    price_id = form_value(ctx, "price")
    if price_id and price_id != item["price"]["id"]:
        if "price" not in feature["default_allowed_updates"]:
            return failed("Changing the plan is not allowed here.")
        if price_id not in {p["id"] for p in allowed_prices(ctx, configuration, subscription)}:
            return failed("Choose one of the plans listed.")
        change["price"] = price_id
    quantity_text = form_value(ctx, "quantity")
    if quantity_text:
        if not quantity_text.isdigit() or not 1 <= int(quantity_text) <= 9999:
            return failed("Enter a quantity between 1 and 9999.")
        if int(quantity_text) != item["quantity"]:
            if "quantity" not in feature["default_allowed_updates"]:
                return failed("Changing the quantity is not allowed here.")
            change["quantity"] = str(int(quantity_text))
    if len(change) == 1:
        return failed("Nothing to change: pick a different plan or quantity.")
    params: dict[str, Any] = {
        "items": [change],
        "proration_behavior": feature["proration_behavior"],
    }
    if subscription["status"] == "trialing" and feature["trial_update_behavior"] == "end_trial":
        params["trial_end"] = "now"
    try:
        with ctx.db.savepoint("portal_update"):
            call_handler(ctx, subscription_update, params, path_args={"id": subscription["id"]})
    except StripeError as error:
        return failed(error.message)
    _mark_flow_done(ctx, session, ("subscription_update", "subscription_update_confirm"))
    flow_type = session["flow"]["type"] if session["flow"] else "subscription_update"
    return _after_action(session, flow_type, "updated")


def _mark_flow_done(ctx: Context, session: dict[str, Any], flow_types: tuple[str, ...]) -> None:
    if session["flow"] is not None and session["flow"]["type"] in flow_types:
        session["_flow_done"] = True
        ctx.db.save("billing_portal.session", session)


# --- cancel and resume ----------------------------------------------------------------------


def _cancel_page(
    ctx: Context,
    session: dict[str, Any],
    configuration: dict[str, Any],
    subscription: dict[str, Any],
    *,
    error: str | None,
    status: int = 200,
) -> RawResponse:
    feature = configuration["features"]["subscription_cancel"]
    base = _base(session)
    if feature["mode"] == "immediately":
        explain = "Your plan will be canceled now and you will lose access right away."
    else:
        explain = (
            "Your plan will be canceled, but stays available until the end of your billing "
            f"period on {_date(subscription['current_period_end'])}."
        )
    reasons = ""
    if feature["cancellation_reason"]["enabled"]:
        options = "".join(
            f'<label class="choice" for="reason-{value}"><input type="radio" id="reason-{value}" '
            f'name="reason" value="{value}"> {escape(REASON_LABELS[value])}</label>'
            for value in feature["cancellation_reason"]["options"]
        )
        reasons = (
            f"<fieldset><legend>Why are you canceling? (optional)</legend>{options}</fieldset>"
        )
    items = "<br>".join(_item_summary(ctx, item) for item in subscription["items"]["data"])
    body = (
        f'<div class="card"><h1>Cancel your plan</h1><p>{items}</p><p>{escape(explain)}</p>'
        f"{_error_html(error)}"
        f'<form method="post" action="{base}/subscriptions/{escape(subscription["id"])}/cancel">'
        f'{reasons}<div class="actions"><button type="submit" class="danger">Cancel plan</button>'
        f'<a class="button secondary" href="{base}/home">Back</a></div></form></div>'
    )
    return html_page("Cancel plan", Html(body), status=status)


def _cancel_refusal(configuration: dict[str, Any], subscription: dict[str, Any]) -> str | None:
    if not configuration["features"]["subscription_cancel"]["enabled"]:
        return "Canceling is turned off in this portal's configuration."
    if subscription["status"] not in LIVE_STATUSES:
        return "This subscription has already ended."
    if subscription["cancel_at_period_end"]:
        return "This subscription is already set to cancel at the end of its period."
    return None


@route("GET", "/_hosted/portal/{id}/subscriptions/{sub}/cancel", public=True)
def portal_cancel_form(ctx: Context) -> RawResponse:
    screen = _subscription_screen(ctx, title="Cancel plan", refusal_of=_cancel_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    return _cancel_page(ctx, session, configuration, subscription, error=None)


@route("POST", "/_hosted/portal/{id}/subscriptions/{sub}/cancel", public=True)
def portal_cancel(ctx: Context) -> RawResponse:
    from stripe_server.resources.subscriptions import subscription_cancel, subscription_update

    screen = _subscription_screen(ctx, title="Cancel plan", refusal_of=_cancel_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    feature = configuration["features"]["subscription_cancel"]
    reason = form_value(ctx, "reason")
    details: dict[str, str] = {}
    if reason:
        if not feature["cancellation_reason"]["enabled"] or reason not in CANCELLATION_REASONS:
            return _cancel_page(
                ctx,
                session,
                configuration,
                subscription,
                error="Choose one of the reasons listed.",
                status=400,
            )
        details["feedback"] = reason
    try:
        with ctx.db.savepoint("portal_cancel"):
            if feature["mode"] == "immediately":
                params: dict[str, Any] = {}
                if details:
                    params["cancellation_details"] = details
                call_handler(ctx, subscription_cancel, params, path_args={"id": subscription["id"]})
                notice = "canceled"
            else:
                params = {"cancel_at_period_end": "true"}
                if details:
                    params["cancellation_details"] = details
                call_handler(ctx, subscription_update, params, path_args={"id": subscription["id"]})
                notice = "scheduled"
    except StripeError as error:
        return _cancel_page(
            ctx, session, configuration, subscription, error=error.message, status=400
        )
    _mark_flow_done(ctx, session, ("subscription_cancel",))
    return _after_action(session, "subscription_cancel", notice)


@route("POST", "/_hosted/portal/{id}/subscriptions/{sub}/resume", public=True)
def portal_resume(ctx: Context) -> RawResponse:
    from stripe_server.resources.subscriptions import subscription_update

    try:
        session, customer, _configuration = _session(ctx)
        subscription = _subscription(ctx, customer)
    except _NotFound:
        return _not_found()
    if subscription["status"] not in LIVE_STATUSES or not subscription["cancel_at_period_end"]:
        return message_page(
            "Renew plan",
            "This subscription is not set to cancel, so there is nothing to renew.",
            link=session["return_url"],
            status=400,
        )
    call_handler(
        ctx,
        subscription_update,
        {"cancel_at_period_end": "false"},
        path_args={"id": subscription["id"]},
    )
    return redirect(f"{_base(session)}/home?notice=resumed")


# --- payment method -------------------------------------------------------------------------


def _payment_method_page(
    session: dict[str, Any],
    customer: dict[str, Any],
    *,
    values: dict[str, str],
    error: str | None,
    status: int = 200,
) -> RawResponse:
    base = _base(session)

    def field(name: str, label: str, autocomplete: str, extra: str) -> str:
        return (
            f'<div><label for="{name}">{label}</label><input type="text" id="{name}" '
            f'name="{name}" value="{escape(values.get(name, ""))}" '
            f'autocomplete="{autocomplete}" {extra}></div>'
        )

    body = (
        f'<div class="card"><h1>Update payment method</h1>{_error_html(error)}'
        f'<form method="post" action="{base}/payment-method" novalidate>'
        + field("card_number", "Card number", "cc-number", 'inputmode="numeric" required')
        + '<div class="row">'
        + field("card_expiry", "Expiry (MM / YY)", "cc-exp", 'placeholder="12 / 34" required')
        + field("card_cvc", "CVC", "cc-csc", 'inputmode="numeric" required')
        + "</div>"
        + field("card_name", "Name on card", "cc-name", "")
        + '<div class="actions"><button type="submit">Save card</button>'
        f'<a class="button secondary" href="{base}/home">Back</a></div></form></div>'
    )
    return html_page("Update payment method", Html(body), status=status)


@route("GET", "/_hosted/portal/{id}/payment-method", public=True)
def portal_payment_method_form(ctx: Context) -> RawResponse:
    try:
        session, customer, configuration = _session(ctx)
    except _NotFound:
        return _not_found()
    if not configuration["features"]["payment_method_update"]["enabled"]:
        return message_page(
            "Update payment method",
            "Updating the payment method is turned off in this portal's configuration.",
            link=session["return_url"],
            status=400,
        )
    return _payment_method_page(session, customer, values={}, error=None)


@route("POST", "/_hosted/portal/{id}/payment-method", public=True)
def portal_payment_method(ctx: Context) -> RawResponse:
    from stripe_server.resources.customers import customer_update
    from stripe_server.resources.payment_methods import (
        payment_method_attach,
        payment_method_new,
    )
    from stripe_server.resources.subscriptions import subscription_update

    try:
        session, customer, configuration = _session(ctx)
    except _NotFound:
        return _not_found()
    if not configuration["features"]["payment_method_update"]["enabled"]:
        return message_page(
            "Update payment method",
            "Updating the payment method is turned off in this portal's configuration.",
            link=session["return_url"],
            status=400,
        )
    values = {name: form_value(ctx, name) for name in CARD_FIELDS}
    try:
        entry = card_entry_from_form(values, now=ctx.now())
    except CardFormError as error:
        return _payment_method_page(
            session, customer, values=values, error=error.message, status=400
        )
    refusal = attach_refusal(entry)
    if refusal:
        return _payment_method_page(session, customer, values=values, error=refusal, status=402)
    try:
        with ctx.db.savepoint("portal_card"):
            payment_method = payment_method_new(
                ctx,
                entry.card,
                exp_month=entry.exp_month,
                exp_year=entry.exp_year,
                billing_details={
                    "address": None,
                    "email": customer["email"],
                    "name": values["card_name"] or customer["name"],
                    "phone": None,
                    "tax_id": None,
                },
            )
            payment_method_attach(ctx, payment_method, customer)
            call_handler(
                ctx,
                customer_update,
                {"invoice_settings": {"default_payment_method": payment_method["id"]}},
                path_args={"id": customer["id"]},
            )
            for subscription in ctx.db.all("subscription"):
                if (
                    subscription["customer"] == customer["id"]
                    and subscription["status"] in LIVE_STATUSES
                    and subscription["default_payment_method"]
                ):
                    call_handler(
                        ctx,
                        subscription_update,
                        {"default_payment_method": payment_method["id"]},
                        path_args={"id": subscription["id"]},
                    )
    except StripeError as error:
        return _payment_method_page(
            session, customer, values=values, error=error.message, status=error.status
        )
    _mark_flow_done(ctx, session, ("payment_method_update",))
    return _after_action(session, "payment_method_update", "card")
