"""Billing Portal sessions: `POST /v1/billing_portal/sessions`.

A session's `url` is the hosted portal page this server serves (`/_hosted/portal/{id}`),
configured by the session's configuration (`billing_portal_configurations.py`); `flow_data`
deep-links it to one screen.
"""

from __future__ import annotations

from typing import Any

from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.lifecycle.subscriptions import ENDED_STATUSES
from stripe_server.redirect_urls import safe_url
from stripe_server.resources.billing_portal_configurations import default_configuration
from stripe_server.routing import route
from stripe_server.wire import Params, invalid_request

PORTAL_PATH = "/_hosted/portal"
FLOW_TYPES = (
    "payment_method_update",
    "subscription_cancel",
    "subscription_update",
    "subscription_update_confirm",
)


def _flow_subscription(ctx: Context, section: Params, customer: dict[str, Any]) -> dict[str, Any]:
    subscription_id = section.string("subscription", required=True)
    assert subscription_id is not None
    subscription = ctx.require(
        "subscription", subscription_id, param=section.name("subscription"), status=400
    )
    if subscription["customer"] != customer["id"]:
        raise invalid_request(
            f"The subscription `{subscription_id}` does not belong to the customer "
            f"`{customer['id']}`.",
            param=section.name("subscription"),
        )
    if subscription["status"] in ENDED_STATUSES:
        raise invalid_request(
            f"The subscription `{subscription_id}` has ended; the portal cannot change it.",
            param=section.name("subscription"),
        )
    return subscription


def _flow(
    ctx: Context, flow_data: Params, customer: dict[str, Any], configuration: dict[str, Any]
) -> dict[str, Any]:
    flow_data.reject_unknown(
        {"type", "after_completion", "subscription_cancel", "subscription_update",
         "subscription_update_confirm"}
    )  # fmt: skip
    flow_type = flow_data.string("type", required=True, choices=FLOW_TYPES)
    features = configuration["features"]
    flow: dict[str, Any] = {
        "after_completion": {
            "hosted_confirmation": None,
            "redirect": None,
            "type": "portal_homepage",
        },
        "subscription_cancel": None,
        "subscription_update": None,
        "subscription_update_confirm": None,
        "type": flow_type,
    }
    after = flow_data.nested("after_completion")
    if after is not None:
        after.reject_unknown({"type", "redirect", "hosted_confirmation"})
        after_type = after.string(
            "type", required=True, choices=("hosted_confirmation", "portal_homepage", "redirect")
        )
        flow["after_completion"]["type"] = after_type
        if after_type == "redirect":
            redirect = after.nested("redirect", required=True)
            assert redirect is not None
            redirect.reject_unknown({"return_url"})
            url = redirect.string("return_url", required=True)
            if safe_url(url) is None:
                raise invalid_request(
                    "return_url must be an http(s) URL.", param=redirect.name("return_url")
                )
            flow["after_completion"]["redirect"] = {"return_url": url}
        if after_type == "hosted_confirmation":
            confirmation = after.nested("hosted_confirmation")
            message = None
            if confirmation is not None:
                confirmation.reject_unknown({"custom_message"})
                message = confirmation.string("custom_message") or None
            flow["after_completion"]["hosted_confirmation"] = {"custom_message": message}
    section_name = {
        "subscription_cancel": "subscription_cancel",
        "subscription_update": "subscription_update",
        "subscription_update_confirm": "subscription_update_confirm",
    }.get(flow_type)
    if flow_type == "payment_method_update":
        if not features["payment_method_update"]["enabled"]:
            raise invalid_request(
                "This flow cannot be used because payment method updates are disabled in the "
                "portal configuration.",
                param="flow_data[type]",
            )
        return flow
    assert section_name is not None
    section = flow_data.nested(section_name, required=True)
    assert section is not None
    if flow_type == "subscription_cancel":
        section.reject_unknown({"subscription", "retention"})
        if section.has("retention"):
            raise invalid_request(
                "Retention offers are not emulated.", param=section.name("retention")
            )
        if not features["subscription_cancel"]["enabled"]:
            raise invalid_request(
                "This flow cannot be used because subscription cancellation is disabled in the "
                "portal configuration.",
                param="flow_data[type]",
            )
        subscription = _flow_subscription(ctx, section, customer)
        if subscription["cancel_at_period_end"]:
            raise invalid_request(
                "This subscription is already set to cancel at the end of its period.",
                param=section.name("subscription"),
            )
        flow["subscription_cancel"] = {"retention": None, "subscription": subscription["id"]}
        return flow
    if not features["subscription_update"]["enabled"]:
        raise invalid_request(
            "This flow cannot be used because subscription updates are disabled in the portal "
            "configuration.",
            param="flow_data[type]",
        )
    if flow_type == "subscription_update":
        section.reject_unknown({"subscription"})
        subscription = _flow_subscription(ctx, section, customer)
        flow["subscription_update"] = {"subscription": subscription["id"]}
        return flow
    section.reject_unknown({"subscription", "items", "discounts"})
    if section.has("discounts"):
        raise invalid_request(
            "The local Stripe server does not emulate discounts in the portal's "
            "`subscription_update_confirm` flow; apply them with the subscription's `discounts`.",
            param=section.name("discounts"),
        )
    subscription = _flow_subscription(ctx, section, customer)
    entries = section.items("items")
    if len(entries) != 1:
        raise invalid_request(
            "Give exactly one item to confirm (the portal changes single-item subscriptions).",
            param=section.name("items"),
        )
    entry = entries[0]
    entry.reject_unknown({"id", "price", "quantity"})
    item_id = entry.string("id", required=True)
    if not any(item["id"] == item_id for item in subscription["items"]["data"]):
        raise invalid_request(
            f"The subscription item `{item_id}` is not on the subscription.",
            param=entry.name("id"),
        )
    price_id = entry.string("price") or None
    if price_id is not None:
        ctx.require("price", price_id, param=entry.name("price"), status=400)
    quantity = entry.integer("quantity", minimum=1)
    flow["subscription_update_confirm"] = {
        "discounts": [],
        "items": [{"id": item_id, "price": price_id, "quantity": quantity}],
        "subscription": subscription["id"],
    }
    return flow


