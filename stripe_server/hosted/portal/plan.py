"""Changing plan or quantity in the portal: the prices the configuration offers, in the
subscription's currency, and the change made through the API's subscription update.
"""

from __future__ import annotations

from typing import Any

from stripe_server.amounts import price_amount
from stripe_server.calls import call_handler
from stripe_server.context import Context
from stripe_server.hosted.forms import form_value
from stripe_server.hosted.page import RawResponse, html_page, interval_text, money
from stripe_server.hosted.portal.session import (
    after_action,
    form_error,
    item_summary,
    mark_flow_done,
    portal_base,
    subscription_screen,
)
from stripe_server.hosted.render import EMPTY, Html, join, render
from stripe_server.lifecycle.subscriptions import LIVE_STATUSES
from stripe_server.resources.subscriptions import subscription_update
from stripe_server.routing import route
from stripe_server.wire import StripeError


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


def update_page(
    ctx: Context,
    session: dict[str, Any],
    configuration: dict[str, Any],
    subscription: dict[str, Any],
    *,
    error: str | None,
    proposed: dict[str, Any] | None = None,
    status: int = 200,
) -> RawResponse:
    """The Update plan screen: the prices to choose from and the quantity, per the
    configuration; `proposed` preselects a confirm flow's change."""
    feature = configuration["features"]["subscription_update"]
    base = portal_base(session)
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
        current=item_summary(ctx, item),
        error=form_error(error),
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
    """The Update plan screen of one subscription."""
    screen = subscription_screen(ctx, title="Update plan", refusal_of=_update_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    return update_page(ctx, session, configuration, subscription, error=None)


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
    """Change the plan or quantity chosen, through the API's subscription update."""
    screen = subscription_screen(ctx, title="Update plan", refusal_of=_update_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    feature = configuration["features"]["subscription_update"]
    item = subscription["items"]["data"][0]

    def failed(message: str) -> RawResponse:
        return update_page(ctx, session, configuration, subscription, error=message, status=400)

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
    mark_flow_done(ctx, session, ("subscription_update", "subscription_update_confirm"))
    flow_type = session["flow"]["type"] if session["flow"] else "subscription_update"
    return after_action(session, flow_type, "updated")
