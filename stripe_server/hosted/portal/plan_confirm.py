"""The confirmation screen of a plan change, and Confirm, which makes it.

The screen shows the current and the new plan (and the quantity, where the new plan takes one)
and what the change bills: `POST /v1/invoices/create_preview` run through its own handler, with
the configuration's `proration_behavior` and a `proration_date` fixed as the screen is drawn.
The form carries that date back, and Confirm makes the update with it, so the charge is the one
shown, to the cent. Confirm charges with `payment_behavior=error_if_incomplete`: a declined
card changes nothing, and the screen says why. Nothing changes before Confirm.
"""

from __future__ import annotations

from typing import Any

from stripe_server.calls import call_handler
from stripe_server.context import Context
from stripe_server.frozen_time import clock_context
from stripe_server.hosted.forms import field_errors, form_error, form_value
from stripe_server.hosted.page import RawResponse, date_text, html_page, money
from stripe_server.hosted.portal.plan import (
    plan_text,
    subscription_url,
    update_page,
    update_refusal,
)
from stripe_server.hosted.portal.plan_choice import (
    ChoiceError,
    PlanChange,
    PlanOption,
    plan_change_from_form,
    plan_options,
)
from stripe_server.hosted.portal.session import (
    after_action,
    mark_flow_done,
    subscription_screen,
)
from stripe_server.hosted.price_text import unit_name
from stripe_server.hosted.render import EMPTY, Html, join, render
from stripe_server.resources.invoice_previews import invoice_create_preview
from stripe_server.resources.subscriptions import subscription_update
from stripe_server.routing import route
from stripe_server.wire import StripeError

# A confirmation screen older than this is drawn again, with its amounts worked out anew,
# rather than confirmed (its proration date would be long past).
REVIEW_MAX_AGE = 3600
_STALE = (
    "This page was out of date, so the amounts were worked out again. Check them, then confirm."
)