@route("POST", "/v1/billing_portal/sessions")
def portal_session_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"customer", "return_url", "configuration", "flow_data", "locale"})
    customer_id = params.string("customer", required=True)
    assert customer_id is not None
    customer = ctx.require("customer", customer_id, param="customer", status=400)
    configuration_id = params.string("configuration") or None
    if configuration_id:
        configuration = ctx.require(
            "billing_portal.configuration", configuration_id, param="configuration", status=400
        )
        if not configuration["active"]:
            raise invalid_request(
                f"The configuration `{configuration_id}` is not active.", param="configuration"
            )
    else:
        configuration = default_configuration(ctx)
    return_url = params.string("return_url") or configuration["default_return_url"]
    if return_url is None:
        raise invalid_request(
            "A `return_url` is required (or a `default_return_url` on the configuration).",
            param="return_url",
        )
    if safe_url(return_url) is None:
        raise invalid_request("return_url must be an http(s) URL.", param="return_url")
    flow_data = params.nested("flow_data")
    flow = _flow(ctx, flow_data, customer, configuration) if flow_data is not None else None
    session_id = new_id("bps")
    session = {
        "configuration": configuration["id"],
        "created": ctx.now(),
        "customer": customer["id"],
        "customer_account": None,
        "flow": flow,
        "id": session_id,
        "livemode": False,
        "locale": params.string("locale") or None,
        "object": "billing_portal.session",
        "on_behalf_of": None,
        "return_url": return_url,
        "url": f"{ctx.base_url}{PORTAL_PATH}/{session_id}",
    }
    ctx.db.save("billing_portal.session", session)
    return ctx.present(session)
