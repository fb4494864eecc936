"""A meter of the test's own in the local Stripe server, and a plan billing it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from djstripe.models import Price

from accounts.billing.checkout import holder_subscription_sync
from portal.stripe_client import stripe_client, stripe_json
from pricing import metadata as pricing_metadata
from pricing.metadata import MeterMetadata
from pricing.services import meter_store
from tests.accounts.billing_helpers import clock_customer_create, plan_price_create, unique


@dataclass(frozen=True)
class MeteredPlan:
    flat: Price
    metered: Price
    meter_id: str
    event_name: str


@pytest.fixture
def api_meter(monkeypatch, stripe_settings) -> MeterMetadata:
    """A Stripe meter with an event name of this test's own (the server lives for the whole
    session; an event name can belong to one active meter only), known to Portal as
    "api_calls"."""
    return meter_of_its_own(monkeypatch)


def meter_of_its_own(monkeypatch) -> MeterMetadata:
    """A new Stripe meter summing "API calls", stored in Portal and the only one
    `pricing.metadata` lists (as "api_calls")."""
    event_name = unique("api_calls").replace("-", "_")
    meter = stripe_client().v1.billing.meters.create(
        params={
            "display_name": "API calls",
            "event_name": event_name,
            "default_aggregation": {"formula": "sum"},
        }
    )
    meter_store(data=stripe_json(meter))
    metadata = MeterMetadata(
        slug="api_calls", event_name=event_name, unit="API call", unit_plural="API calls"
    )
    monkeypatch.setattr(pricing_metadata, "ACTIVE_METERS", [metadata])
    return metadata


def metered_plan_create(
    *, meter: MeterMetadata, included: int = 1000, tenths_of_a_cent: int = 5, flat: int = 2000
) -> MeteredPlan:
    """A product with a flat monthly price and a graduated metered price on the meter:
    `included` units free, then `tenths_of_a_cent` / 10 cents each."""
    meter_id = next(
        found.id
        for found in stripe_client()
        .v1.billing.meters.list(params={"limit": 100})
        .auto_paging_iter()
        if found.event_name == meter.event_name
    )
    flat_price = plan_price_create(unit_amount=flat)
    metered = plan_price_create(
        unit_amount=None,
        product=flat_price.product.id,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter_id},
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[
            {"up_to": included, "unit_amount": 0},
            {"up_to": "inf", "unit_amount_decimal": str(tenths_of_a_cent / 10)},
        ],
    )
    return MeteredPlan(flat_price, metered, meter_id, meter.event_name)


def metered_subscription_start(*, holder, plan: MeteredPlan) -> str:
    """Subscribe the holder (whose customer exists) to the plan's flat and metered prices."""
    subscription = stripe_client().v1.subscriptions.create(
        params={
            "customer": holder.customer.id,
            "items": [{"price": plan.flat.id, "quantity": 1}, {"price": plan.metered.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    holder_subscription_sync(holder=holder)
    holder.refresh_from_db()
    return subscription.id


def demo_meter_synced() -> str:
    """The demo meter (made by `demo_products_bootstrap`) stored in Portal; its id."""
    found = next(
        meter
        for meter in stripe_client()
        .v1.billing.meters.list(params={"limit": 100})
        .auto_paging_iter()
        if meter.event_name == pricing_metadata.ACTIVE_METERS[0].event_name
        and meter.status == "active"
    )
    meter_store(data=stripe_json(found))
    return found.id


def demo_metered_subscribe(holder, slug: str, interval: str = "month") -> str:
    """Subscribe the holder to a demo plan with its metered API calls, as Checkout would.

    The customer is on a test clock frozen now: the shared server's own clock may have been
    moved ahead by other tests, and usage is recorded at Portal's time."""
    from tests.accounts.gating_support import demo_price

    demo_meter_synced()
    flat = demo_price(slug, interval)
    metered = demo_price(f"{slug}_api_calls", interval)
    clock_customer_create(holder=holder, frozen_time=int(time.time()))
    customer = holder.customer
    subscription = stripe_client().v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": flat.id, "quantity": 1}, {"price": metered.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    holder_subscription_sync(holder=holder)
    holder.refresh_from_db()
    return subscription.id
