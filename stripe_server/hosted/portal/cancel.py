"""Canceling in the portal (now or at period end, per the configuration, with an optional
reason) and renewing a plan set to cancel, through the API's own subscription handlers.
"""

from __future__ import annotations

from typing import Any

from stripe_server.calls import call_handler
from stripe_server.context import Context
from stripe_server.hosted.forms import form_error, form_value
from stripe_server.hosted.page import RawResponse, date_text, html_page, message_page, redirect
from stripe_server.hosted.portal.session import (
    PortalNotFound,
    after_action,
    customer_subscription,
    items_summary,
    mark_flow_done,
    not_found_page,
    portal_base,
    portal_session,
    subscription_screen,
)
from stripe_server.hosted.render import EMPTY, join, render
from stripe_server.lifecycle.subscriptions import LIVE_STATUSES
from stripe_server.resources.billing_portal_configurations import CANCELLATION_REASONS
from stripe_server.resources.subscriptions import subscription_cancel, subscription_update
from stripe_server.routing import route
from stripe_server.wire import StripeError

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


def cancel_page(
    ctx: Context,
    session: dict[str, Any],
    configuration: dict[str, Any],
    subscription: dict[str, Any],
    *,
    error: str | None,
    status: int = 200,
) -> RawResponse:
    """The Cancel plan screen: what canceling does (now or at period end) and, if the
    configuration asks, why."""
    feature = configuration["features"]["subscription_cancel"]
    base = portal_base(session)
    if _cancels_now(configuration, subscription):
        explain = "Your plan will be canceled now and you will lose access right away."
    else:
        explain = (
            "Your plan will be canceled, but stays available until the end of your billing "
            f"period on {date_text(subscription['current_period_end'])}."
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
        items=items_summary(ctx, subscription),
        explain=explain,
        error=form_error(error),
        action=f"{base}/subscriptions/{subscription['id']}/cancel",
        reasons=reasons,
        home=f"{base}/home",
    )
    return html_page("Cancel plan", body, status=status)


def _cancels_now(configuration: dict[str, Any], subscription: dict[str, Any]) -> bool:
    """Whether canceling ends the subscription now: the configuration says so, or it is paused
    (no period runs that it could stay available for)."""
    mode = configuration["features"]["subscription_cancel"]["mode"]
    return mode == "immediately" or subscription["status"] == "paused"


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
    """The Cancel plan screen of one subscription."""
    screen = subscription_screen(ctx, title="Cancel plan", refusal_of=_cancel_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    return cancel_page(ctx, session, configuration, subscription, error=None)


@route("POST", "/_hosted/portal/{id}/subscriptions/{sub}/cancel", public=True)
def portal_cancel(ctx: Context) -> RawResponse:
    """Cancel now (`DELETE`) or at period end (an update), per the configuration."""
    screen = subscription_screen(ctx, title="Cancel plan", refusal_of=_cancel_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    feature = configuration["features"]["subscription_cancel"]
    reason = form_value(ctx, "reason")
    details: dict[str, str] = {}
    if reason:
        if not feature["cancellation_reason"]["enabled"] or reason not in CANCELLATION_REASONS:
            return cancel_page(
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
            if _cancels_now(configuration, subscription):
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
        return cancel_page(
            ctx, session, configuration, subscription, error=error.message, status=400
        )
    mark_flow_done(ctx, session, ("subscription_cancel",))
    return after_action(session, "subscription_cancel", notice)


@route("POST", "/_hosted/portal/{id}/subscriptions/{sub}/resume", public=True)
def portal_resume(ctx: Context) -> RawResponse:
    """Renew a plan set to cancel at period end."""
    try:
        session, customer, _configuration = portal_session(ctx)
        subscription = customer_subscription(ctx, customer)
    except PortalNotFound:
        return not_found_page()
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
    return redirect(f"{portal_base(session)}/home?notice=resumed")