def review_page(
    ctx: Context,
    session: dict[str, Any],
    configuration: dict[str, Any],
    subscription: dict[str, Any],
    option: PlanOption,
    *,
    change: PlanChange | None,
    typed: str,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> RawResponse:
    """The confirmation screen for `option`; with `change` None (a quantity in error) it shows
    the quantity field and the error, and neither amounts nor Confirm."""
    item = subscription["items"]["data"][0]
    options = plan_options(ctx, configuration, subscription)
    current = next(candidate for candidate in options if candidate.current)
    url = subscription_url(session, subscription)
    quantity = EMPTY
    if option.quantity_bounds is not None:
        lowest, highest = option.quantity_bounds
        quantity = render(
            "portal/review_quantity.html",
            label=f"Quantity ({unit_name(option.product, 2)})",
            minimum=lowest,
            maximum=highest,
            value=typed,
            review=f"{url}/update/review",
            **field_errors(("quantity",), "quantity" if change is None else None, error),
        )
    proration_date: int | str = ""
    outcome, confirm = EMPTY, EMPTY
    if change is not None and change.changes_nothing(item):
        outcome = render(
            "portal/review_note.html",
            message="This is your current plan and quantity. Enter another quantity, then "
            "choose Update total.",
        )
    elif change is not None:
        proration_date = clock_context(ctx, subscription.get("test_clock")).now()
        params = _update_params(configuration, subscription, change, proration_date)
        outcome, can_confirm = _outcome(ctx, subscription, params, proration_date)
        confirm = render("portal/confirm_button.html") if can_confirm else EMPTY
    body = render(
        "portal/review.html",
        notice=render("portal/notice.html", message=notice) if notice else EMPTY,
        error=form_error(error, field="quantity" if change is None and quantity else None),
        current=plan_text(current, item["quantity"]),
        new=plan_text(option, change.quantity if change is not None else None),
        action=f"{url}/update/confirm",
        price=option.price["id"],
        reviewed_quantity=change.quantity if change is not None else "",
        proration_date=proration_date,
        quantity=quantity,
        outcome=outcome,
        confirm=confirm,
        back=f"{url}/update?price={option.price['id']}",
    )
    return html_page("Confirm your new plan", body, status=status)


def _update_params(
    configuration: dict[str, Any],
    subscription: dict[str, Any],
    change: PlanChange,
    proration_date: int,
) -> dict[str, Any]:
    """The subscription update that makes the change (also what the preview previews)."""
    feature = configuration["features"]["subscription_update"]
    params: dict[str, Any] = {
        "items": [change.item_params(subscription["items"]["data"][0])],
        "proration_behavior": feature["proration_behavior"],
    }
    if feature["proration_behavior"] != "none":
        params["proration_date"] = str(proration_date)
    if subscription["status"] == "trialing" and feature["trial_update_behavior"] == "end_trial":
        params["trial_end"] = "now"
    return params


def _outcome(
    ctx: Context, subscription: dict[str, Any], params: dict[str, Any], proration_date: int
) -> tuple[Html, bool]:
    """What the change bills, worded, with the previewed invoice's lines; and whether it can
    be confirmed (not when the preview itself is refused)."""
    try:
        preview = call_handler(
            ctx,
            invoice_create_preview,
            {"subscription": subscription["id"], "subscription_details": params},
        )
    except StripeError as error:
        if error.code != "invoice_upcoming_none":
            return render("portal/review_note.html", message=error.message), False
        ends = date_text(subscription["current_period_end"])
        message = f"No charge today. Your plan ends on {ends}, so there is no next invoice."
        return render("portal/review_note.html", message=message), True
    currency = preview["currency"]
    due, total = preview["amount_due"], preview["total"]
    if preview["created"] < subscription["current_period_end"]:
        heading = "Today's invoice"
        if due > 0:
            summary = f"You'll be charged {money(due, currency)} today."
        elif total < 0:
            summary = (
                f"No charge today: {money(-total, currency)} is credited to your balance and "
                "taken off your next invoices."
            )
        else:
            summary = "No charge today."
    else:
        when = date_text(preview["created"])
        heading = f"Your next invoice, on {when}"
        added = sum(
            line["amount"]
            for line in preview["lines"]["data"]
            if line["parent"]["subscription_item_details"]["proration"]
            and line["period"]["start"] == proration_date
        )
        if added > 0:
            summary = f"{money(added, currency)} will be added to your next invoice on {when}."
        elif added < 0:
            summary = f"{money(-added, currency)} will be credited on your next invoice on {when}."
        else:
            summary = f"No charge today; your next invoice is {money(due, currency)} on {when}."
    rows = [
        render(
            "portal/review_line.html",
            description=_line_text(ctx, line),
            amount=money(line["amount"], currency),
        )
        for line in preview["lines"]["data"]
    ]
    rows.append(render("portal/review_total.html", label="Total", amount=money(total, currency)))
    if due != total:
        rows.append(
            render("portal/review_total.html", label="Amount due", amount=money(due, currency))
        )
    outcome = render(
        "portal/review_outcome.html", heading=heading, summary=summary, rows=join(rows)
    )
    return outcome, True


def _line_text(ctx: Context, line: dict[str, Any]) -> str:
    """`Unused time on Basic after March 5, 2026`, `Team x 3, March 5, 2026 - April 5, 2026`."""
    product_id = line["pricing"]["price_details"]["product"]
    product = ctx.db.get(product_id, "product") or {}
    name = product.get("name") or product_id
    if line["quantity"] != 1:
        name += f" \N{MULTIPLICATION SIGN} {line['quantity']}"
    start, end = line["period"]["start"], line["period"]["end"]
    if line["parent"]["subscription_item_details"]["proration"]:
        side = "Unused time" if line["amount"] < 0 else "Remaining time"
        return f"{side} on {name} after {date_text(start)}"
    return f"{name}, {date_text(start)} \N{EN DASH} {date_text(end)}"


def _chosen_change(
    ctx: Context,
    session: dict[str, Any],
    configuration: dict[str, Any],
    subscription: dict[str, Any],
    *,
    price_id: str,
    quantity_text: str,
) -> PlanChange | RawResponse:
    """The change chosen, or the page saying what is wrong with the choice: the plan list
    (400) for a plan that cannot be chosen, the confirmation screen (400) for a bad
    quantity."""
    options = plan_options(ctx, configuration, subscription)
    item = subscription["items"]["data"][0]
    try:
        change = plan_change_from_form(options, item, price_id, quantity_text)
    except ChoiceError as error:
        if error.option is None:
            return update_page(
                ctx,
                session,
                configuration,
                subscription,
                error=error.message,
                chosen=price_id,
                status=400,
            )
        return review_page(
            ctx,
            session,
            configuration,
            subscription,
            error.option,
            change=None,
            typed=quantity_text,
            error=error.message,
            status=400,
        )
    return change


def proposal_page(
    ctx: Context,
    session: dict[str, Any],
    configuration: dict[str, Any],
    subscription: dict[str, Any],
    proposed: dict[str, Any],
) -> RawResponse:
    """The confirmation screen of a `subscription_update_confirm` flow's proposed change."""
    entry = proposed["items"][0]
    price_id = entry["price"] or subscription["items"]["data"][0]["price"]["id"]
    quantity = entry["quantity"]
    return _review(ctx, session, configuration, subscription, price_id, str(quantity or ""))


def _review(
    ctx: Context,
    session: dict[str, Any],
    configuration: dict[str, Any],
    subscription: dict[str, Any],
    price_id: str,
    quantity_text: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> RawResponse:
    change = _chosen_change(
        ctx, session, configuration, subscription, price_id=price_id, quantity_text=quantity_text
    )
    if isinstance(change, RawResponse):
        return change
    return review_page(
        ctx,
        session,
        configuration,
        subscription,
        change.option,
        change=change,
        typed=str(change.quantity),
        notice=notice,
        error=error,
        status=status,
    )


@route("GET", "/_hosted/portal/{id}/subscriptions/{sub}/update/review", public=True)
def portal_update_review(ctx: Context) -> RawResponse:
    """The confirmation screen of the plan (`price`) and `quantity` chosen."""
    screen = subscription_screen(ctx, title="Update plan", refusal_of=update_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    return _review(
        ctx,
        session,
        configuration,
        subscription,
        form_value(ctx, "price"),
        form_value(ctx, "quantity"),
    )


@route("POST", "/_hosted/portal/{id}/subscriptions/{sub}/update/confirm", public=True)
def portal_update_confirm(ctx: Context) -> RawResponse:
    """Make the change shown, as of the screen's `proration_date`; a quantity other than the
    one shown, or a screen too old, is shown again instead."""
    screen = subscription_screen(ctx, title="Update plan", refusal_of=update_refusal)
    if isinstance(screen, RawResponse):
        return screen
    session, configuration, subscription = screen
    price_id, quantity_text = form_value(ctx, "price"), form_value(ctx, "quantity")
    change = _chosen_change(
        ctx, session, configuration, subscription, price_id=price_id, quantity_text=quantity_text
    )
    if isinstance(change, RawResponse):
        return change

    def again(*, notice: str | None = None, error: str | None = None, status: int) -> RawResponse:
        return _review(
            ctx,
            session,
            configuration,
            subscription,
            price_id,
            str(change.quantity),
            notice=notice,
            error=error,
            status=status,
        )

    if form_value(ctx, "reviewed_quantity") != str(change.quantity):
        return again(
            notice=f"The amounts below are for {change.option.quantity_text(change.quantity)}. "
            "Check them, then confirm.",
            status=200,
        )
    if change.changes_nothing(subscription["items"]["data"][0]):
        return again(error="Nothing to change: choose another plan or quantity.", status=400)
    now = clock_context(ctx, subscription.get("test_clock")).now()
    proration_text = form_value(ctx, "proration_date")
    if not proration_text.isdigit() or not now - REVIEW_MAX_AGE <= int(proration_text) <= now:
        return again(notice=_STALE, status=409)
    params = _update_params(configuration, subscription, change, int(proration_text))
    params["payment_behavior"] = "error_if_incomplete"
    try:
        with ctx.db.savepoint("portal_update"):
            call_handler(ctx, subscription_update, params, path_args={"id": subscription["id"]})
    except StripeError as error:
        if error.param == "proration_date":
            return again(notice=_STALE, status=409)
        return again(error=error.message, status=error.status)
    mark_flow_done(ctx, session, ("subscription_update", "subscription_update_confirm"))
    flow_type = session["flow"]["type"] if session["flow"] else "subscription_update"
    return after_action(session, flow_type, "updated")
