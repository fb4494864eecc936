"""Manage billing: Stripe's Customer Portal for a holder, on a configuration Portal keeps.

Every Stripe call goes through `portal.stripe_client` and raises our `StripeUnavailableError`
or `StripeRequestError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from djstripe.models import Price

from accounts.billing.errors import NoBillingAccountError
from accounts.models import SubscriptionHolder
from portal.stripe_client import (
    StripeRequestError,
    stripe_api_key,
    stripe_client,
    translate_stripe_errors,
)
from pricing.catalog import active_products

logger = logging.getLogger(__name__)


# The Customer Portal configuration Portal manages is marked with this metadata key.
PORTAL_CONFIGURATION_KEY = "portal_managed"


def _portal_features() -> dict[str, Any]:
    """What the Customer Portal lets people do: switch between the offered plans' prices (and
    seats), cancel at the period's end, update the card, see invoices."""
    products = []
    for offered in active_products():
        prices = [
            price.id
            for price in Price.objects.filter(product__id=offered.stripe_id, active=True)
            if price.stripe_data.get("type") == "recurring"
        ]
        if prices:
            products.append({"product": offered.stripe_id, "prices": prices})
    return {
        "subscription_update": {
            "enabled": bool(products),
            "default_allowed_updates": ["price", "quantity"] if products else [],
            "products": products,
            "proration_behavior": "create_prorations",
        },
        "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
        "payment_method_update": {"enabled": True},
        "invoice_history": {"enabled": True},
    }


# How long a process trusts the Customer Portal configuration it ensured last: Manage billing
# then costs one Stripe call, not two or three. A plan change gives a new cache key at once.
PORTAL_CONFIGURATION_CACHE_SECONDS = 3600


def _portal_configuration_cache_key(features: dict[str, Any]) -> str:
    scope = [settings.STRIPE_API_BASE, stripe_api_key(), features]
    digest = hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()
    return f"accounts:billing-portal-configuration:{digest}"


def billing_portal_configuration_ensure(*, refresh: bool = False) -> str:
    """The id of the Customer Portal configuration for the plans in `pricing.metadata`,
    created or brought up to date (Stripe's default one allows no plan changes).

    Remembered for an hour per set of plans; `refresh` asks Stripe again.
    """
    features = _portal_features()
    key = _portal_configuration_cache_key(features)
    if not refresh and (remembered := cache.get(key)):
        return remembered
    client = stripe_client()
    with translate_stripe_errors("set up billing management"):
        listed = client.v1.billing_portal.configurations.list(params={"active": True, "limit": 100})
        ours = next(
            (c for c in listed.data if (c.metadata or {}).get(PORTAL_CONFIGURATION_KEY) == "true"),
            None,
        )
        if ours is None:
            ours = client.v1.billing_portal.configurations.create(
                params={"features": features, "metadata": {PORTAL_CONFIGURATION_KEY: "true"}}
            )
        else:
            current = ours.features.subscription_update
            products = [
                {"product": entry.product, "prices": list(entry.prices)}
                for entry in (current.products or [])
            ]
            if products != features["subscription_update"]["products"] or (
                bool(current.enabled) != features["subscription_update"]["enabled"]
            ):
                ours = client.v1.billing_portal.configurations.update(
                    ours.id, params={"features": features}
                )
    cache.set(key, ours.id, PORTAL_CONFIGURATION_CACHE_SECONDS)
    return ours.id


def billing_portal_session_create(
    *, holder: SubscriptionHolder, return_url: str, flow_data: dict[str, Any] | None = None
) -> str:
    """Open Stripe's Customer Portal for the holder's customer; the portal page's URL.
    `flow_data`: a flow to go straight to (adding a card, say) instead of the portal's home.

    Raises `NoBillingAccountError` when the holder has never had a Stripe customer.
    """
    if holder.customer is None:
        raise NoBillingAccountError("You have no billing account yet. Choose a plan first.")

    def session_create(configuration: str) -> str:
        with translate_stripe_errors("open billing management"):
            session = stripe_client().v1.billing_portal.sessions.create(
                params={
                    "customer": holder.customer.id,
                    "return_url": return_url,
                    "configuration": configuration,
                    **({"flow_data": flow_data} if flow_data else {}),
                }
            )
        return session.url

    try:
        return session_create(billing_portal_configuration_ensure())
    except StripeRequestError:
        # The remembered configuration may have been deactivated since (in the Dashboard, by
        # another deploy): ask Stripe again, once. A refusal about the customer repeats.
        return session_create(billing_portal_configuration_ensure(refresh=True))
