"""Plans, customers and subscriptions made in the local Stripe server, for billing tests.

Everything is created through the SDK over HTTP, exactly as the portal would meet it in
Stripe; names are unique because the server's state lives for the whole test session.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from django.contrib.sites.models import Site
from djstripe.models import Customer, Price, Product

from accounts.billing.checkout import holder_customer_ensure, holder_subscription_sync
from accounts.models import SubscriptionHolder
from portal.stripe_client import stripe_client
from pricing import metadata as pricing_metadata
from pricing.metadata import ProductMetadata

# A calendar for subscriptions on test clocks: January 2026 has 31 days.
DAY = 86400
JAN_1_2026 = 1767225600
JAN_16_2026 = JAN_1_2026 + 15 * DAY
FEB_1_2026 = JAN_1_2026 + 31 * DAY


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def plan_price_create(
    *,
    unit_amount: int | None = 1500,
    interval: str = "month",
    product: str | None = None,
    **extra: Any,
) -> Price:
    """A recurring price (and its product, unless given) in Stripe, synced into dj-stripe."""
    client = stripe_client()
    if product is None:
        product = client.v1.products.create(params={"name": unique("Plan")}).id
    params: dict[str, Any] = {
        "product": product,
        "currency": "usd",
        "recurring": {"interval": interval},
        **extra,
    }
    if unit_amount is not None:
        params["unit_amount"] = unit_amount
    created = client.v1.prices.retrieve(
        client.v1.prices.create(params=params).id, params={"expand": ["tiers"]}
    )
    Product.sync_from_stripe_data(client.v1.products.retrieve(product))
    return Price.sync_from_stripe_data(created)


def subscription_start(
    *,
    holder: SubscriptionHolder,
    price: Price,
    quantity: int = 1,
    payment_method: str = "pm_card_visa",
    **extra: Any,
) -> str:
    """Subscribe the holder in Stripe directly (as a finished Checkout would), then sync it in.

    Returns the subscription's id.
    """
    customer = holder_customer_ensure(holder=holder)
    subscription = stripe_client().v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": quantity}],
            "default_payment_method": payment_method,
            **extra,
        }
    )
    holder_subscription_sync(holder=holder)
    return subscription.id


def site_domain_set(domain: str) -> None:
    site = Site.objects.get_current()
    site.domain = domain
    site.save()


def hosted_checkout_pay(checkout_url: str, *, card: str = "4242424242424242") -> str:
    """Pay on the local server's hosted Checkout page, as a buyer would; the URL Stripe sends
    the buyer back to (the success URL with the session id filled in)."""
    response = requests.post(
        checkout_url,
        data={
            "email": "buyer@example.com",
            "card_number": card,
            "card_expiry": "12 / 34",
            "card_cvc": "123",
            "card_name": "Ada Lovelace",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code in (302, 303), response.text[:500]
    return response.headers["Location"]


def session_id_in(url: str) -> str:
    return parse_qs(urlsplit(url).query)["session_id"][0]


def plan_offer(
    monkeypatch, price: Price, *, per_seat: bool = False, **extra: Any
) -> ProductMetadata:
    """List the price's product in pricing.metadata, as a project editing that file would
    (`extra`: more of its `ProductMetadata`, such as `trial_days`)."""
    offered = ProductMetadata(
        stripe_id=price.product.id,
        slug=unique("plan"),
        name=price.product.name,
        per_seat=per_seat,
        **extra,
    )
    monkeypatch.setattr(
        pricing_metadata, "ACTIVE_PRODUCTS", [*pricing_metadata.ACTIVE_PRODUCTS, offered]
    )
    return offered


def clock_customer_create(*, holder: SubscriptionHolder, frozen_time: int) -> Any:
    """Give the holder a Stripe customer on a new test clock frozen at `frozen_time`, linked
    and synced as Portal links one. Returns the clock."""
    client = stripe_client()
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": frozen_time})
    customer = client.v1.customers.create(
        params={
            "email": holder.billing_email,
            "test_clock": clock.id,
            "metadata": {"portal_holder": f"{holder._meta.model_name}:{holder.pk}"},
        }
    )
    holder.customer = Customer.sync_from_stripe_data(customer)
    holder.save(update_fields=["customer"])
    return clock


def past_due_subscription_start(*, holder: SubscriptionHolder, price: Price) -> str:
    """A subscription whose renewal payment failed: a trial on a card that attaches but
    declines charges, then the customer's test clock moved past the trial's end."""
    client = stripe_client()
    clock = clock_customer_create(holder=holder, frozen_time=int(time.time()))
    subscription = client.v1.subscriptions.create(
        params={
            "customer": holder.customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": "pm_card_chargeCustomerFail",
            "trial_period_days": 1,
        }
    )
    client.v1.test_helpers.test_clocks.advance(
        clock.id, params={"frozen_time": clock.frozen_time + 2 * 86400}
    )
    holder_subscription_sync(holder=holder)
    return subscription.id
