"""Billing Portal configurations: `/v1/billing_portal/configurations` create, retrieve, update,
list.

A configuration says what customers may do in the portal (switch between listed prices,
change quantity, cancel now or at period end, replace their card); one is the default and
always exists. Sessions (`billing_portal_sessions.py`) open the portal with one.
"""

from __future__ import annotations

from typing import Any

from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.redirect_urls import safe_url
from stripe_server.routing import route
from stripe_server.wire import (
    Params,
    invalid_request,
    metadata_update,
    missing_param,
)

ALLOWED_CUSTOMER_UPDATES = ("address", "email", "name", "phone", "shipping", "tax_id")
ALLOWED_SUBSCRIPTION_UPDATES = ("price", "quantity", "promotion_code")
PRORATION_BEHAVIORS = ("always_invoice", "create_prorations", "none")
CANCELLATION_REASONS = (
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
)


def _default_features() -> dict[str, Any]:
    return {
        "customer_update": {"allowed_updates": ["email", "address"], "enabled": False},
        "invoice_history": {"enabled": True},
        "payment_method_update": {"enabled": True, "payment_method_configuration": None},
        "subscription_cancel": {
            "cancellation_reason": {"enabled": False, "options": list(CANCELLATION_REASONS)},
            "enabled": True,
            "mode": "at_period_end",
            "proration_behavior": "none",
        },
        "subscription_update": {
            "billing_cycle_anchor": None,
            "default_allowed_updates": [],
            "enabled": False,
            "products": [],
            "proration_behavior": "create_prorations",
            "schedule_at_period_end": {"conditions": []},
            "trial_update_behavior": "end_trial",
        },
    }


def _configuration_new(ctx: Context, *, is_default: bool) -> dict[str, Any]:
    now = ctx.now()
    return {
        "active": True,
        "application": None,
        "business_profile": {
            "headline": None,
            "privacy_policy_url": None,
            "terms_of_service_url": None,
        },
        "created": now,
        "default_return_url": None,
        "features": _default_features(),
        "id": new_id("bpc"),
        "is_default": is_default,
        "livemode": False,
        "login_page": {"enabled": False, "url": None},
        "metadata": {},
        "name": None,
        "object": "billing_portal.configuration",
        "updated": now,
    }


def default_configuration(ctx: Context) -> dict[str, Any]:
    """The default configuration, created on first use (as a new Stripe account has one)."""
    for configuration in ctx.db.all("billing_portal.configuration"):
        if configuration["is_default"]:
            return configuration
    configuration = _configuration_new(ctx, is_default=True)
    ctx.db.save("billing_portal.configuration", configuration)
    return configuration


def _enabled(params: Params) -> bool | None:
    return params.boolean("enabled")


def _strings_among(
    section: Params, key: str, allowed: tuple[str, ...], refusal: str
) -> list[str] | None:
    """The list `key` of `section`, if given, each of whose strings must be one of `allowed`;
    `refusal` (with `{param}` and `{value}` filled in) is Stripe's message for one that is not."""
    values = section.strings(key)
    for value in values or ():
        if value not in allowed:
            raise invalid_request(
                refusal.format(param=section.name(key), value=value), param=section.name(key)
            )
    return values


