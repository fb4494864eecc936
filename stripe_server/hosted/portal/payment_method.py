"""Replacing the card in the portal: the typed card becomes the customer's default, and each
subscription's where one was set.
"""

from __future__ import annotations

from typing import Any

from stripe_server.calls import call_handler
from stripe_server.context import Context
from stripe_server.hosted.card_form import (
    CARD_FIELDS,
    CardFormError,
    attach_refusal,
    card_entry_from_form,
    card_entry_save,
)
from stripe_server.hosted.forms import field_errors, form_error, form_value
from stripe_server.hosted.page import RawResponse, html_page, message_page
from stripe_server.hosted.portal.session import (
    PortalNotFound,
    after_action,
    mark_flow_done,
    not_found_page,
    portal_base,
    portal_session,
)
from stripe_server.hosted.render import render
from stripe_server.lifecycle.subscriptions import LIVE_STATUSES
from stripe_server.resources.customers import customer_update
from stripe_server.resources.subscriptions import subscription_update
from stripe_server.routing import route
from stripe_server.wire import StripeError


def payment_method_page(
    session: dict[str, Any],
    *,
    values: dict[str, str],
    error: str | None,
    error_field: str | None = None,
    status: int = 200,
) -> RawResponse:
    """The card form, with what was typed and what was wrong with it (by the field it is
    about, `error_field`, or above the form)."""
    base = portal_base(session)
    body = render(
        "portal/payment_method_form.html",
        error=form_error(error, field=error_field),
        action=f"{base}/payment-method",
        **{name: values.get(name, "") for name in CARD_FIELDS},
        **field_errors(CARD_FIELDS, error_field, error),
        home=f"{base}/home",
    )
    return html_page("Update payment method", body, status=status)


def _turned_off_page(session: dict[str, Any], configuration: dict[str, Any]) -> RawResponse | None:
    """The page saying the screen is off, when the portal's configuration turns it off."""
    if configuration["features"]["payment_method_update"]["enabled"]:
        return None
    return message_page(
        "Update payment method",
        "Updating the payment method is turned off in this portal's configuration.",
        link=session["return_url"],
        status=400,
    )


@route("GET", "/_hosted/portal/{id}/payment-method", public=True)
def portal_payment_method_form(ctx: Context) -> RawResponse:
    """The Update payment method screen."""
    try:
        session, _customer, configuration = portal_session(ctx)
    except PortalNotFound:
        return not_found_page()
    refused = _turned_off_page(session, configuration)
    if refused is not None:
        return refused
    return payment_method_page(session, values={}, error=None)


@route("POST", "/_hosted/portal/{id}/payment-method", public=True)
def portal_payment_method(ctx: Context) -> RawResponse:
    """Save the typed card as the customer's default (and its subscriptions', where set)."""
    try:
        session, customer, configuration = portal_session(ctx)
    except PortalNotFound:
        return not_found_page()
    refused = _turned_off_page(session, configuration)
    if refused is not None:
        return refused
    values = {name: form_value(ctx, name) for name in CARD_FIELDS}
    try:
        entry = card_entry_from_form(values, now=ctx.now())
    except CardFormError as error:
        return payment_method_page(
            session, values=values, error=error.message, error_field=error.field, status=400
        )
    refusal = attach_refusal(entry)
    if refusal:
        return payment_method_page(
            session, values=values, error=refusal, error_field="card_number", status=402
        )
    try:
        with ctx.db.savepoint("portal_card"):
            payment_method = card_entry_save(
                ctx, entry, customer=customer, name=values["card_name"]
            )
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
        return payment_method_page(session, values=values, error=error.message, status=error.status)
    mark_flow_done(ctx, session, ("payment_method_update",))
    return after_action(session, "payment_method_update", "card")
