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
from stripe_server.hosted.render import EMPTY, Html, join, render
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


def _return_link(session: dict[str, Any]) -> Html:
    url = safe_url(session["return_url"])
    return EMPTY if url is None else render("portal/return_link.html", url=url)


def _form_error(error: str | None) -> Html:
    return render("form_error.html", message=error) if error else EMPTY


def _item_summary(ctx: Context, item: dict[str, Any]) -> str:
    price = ctx.db.get(item["price"]["id"], "price") or item["price"]
    product = ctx.db.get(price["product"], "product") or {}
    amount = price_amount(price, item["quantity"])
    return (
        f"{product.get('name') or price['product']} · "
        f"{money(amount, price['currency'])} every {interval_text(price['recurring'])}"
        + (f" · Qty {item['quantity']}" if item["quantity"] != 1 else "")
    )


def _items_summary(ctx: Context, subscription: dict[str, Any]) -> Html:
    """One line per item of the subscription."""
    return join((_item_summary(ctx, item) for item in subscription["items"]["data"]), Html("<br>"))


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
            return _payment_method_page(session, values={}, error=None)
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
    body = render(
        "portal/done.html",
        message=message,
        return_link=_return_link(session),
        home=f"{_base(session)}/home",
    )
    return html_page("Billing", body)


def _home(
    ctx: Context,
    session: dict[str, Any],
    customer: dict[str, Any],
    configuration: dict[str, Any],
) -> RawResponse:
    features = configuration["features"]
    base = _base(session)
    notice = NOTICES.get(form_value(ctx, "notice"))
    subscriptions = [
        s
        for s in ctx.db.all("subscription")
        if s["customer"] == customer["id"] and s["status"] in LIVE_STATUSES
    ]
    cards = [
        _subscription_card(
            ctx, subscription, features, f"{base}/subscriptions/{subscription['id']}"
        )
        for subscription in subscriptions
    ]
    payment_method = EMPTY
    if features["payment_method_update"]["enabled"]:
        payment_method = render(
            "portal/payment_method.html",
            described=_card_on_file(ctx, customer, subscriptions),
            url=f"{base}/payment-method",
        )
    invoices = EMPTY
    if features["invoice_history"]["enabled"]:
        shown = [i for i in ctx.db.all("invoice") if i["customer"] == customer["id"]][:10]
        rows = [
            render(
                "portal/invoice_row.html",
                date=_date(invoice["created"]),
                amount=money(invoice["total"], invoice["currency"]),
                status=invoice["status"],
            )
            for invoice in shown
        ]
        invoices = (
            render("portal/invoices.html", rows=join(rows))
            if rows
            else render("portal/invoices_none.html")
        )
    body = render(
        "portal/home.html",
        who=customer["name"] or customer["email"] or customer["id"],
        notice=render("portal/notice.html", message=notice) if notice else EMPTY,
        return_link=_return_link(session),
        subscriptions=join(cards) if cards else render("portal/no_plan.html"),
        payment_method=payment_method,
        invoices=invoices,
    )
    return html_page("Billing", body)


def _subscription_card(
    ctx: Context, subscription: dict[str, Any], features: dict[str, Any], url: str
) -> Html:
    actions = []
    if features["subscription_update"]["enabled"]:
        actions.append(render("portal/update_link.html", url=f"{url}/update"))
    if subscription["cancel_at_period_end"]:
        actions.append(render("portal/resume_form.html", url=f"{url}/resume"))
    elif features["subscription_cancel"]["enabled"]:
        actions.append(render("portal/cancel_link.html", url=f"{url}/cancel"))
    return render(
        "portal/subscription.html",
        id=subscription["id"],
        items=_items_summary(ctx, subscription),
        status=subscription["status"],
        status_line=_status_line(subscription),
        actions=join(actions),
    )