def _apply_features(ctx: Context, features: dict[str, Any], params: Params) -> None:
    params.reject_unknown(
        {"customer_update", "invoice_history", "payment_method_update", "subscription_cancel",
         "subscription_update"}
    )  # fmt: skip
    section = params.nested("customer_update")
    if section is not None:
        section.reject_unknown({"enabled", "allowed_updates"})
        target = features["customer_update"]
        if section.has("enabled"):
            target["enabled"] = bool(_enabled(section))
        allowed = _strings_among(
            section,
            "allowed_updates",
            ALLOWED_CUSTOMER_UPDATES,
            "Invalid {param}: `{value}` is not one of " + ", ".join(ALLOWED_CUSTOMER_UPDATES),
        )
        if allowed is not None:
            target["allowed_updates"] = allowed
    for name in ("invoice_history", "payment_method_update"):
        section = params.nested(name)
        if section is not None:
            section.reject_unknown({"enabled", "payment_method_configuration"})
            if section.has("payment_method_configuration"):
                raise invalid_request(
                    "Payment method configurations are not emulated.",
                    param=section.name("payment_method_configuration"),
                )
            if section.has("enabled"):
                features[name]["enabled"] = bool(_enabled(section))
    section = params.nested("subscription_cancel")
    if section is not None:
        section.reject_unknown({"enabled", "mode", "proration_behavior", "cancellation_reason"})
        target = features["subscription_cancel"]
        if section.has("enabled"):
            target["enabled"] = bool(_enabled(section))
        if section.has("mode"):
            target["mode"] = section.string("mode", choices=("at_period_end", "immediately"))
        if section.has("proration_behavior"):
            target["proration_behavior"] = section.string(
                "proration_behavior", choices=PRORATION_BEHAVIORS
            )
        reason = section.nested("cancellation_reason")
        if reason is not None:
            reason.reject_unknown({"enabled", "options"})
            if reason.has("enabled"):
                target["cancellation_reason"]["enabled"] = bool(_enabled(reason))
            options = _strings_among(
                reason,
                "options",
                CANCELLATION_REASONS,
                "Invalid cancellation reason option: `{value}`.",
            )
            if options is not None:
                target["cancellation_reason"]["options"] = options
    section = params.nested("subscription_update")
    if section is not None:
        section.reject_unknown(
            {"enabled", "default_allowed_updates", "products", "proration_behavior",
             "schedule_at_period_end", "billing_cycle_anchor", "trial_update_behavior"}
        )  # fmt: skip
        if section.has("schedule_at_period_end") or section.has("billing_cycle_anchor"):
            raise invalid_request(
                "Scheduled updates and billing cycle anchors are not emulated.",
                param=section.name("schedule_at_period_end"),
            )
        target = features["subscription_update"]
        if section.has("enabled"):
            target["enabled"] = bool(_enabled(section))
        allowed = _strings_among(
            section,
            "default_allowed_updates",
            ALLOWED_SUBSCRIPTION_UPDATES,
            "Invalid {param}: `{value}` must be one of price, quantity, promotion_code.",
        )
        if allowed is not None:
            target["default_allowed_updates"] = allowed
        if section.has("proration_behavior"):
            target["proration_behavior"] = section.string(
                "proration_behavior", choices=PRORATION_BEHAVIORS
            )
        if section.has("trial_update_behavior"):
            target["trial_update_behavior"] = section.string(
                "trial_update_behavior", choices=("continue_trial", "end_trial")
            )
        if section.has("products"):
            target["products"] = [_product_entry(ctx, entry) for entry in section.items("products")]
        if target["enabled"] and not target["products"]:
            raise invalid_request(
                "You must specify `features[subscription_update][products]` when subscription "
                "updates are enabled.",
                param="features[subscription_update][products]",
            )
        if target["enabled"] and not target["default_allowed_updates"]:
            raise invalid_request(
                "You must specify `features[subscription_update][default_allowed_updates]` when "
                "subscription updates are enabled.",
                param="features[subscription_update][default_allowed_updates]",
            )


def _product_entry(ctx: Context, entry: Params) -> dict[str, Any]:
    entry.reject_unknown({"product", "prices", "adjustable_quantity"})
    product_id = entry.string("product", required=True)
    assert product_id is not None
    ctx.require("product", product_id, param=entry.name("product"), status=400)
    price_ids = entry.strings("prices")
    if not price_ids:
        raise missing_param(entry.name("prices"))
    for price_id in price_ids:
        price = ctx.require("price", price_id, param=entry.name("prices"), status=400)
        if price["product"] != product_id:
            raise invalid_request(
                f"The price `{price_id}` does not belong to the product `{product_id}`.",
                param=entry.name("prices"),
            )
        if price["type"] != "recurring":
            raise invalid_request(
                f"The price `{price_id}` is not recurring; the portal only switches between "
                "recurring prices.",
                param=entry.name("prices"),
            )
    return {
        "adjustable_quantity": _adjustable_quantity(entry.nested("adjustable_quantity")),
        "prices": price_ids,
        "product": product_id,
    }


