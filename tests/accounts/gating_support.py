"""Subscriptions on the demo plans, made in the local Stripe server, for the gating tests.

The demo products (`prod_portal_basic`, `prod_portal_pro`, ...) are created once per server by
`demo_products_bootstrap` (idempotent, found by id and lookup key); each test syncs the prices
it uses into its own database, and subscribes a fresh user through the SDK, as a finished
Checkout would.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from djstripe.models import Price, Product, Subscription

from accounts.billing.checkout import holder_subscription_sync
from accounts.models import SubscriptionHolder, User
from portal.stripe_client import stripe_client
from pricing import metadata as pricing_metadata
from pricing.services import demo_products_bootstrap
from tests.accounts.billing_helpers import subscription_start

_bootstrapped: set[str] = set()


def demo_plans_ensure(api_base: str) -> None:
    """Create the demo products and prices in this server, once."""
    if api_base not in _bootstrapped:
        demo_products_bootstrap()
        _bootstrapped.add(api_base)


def demo_price(slug: str, interval: str = "month") -> Price:
    """The demo plan's price, synced (with its product) into this test's database."""
    lookup_key = f"portal_{slug.replace('-', '_')}_{interval}"
    client = stripe_client()
    found = client.v1.prices.list(params={"lookup_keys": [lookup_key], "expand": ["data.tiers"]})
    price = found.data[0]
    Product.sync_from_stripe_data(client.v1.products.retrieve(price.product))
    return Price.sync_from_stripe_data(price)


def user_create(prefix: str = "gate") -> User:
    return User.objects.create_user(
        email=f"{prefix}-{uuid.uuid4().hex[:8]}@example.com", password="a-long-passphrase"
    )


def subscribe(holder: SubscriptionHolder, slug: str, **extra: Any) -> Subscription:
    """Subscribe the holder to a demo plan; the synced subscription."""
    subscription_id = subscription_start(holder=holder, price=demo_price(slug), **extra)
    holder.refresh_from_db()
    return Subscription.objects.get(id=subscription_id)


def resync(holder: SubscriptionHolder) -> Subscription:
    """Read the holder's subscriptions from Stripe again (after a change made there)."""
    holder_subscription_sync(holder=holder)
    holder.refresh_from_db()
    return holder.subscription  # type: ignore[return-value]


def subscription_set_as_stripe_sends(subscription: Subscription, **changes: Any) -> Subscription:
    """Store the subscription as Stripe would send it with `changes` (for states the local
    server does not reach, such as `unpaid`, which depends on Stripe's retry settings)."""
    data = stripe_client().v1.subscriptions.retrieve(subscription.id)
    data.update(changes)
    return Subscription.sync_from_stripe_data(data)


def plans_with_groups(**groups: str) -> list[pricing_metadata.ProductMetadata]:
    """The shipped plans, with `group` set on the ones named (slug=group)."""
    return [
        dataclasses.replace(plan, group=groups.get(plan.slug.replace("-", "_"), plan.group))
        for plan in pricing_metadata.ACTIVE_PRODUCTS
    ]