def _card_on_file(
    ctx: Context, customer: dict[str, Any], subscriptions: list[dict[str, Any]]
) -> str:
    """The customer's default card (else a subscription's), as the home page describes it."""
    default_id = customer["invoice_settings"]["default_payment_method"] or next(
        (s["default_payment_method"] for s in subscriptions if s["default_payment_method"]),
        None,
    )
    payment_method = ctx.db.get(default_id, "payment_method") if default_id else None
    if payment_method is None:
        return "No payment method on file."
    card = payment_method["card"]
    return (
        f"{card['brand'].title()} •••• {card['last4']}, expires "
        f"{card['exp_month']:02d}/{card['exp_year']}"
    )


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
    fields = []
    if "price" in feature["default_allowed_updates"]:
        prices = allowed_prices(ctx, configuration, subscription)
        if not any(p["id"] == item["price"]["id"] for p in prices):
            current = ctx.db.get(item["price"]["id"], "price")
            if current is not None:
                prices.insert(0, current)
        options = [
            render(
                "portal/price_option.html",
                index=index,
                price=price["id"],
                checked=Html(" checked") if price["id"] == chosen_price else EMPTY,
                label=_price_label(ctx, price, chosen_quantity, current=item["price"]["id"]),
            )
            for index, price in enumerate(prices)
        ]
        fields.append(render("portal/price_choices.html", options=join(options)))
    if "quantity" in feature["default_allowed_updates"]:
        fields.append(render("portal/quantity.html", quantity=chosen_quantity))
    body = render(
        "portal/update.html",
        current=_item_summary(ctx, item),
        error=_form_error(error),
        action=f"{base}/subscriptions/{subscription['id']}/update",
        fields=join(fields) if fields else render("portal/no_changes.html"),
        home=f"{base}/home",
    )
    return html_page("Update plan", body, status=status)


def _price_label(ctx: Context, price: dict[str, Any], quantity: int, *, current: str) -> str:
    """`Studio (Annual) — $120.00 every year (current)`: a price to choose, at `quantity`."""
    product = ctx.db.get(price["product"], "product") or {}
    return (
        f"{product.get('name') or price['product']}"
        + (f" ({price['nickname']})" if price["nickname"] else "")
        + f" — {money(price_amount(price, quantity), price['currency'])}"
        f" every {interval_text(price['recurring'])}"
        + (" (current)" if price["id"] == current else "")
    )


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
    reasons = EMPTY
    if feature["cancellation_reason"]["enabled"]:
        options = [
            render("portal/reason_option.html", value=value, label=REASON_LABELS[value])
            for value in feature["cancellation_reason"]["options"]
        ]
        reasons = render("portal/reasons.html", options=join(options))
    body = render(
        "portal/cancel.html",
        items=_items_summary(ctx, subscription),
        explain=explain,
        error=_form_error(error),
        action=f"{base}/subscriptions/{subscription['id']}/cancel",
        reasons=reasons,
        home=f"{base}/home",
    )
    return html_page("Cancel plan", body, status=status)


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
    *,
    values: dict[str, str],
    error: str | None,
    status: int = 200,
) -> RawResponse:
    base = _base(session)
    body = render(
        "portal/payment_method_form.html",
        error=_form_error(error),
        action=f"{base}/payment-method",
        **{name: values.get(name, "") for name in CARD_FIELDS},
        home=f"{base}/home",
    )
    return html_page("Update payment method", body, status=status)


@route("GET", "/_hosted/portal/{id}/payment-method", public=True)
def portal_payment_method_form(ctx: Context) -> RawResponse:
    try:
        session, _customer, configuration = _session(ctx)
    except _NotFound:
        return _not_found()
    if not configuration["features"]["payment_method_update"]["enabled"]:
        return message_page(
            "Update payment method",
            "Updating the payment method is turned off in this portal's configuration.",
            link=session["return_url"],
            status=400,
        )
    return _payment_method_page(session, values={}, error=None)


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
        return _payment_method_page(session, values=values, error=error.message, status=400)
    refusal = attach_refusal(entry)
    if refusal:
        return _payment_method_page(session, values=values, error=refusal, status=402)
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
            session, values=values, error=error.message, status=error.status
        )
    _mark_flow_done(ctx, session, ("payment_method_update",))
    return _after_action(session, "payment_method_update", "card")
