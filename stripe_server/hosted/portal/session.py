"""What every portal screen shares: finding its session, customer, configuration and
subscription, where to go once an action is done, and the fragments all screens show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stripe_server.amounts import is_metered, price_amount
from stripe_server.context import Context
from stripe_server.hosted.page import RawResponse, message_page, money, per_interval_text, redirect
from stripe_server.hosted.price_text import price_terms
from stripe_server.hosted.render import EMPTY, Html, join, render
from stripe_server.redirect_urls import safe_url
from stripe_server.resources.billing_portal_sessions import PORTAL_PATH

NOTICES = {
    "updated": "Your plan has been updated.",
    "canceled": "Your plan has been canceled.",
    "scheduled": "Your plan will be canceled at the end of the billing period.",
    "resumed": "Your plan will renew as usual.",
    "card": "Your payment method has been updated.",
}


class PortalNotFound(Exception):
    """No such portal session, or a subscription that is not its customer's."""


def portal_session(ctx: Context) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The session of the URL, its customer and its configuration (`PortalNotFound` if any is
    missing)."""
    session = ctx.db.get(ctx.arg("id"), "billing_portal.session")
    if session is None:
        raise PortalNotFound
    customer = ctx.db.get(session["customer"], "customer")
    configuration = ctx.db.get(session["configuration"], "billing_portal.configuration")
    if customer is None or configuration is None:
        raise PortalNotFound
    return session, customer, configuration


def customer_subscription(ctx: Context, customer: dict[str, Any]) -> dict[str, Any]:
    """The subscription of the URL, if it is the customer's (else `PortalNotFound`)."""
    subscription = ctx.db.get(ctx.arg("sub"), "subscription")
    if subscription is None or subscription["customer"] != customer["id"]:
        raise PortalNotFound
    return subscription


def not_found_page() -> RawResponse:
    """The 404 page for a portal link that leads nowhere."""
    return message_page(
        "Portal link not found",
        "This billing portal link is not valid. Open the billing portal again from the site "
        "you came from.",
        status=404,
    )


def portal_base(session: dict[str, Any]) -> str:
    """The path every screen of this session's portal starts with."""
    return f"{PORTAL_PATH}/{session['id']}"


def after_action(session: dict[str, Any], flow_type: str, notice: str) -> RawResponse:
    """Where to go once an action succeeded: the flow's `after_completion`, else home."""
    flow = session["flow"]
    if flow is not None and flow["type"] == flow_type:
        after = flow["after_completion"]
        if after["type"] == "redirect" and after["redirect"]:
            return redirect(after["redirect"]["return_url"])
        if after["type"] == "hosted_confirmation":
            return redirect(f"{portal_base(session)}/done?notice={notice}")
    return redirect(f"{portal_base(session)}/home?notice={notice}")


def return_link(session: dict[str, Any]) -> Html:
    """The Return button to the session's `return_url` (none if it is not http(s))."""
    url = safe_url(session["return_url"])
    return EMPTY if url is None else render("portal/return_link.html", url=url)


def item_summary(ctx: Context, item: dict[str, Any]) -> str:
    """`Studio · $12.00 per month · Qty 3`, `API calls · Usage-based, $0.002 per unit`: an
    item as the customer reads it."""
    price = ctx.db.get(item["price"]["id"], "price") or item["price"]
    product = ctx.db.get(price["product"], "product") or {}
    if is_metered(price):
        return f"{product.get('name') or price['product']} · {price_terms(price, product)}"
    amount = price_amount(price, item["quantity"])
    return (
        f"{product.get('name') or price['product']} · "
        f"{money(amount, price['currency'])} {per_interval_text(price['recurring'])}"
        + (f" · Qty {item['quantity']}" if item["quantity"] != 1 else "")
    )


def items_summary(ctx: Context, subscription: dict[str, Any]) -> Html:
    """One line per item of the subscription."""
    return join((item_summary(ctx, item) for item in subscription["items"]["data"]), Html("<br>"))


def subscription_screen(
    ctx: Context,
    *,
    title: str,
    refusal_of: Callable[[dict[str, Any], dict[str, Any]], str | None],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | RawResponse:
    """The session, configuration and subscription an action screen works on, or the page that
    says why there is none: a 404, or a 400 with the configuration's refusal."""
    try:
        session, customer, configuration = portal_session(ctx)
        subscription = customer_subscription(ctx, customer)
    except PortalNotFound:
        return not_found_page()
    refusal = refusal_of(configuration, subscription)
    if refusal:
        return message_page(title, refusal, link=session["return_url"], status=400)
    return session, configuration, subscription


def mark_flow_done(ctx: Context, session: dict[str, Any], flow_types: tuple[str, ...]) -> None:
    """Once the session's flow (if of `flow_types`) is done, its URL opens the home page."""
    if session["flow"] is not None and session["flow"]["type"] in flow_types:
        session["_flow_done"] = True
        ctx.db.save("billing_portal.session", session)
