"""The portal's Update plan screen: the plans the configuration offers, grouped by billing
interval, each named once and priced as a pricing page words it, the current one marked.

Choosing one leads to the confirmation screen (`plan_confirm.py`), which shows what the change
costs before anything changes.
"""

from __future__ import annotations

from typing import Any

from stripe_server.amounts import is_metered
from stripe_server.context import Context
from stripe_server.hosted.forms import form_error, form_value
from stripe_server.hosted.page import RawResponse, html_page
from stripe_server.hosted.portal.plan_choice import PlanOption, plan_options
from stripe_server.hosted.portal.session import portal_base, subscription_screen
from stripe_server.hosted.price_text import interval_label, interval_order
from stripe_server.hosted.render import EMPTY, Html, join, render
from stripe_server.lifecycle.subscriptions import LIVE_STATUSES
from stripe_server.routing import route


def update_refusal(configuration: dict[str, Any], subscription: dict[str, Any]) -> str | None:
    """Why this subscription's plan cannot be changed in the portal, if it cannot."""
    if not configuration["features"]["subscription_update"]["enabled"]:
        return "Plan changes are turned off in this portal's configuration."
    if subscription["status"] not in LIVE_STATUSES:
        return "This subscription has ended and cannot be changed."
    if subscription["status"] == "paused":
        return "This subscription is paused; its plan can be changed once it is resumed."
    if len(subscription["items"]["data"]) != 1:
        return "This subscription has several items; the portal changes single-item plans only."
    if is_metered(subscription["items"]["data"][0]["price"]):
        return "This plan is billed by usage; the portal does not change usage-based plans."
    return None


def subscription_url(session: dict[str, Any], subscription: dict[str, Any]) -> str:
    """Where the screens about one of the session's subscriptions live."""
    return f"{portal_base(session)}/subscriptions/{subscription['id']}"


def plan_text(option: PlanOption, quantity: int | None) -> str:
    """`Team · $10 per seat per month for 1-5, then $8 · 3 seats`: a plan at a quantity (shown
    where the plan counts something, or is not 1)."""
    text = f"{option.name} · {option.terms}"
    if quantity is not None and (option.quantity_bounds is not None or quantity != 1):
        text += f" · {option.quantity_text(quantity)}"
    return text


def update_page(
    ctx: Context,
    session: dict[str, Any],
    configuration: dict[str, Any],
    subscription: dict[str, Any],
    *,
    error: str | None,
    chosen: str = "",
    status: int = 200,
) -> RawResponse:
    """The Update plan screen, with `chosen` (a price id) selected."""
    options = plan_options(ctx, configuration, subscription)
    item = subscription["items"]["data"][0]
    current = next(option for option in options if option.current)
    groups: dict[tuple[str, int], list[tuple[int, PlanOption]]] = {}
    for index, option in enumerate(options):
        recurring = option.price["recurring"]
        groups.setdefault((recurring["interval"], recurring["interval_count"]), []).append(
            (index, option)
        )
    fieldsets = []
    for _key, members in sorted(
        groups.items(), key=lambda group: interval_order(group[1][0][1].price["recurring"])
    ):
        choices = [_plan_choice(index, option, chosen) for index, option in members]
        fieldsets.append(
            render(
                "portal/plan_group.html",
                label=interval_label(members[0][1].price["recurring"]),
                options=join(choices),
            )
        )
    url = subscription_url(session, subscription)
    if any(option.choosable for option in options):
        form = render(
            "portal/plan_form.html",
            action=f"{url}/update/review",
            groups=join(fieldsets),
            home=f"{portal_base(session)}/home",
        )
    else:
        form = render("portal/no_changes.html", home=f"{portal_base(session)}/home")
    body = render(
        "portal/update.html",
        current=plan_text(current, item["quantity"]),
        error=form_error(error),
        form=form,
    )
    return html_page("Update plan", body, status=status)


def _plan_choice(index: int, option: PlanOption, chosen: str) -> Html:
    checked = option.choosable and option.price["id"] == chosen
    return render(
        "portal/plan_option.html",
        id=f"plan-{index}",
        price=option.price["id"],
        attributes=Html(" checked" if checked else "" if option.choosable else " disabled"),
        plan=option.name,
        terms=option.terms,
        badge=render("portal/current_badge.html") if option.current else EMPTY,
    )


@route("GET", "/_hosted/portal/{id}/subscriptions/{sub}/update", public=True)
def portal_update_form(ctx: Context) -> RawResponse:
    """The Update plan screen of one subscription (`?price=` keeps a choice selected)."""
    screen = subscription_screen(ctx, title="Update plan", refusal_of=update_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    return update_page(
        ctx, session, configuration, subscription, error=None, chosen=form_value(ctx, "price")
    )