def _adjustable_quantity(params: Params | None) -> dict[str, Any]:
    """Stripe's per-product quantity bounds; off, from 1 and unbounded unless given.

    Stored as given: the hosted portal's quantity field keeps its own fixed bounds.
    """
    if params is None:
        return {"enabled": False, "maximum": None, "minimum": 1}
    params.reject_unknown({"enabled", "maximum", "minimum"})
    minimum = params.integer("minimum", minimum=0, default=1)
    maximum = params.integer("maximum", minimum=1)
    assert minimum is not None
    if maximum is not None and maximum < minimum:
        raise invalid_request(
            "The maximum quantity must be at least the minimum.", param=params.name("maximum")
        )
    return {
        "enabled": bool(params.boolean("enabled", default=False)),
        "maximum": maximum,
        "minimum": minimum,
    }


_CONFIGURATION_PARAMS = {
    "business_profile",
    "default_return_url",
    "features",
    "login_page",
    "metadata",
    "name",
}


def _apply_configuration(ctx: Context, configuration: dict[str, Any], params: Params) -> None:
    profile = params.nested("business_profile")
    if profile is not None:
        profile.reject_unknown({"headline", "privacy_policy_url", "terms_of_service_url"})
        for key in ("headline", "privacy_policy_url", "terms_of_service_url"):
            if profile.has(key):
                configuration["business_profile"][key] = profile.string(key) or None
    if params.has("default_return_url"):
        url = params.string("default_return_url") or None
        if url is not None and safe_url(url) is None:
            raise invalid_request(
                "default_return_url must be an http(s) URL.", param="default_return_url"
            )
        configuration["default_return_url"] = url
    login = params.nested("login_page")
    if login is not None:
        login.reject_unknown({"enabled"})
        if login.boolean("enabled"):
            raise invalid_request(
                "The portal login page is not emulated.", param="login_page[enabled]"
            )
    if params.has("name"):
        configuration["name"] = params.string("name") or None
    configuration["metadata"] = metadata_update(configuration["metadata"], params)
    features = params.nested("features")
    if features is not None:
        _apply_features(ctx, configuration["features"], features)


@route("POST", "/v1/billing_portal/configurations")
def configuration_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_CONFIGURATION_PARAMS)
    if not params.has("features"):
        raise missing_param("features")
    default_configuration(ctx)
    configuration = _configuration_new(ctx, is_default=False)
    # A new configuration starts with every feature off, as on Stripe.
    for feature in configuration["features"].values():
        feature["enabled"] = False
    _apply_configuration(ctx, configuration, params)
    ctx.db.save("billing_portal.configuration", configuration)
    return ctx.present(configuration)


@route("GET", "/v1/billing_portal/configurations/{id}")
def configuration_retrieve(ctx: Context) -> dict[str, Any]:
    default_configuration(ctx)
    return ctx.present(ctx.require("billing_portal.configuration", ctx.arg("id")))


@route("POST", "/v1/billing_portal/configurations/{id}")
def configuration_update(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(_CONFIGURATION_PARAMS | {"active"})
    default_configuration(ctx)
    configuration = ctx.require("billing_portal.configuration", ctx.arg("id"))
    if params.has("active"):
        active = params.boolean("active")
        if not active and configuration["is_default"]:
            raise invalid_request(
                "The default configuration cannot be deactivated.", param="active"
            )
        configuration["active"] = bool(active)
    _apply_configuration(ctx, configuration, params)
    configuration["updated"] = ctx.now()
    ctx.db.save("billing_portal.configuration", configuration)
    return ctx.present(configuration)


@route("GET", "/v1/billing_portal/configurations")
def configuration_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"active", "is_default", "limit", "starting_after", "ending_before"})
    active = params.boolean("active")
    is_default = params.boolean("is_default")
    default_configuration(ctx)
    configurations = [
        configuration
        for configuration in ctx.db.all("billing_portal.configuration")
        if (active is None or configuration["active"] == active)
        and (is_default is None or configuration["is_default"] == is_default)
    ]
    return ctx.page(
        configurations, "/v1/billing_portal/configurations", "billing portal configuration"
    )
