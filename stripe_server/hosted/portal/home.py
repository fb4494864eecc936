"""The portal's home (the customer's plans, card and invoices), its entry point (the session's
URL, which opens a flow's screen when the session has one) and the hosted confirmation.
"""

from __future__ import annotations

from typing import Any

from stripe_server.context import Context
from stripe_server.hosted.forms import form_value
from stripe_server.hosted.page import RawResponse, date_text, html_page, money
from stripe_server.hosted.portal.cancel import cancel_page
from stripe_server.hosted.portal.payment_method import payment_method_page
from stripe_server.hosted.portal.plan import update_page
from stripe_server.hosted.portal.plan_confirm import proposal_page
from stripe_server.hosted.portal.session import (
    NOTICES,
    PortalNotFound,
    items_summary,
    not_found_page,
    portal_base,
    portal_session,
    return_link,
)
from stripe_server.hosted.render import EMPTY, Html, join, render
from stripe_server.lifecycle.subscriptions import LIVE_STATUSES
from stripe_server.routing import route


def _status_line(subscription: dict[str, Any]) -> str:
    if subscription["status"] == "paused":
        # Only a trial that ended without a payment method pauses a subscription.
        return (
            f"Paused since your free trial ended on {date_text(subscription['trial_end'])}. "
            "Add a payment method to continue."
        )
    if subscription["status"] == "trialing":
        return f"Trial ends {date_text(subscription['trial_end'])}"
    if subscription["cancel_at_period_end"]:
        return f"Cancels {date_text(subscription['current_period_end'])}"
    if subscription["status"] == "past_due":
        return "Payment past due"
    return f"Renews {date_text(subscription['current_period_end'])}"


@route("GET", "/_hosted/portal/{id}", public=True)
def portal_entry(ctx: Context) -> RawResponse:
    """The session's URL: its flow's screen when it has one, else the portal's home."""
    try:
        session, customer, configuration = portal_session(ctx)
    except PortalNotFound:
        return not_found_page()
    flow = session["flow"]
    if flow is not None and not session.get("_flow_done"):
        if flow["type"] == "payment_method_update":
            return payment_method_page(session, values={}, error=None)
        if flow["type"] == "subscription_cancel":
            subscription = ctx.db.get(flow["subscription_cancel"]["subscription"], "subscription")
            if subscription is not None and subscription["status"] in LIVE_STATUSES:
                return cancel_page(ctx, session, configuration, subscription, error=None)
        if flow["type"] == "subscription_update":
            subscription = ctx.db.get(flow["subscription_update"]["subscription"], "subscription")
            if subscription is not None and subscription["status"] in LIVE_STATUSES:
                return update_page(ctx, session, configuration, subscription, error=None)
        if flow["type"] == "subscription_update_confirm":
            confirm = flow["subscription_update_confirm"]
            subscription = ctx.db.get(confirm["subscription"], "subscription")
            if subscription is not None and subscription["status"] in LIVE_STATUSES:
                return proposal_page(ctx, session, configuration, subscription, confirm)
    return _home(ctx, session, customer, configuration)


@route("GET", "/_hosted/portal/{id}/home", public=True)
def portal_home(ctx: Context) -> RawResponse:
    """The portal's home page, whatever the session's flow."""
    try:
        session, customer, configuration = portal_session(ctx)
    except PortalNotFound:
        return not_found_page()
    return _home(ctx, session, customer, configuration)


@route("GET", "/_hosted/portal/{id}/done", public=True)
def portal_done(ctx: Context) -> RawResponse:
    """The hosted confirmation after a flow: its custom message, else what was done."""
    try:
        session, _customer, _configuration = portal_session(ctx)
    except PortalNotFound:
        return not_found_page()
    flow = session["flow"] or {}
    confirmation = (flow.get("after_completion") or {}).get("hosted_confirmation") or {}
    message = confirmation.get("custom_message") or NOTICES.get(
        form_value(ctx, "notice"), "All done."
    )
    body = render(
        "portal/done.html",
        message=message,
        return_link=return_link(session),
        home=f"{portal_base(session)}/home",
    )
    return html_page("Billing", body)


def _home(
    ctx: Context,
    session: dict[str, Any],
    customer: dict[str, Any],
    configuration: dict[str, Any],
) -> RawResponse:
    features = configuration["features"]
    base = portal_base(session)
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
                date=date_text(invoice["created"]),
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
        return_link=return_link(session),
        subscriptions=join(cards) if cards else render("portal/no_plan.html"),
        payment_method=payment_method,
        invoices=invoices,
    )
    return html_page("Billing", body)


def _subscription_card(
    ctx: Context, subscription: dict[str, Any], features: dict[str, Any], url: str
) -> Html:
    actions = []
    if features["subscription_update"]["enabled"] and subscription["status"] != "paused":
        actions.append(render("portal/update_link.html", url=f"{url}/update"))
    if subscription["cancel_at_period_end"]:
        actions.append(render("portal/resume_form.html", url=f"{url}/resume"))
    elif features["subscription_cancel"]["enabled"]:
        actions.append(render("portal/cancel_link.html", url=f"{url}/cancel"))
    return render(
        "portal/subscription.html",
        id=subscription["id"],
        items=items_summary(ctx, subscription),
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
